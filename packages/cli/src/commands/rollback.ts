/** `axon rollback <api> [version]`: make an earlier version current again. */
import { Command } from "commander";
import { requireDaemon } from "../client/daemon.js";
import type { CliContext } from "../context.js";
import { resolveHome } from "../context.js";
import { withExamples } from "../help.js";
import { outputOption, type OutputOptions } from "../options.js";
import { printJson } from "../output.js";

export function makeRollbackCommand(ctx: CliContext): Command {
  const command = new Command("rollback")
    .description(
      "roll an api back to an earlier version from its history (default: the last one that was live before the current one)",
    )
    .argument("<api>", "name of an api")
    .argument(
      "[version]",
      "a version id from `axon get <api>` (on ECS a task definition revision: `revision 3` or 3)",
    )
    .addOption(outputOption())
    .action(
      async (name: string, version: string | undefined, flags: OutputOptions, cmd: Command) => {
        const { targetClient } = await import("../services/target-environment.js");
        const daemon = await requireDaemon(resolveHome(ctx, cmd), ctx.signal);
        const client = await targetClient(ctx, cmd, daemon.client);
        const result = await client.rollbackApi(name, version);
        if (flags.output === "json") printJson(ctx.stdout, result);
        else ctx.stdout.write(`${result.message}\n`);
      },
    );
  return withExamples(command, [
    ["axon rollback iris-classifier", "back to the version that was live before this one"],
    [
      "axon rollback iris-classifier v-mbq2x1-3f9a1c",
      "to a version listed by `axon get iris-classifier`",
    ],
    ["axon rollback iris-classifier 3 --env prod", "on ECS: back to task definition revision 3"],
  ]);
}
