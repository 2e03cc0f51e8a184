/** `axon env list`: every environment, the default marked. */
import { Command } from "commander";
import type { CliContext } from "../../context.js";
import { outputOption, type OutputOptions } from "../../options.js";
import { printJson } from "../../output.js";
import { environmentsClient } from "./connect.js";

export function makeEnvListCommand(ctx: CliContext): Command {
  return new Command("list")
    .description("list environments (* is the default)")
    .addOption(outputOption())
    .action(async (flags: OutputOptions, command: Command) => {
      const list = await (await environmentsClient(ctx, command)).listEnvironments();
      if (flags.output === "json") {
        printJson(ctx.stdout, list);
        return;
      }
      const { renderEnvironmentList } = await import("../../ui/aws-cluster.js");
      ctx.stdout.write(`${renderEnvironmentList(list)}\n`);
    });
}
