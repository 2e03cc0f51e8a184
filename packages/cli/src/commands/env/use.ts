/** `axon env use NAME`: the environment commands act on without `--env`. */
import { Command } from "commander";
import type { CliContext } from "../../context.js";
import { outputOption, type OutputOptions } from "../../options.js";
import { printJson } from "../../output.js";
import { environmentsClient } from "./connect.js";

export function makeEnvUseCommand(ctx: CliContext): Command {
  return new Command("use")
    .description("make an environment the default")
    .argument("<name>", "environment name (local is this machine)")
    .addOption(outputOption())
    .action(async (name: string, flags: OutputOptions, command: Command) => {
      const info = await (await environmentsClient(ctx, command)).useEnvironment(name);
      if (flags.output === "json") {
        printJson(ctx.stdout, info);
        return;
      }
      ctx.stdout.write(`${info.name} is now the default environment\n`);
    });
}
