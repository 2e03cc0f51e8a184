/** `axon env add NAME --provider aws --region REGION [--stack NAME]`: register an existing cluster. */
import { Command, Option } from "commander";
import type { CliContext } from "../../context.js";
import { outputOption, type OutputOptions } from "../../options.js";
import { printJson } from "../../output.js";
import { environmentsClient } from "./connect.js";

interface AddFlags extends OutputOptions {
  provider: "aws";
  region: string;
  stack?: string;
}

export function makeEnvAddCommand(ctx: CliContext): Command {
  return new Command("add")
    .description("register an aws cluster created elsewhere (cluster up registers its own)")
    .argument("<name>", "environment name")
    .addOption(
      new Option("--provider <provider>", "where it runs").choices(["aws"]).makeOptionMandatory(),
    )
    .requiredOption("--region <region>", "aws region, e.g. us-east-1")
    .option("--stack <name>", "its CloudFormation stack (default: axon-<name>)")
    .addOption(outputOption())
    .action(async (name: string, flags: AddFlags, command: Command) => {
      const client = await environmentsClient(ctx, command);
      const info = await client.addEnvironment({
        name,
        provider: flags.provider,
        region: flags.region,
        ...(flags.stack === undefined ? {} : { stackName: flags.stack }),
      });
      if (flags.output === "json") {
        printJson(ctx.stdout, info);
        return;
      }
      ctx.stdout.write(
        `environment ${info.name} added (aws, ${info.region ?? ""}, stack ${info.stackName ?? ""})\n`,
      );
    });
}
