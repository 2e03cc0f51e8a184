/** `axon monitor baseline <api>`: pin what the API predicted in the last hour as its drift baseline. */
import { Command } from "commander";
import { requireDaemon } from "../../client/daemon.js";
import type { CliContext } from "../../context.js";
import { resolveHome } from "../../context.js";
import { withExamples } from "../../help.js";
import { outputOption, type OutputOptions } from "../../options.js";
import { printJson } from "../../output.js";

export function makeMonitorBaselineCommand(ctx: CliContext): Command {
  const command = new Command("baseline")
    .description(
      "pin the api's predictions of the last hour as the baseline its drift is measured against (default: the current version's first 1,000 predictions)",
    )
    .argument("<api>", "name of an api with `monitoring` in its config")
    .addOption(outputOption())
    .action(async (name: string, flags: OutputOptions, self: Command) => {
      const { targetClient } = await import("../../services/target-environment.js");
      const daemon = await requireDaemon(resolveHome(ctx, self), ctx.signal);
      const client = await targetClient(ctx, self, daemon.client);
      const result = await client.pinBaseline(name);
      if (flags.output === "json") printJson(ctx.stdout, result);
      else ctx.stdout.write(`${result.message}\n`);
    });
  return withExamples(command, [
    [
      "axon monitor baseline iris-classifier",
      "what it answered in the last hour is the new normal",
    ],
  ]);
}
