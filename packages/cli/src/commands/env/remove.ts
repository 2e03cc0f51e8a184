/** `axon env remove NAME`: forget an AWS environment (its stack is left; cluster down deletes it). */
import { Command } from "commander";
import type { CliContext } from "../../context.js";
import { outputOption, type OutputOptions } from "../../options.js";
import { printJson } from "../../output.js";
import { environmentsClient } from "./connect.js";

export function makeEnvRemoveCommand(ctx: CliContext): Command {
  return new Command("remove")
    .description("forget an aws environment (its aws resources are not touched)")
    .argument("<name>", "environment name")
    .addOption(outputOption())
    .action(async (name: string, flags: OutputOptions, command: Command) => {
      const result = await (await environmentsClient(ctx, command)).removeEnvironment(name);
      if (flags.output === "json") {
        printJson(ctx.stdout, result);
        return;
      }
      ctx.stdout.write(`${result.message}\n`);
    });
}
