/**
 * The `axon` command tree: every command's shell (name, arguments, options, help), wired to one
 * context. Loaded by `main.ts` only once a command is to be parsed; each shell's action imports the
 * services and views it uses when it runs, so building the whole tree (which help and completion
 * need) stays cheap.
 */
import { Command, Option } from "commander";
import { makeAutoscaleCommand } from "./commands/autoscale.js";
import { makeClusterCommand } from "./commands/cluster.js";
import { makeEnvCommand } from "./commands/env.js";
import { makeCompleteApisCommand } from "./commands/complete-apis.js";
import { makeCompletionCommand } from "./commands/completion.js";
import { makeDeleteCommand } from "./commands/delete.js";
import { makeDeployCommand } from "./commands/deploy.js";
import { makeGetCommand } from "./commands/get.js";
import { makeLogsCommand } from "./commands/logs.js";
import { makeMonitorCommand } from "./commands/monitor.js";
import { makePredictCommand } from "./commands/predict.js";
import { makeRollbackCommand } from "./commands/rollback.js";
import { makeValidateCommand } from "./commands/validate.js";
import { makeVersionCommand } from "./commands/version.js";
import { readCliVersionSync } from "./cli-version.js";
import type { CliContext } from "./context.js";
import { withExamples } from "./help.js";

/** Builds the `axon` program with every command wired to `ctx`. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command("axon")
    .description("deploy python predictors as autoscaled http apis")
    .addOption(
      new Option("--home <dir>", "state folder (default: $AXON_HOME or ~/.axon)").hideHelp(),
    )
    .version(readCliVersionSync(), "--version", "print the cli version")
    .option("--verbose", "show stack traces and causes of errors")
    .option("--env <name>", "environment to act on (default: axon env use; local is this machine)")
    .showHelpAfterError("(add --help for usage)")
    .addCommand(makeDeployCommand(ctx))
    .addCommand(makeGetCommand(ctx))
    .addCommand(makeLogsCommand(ctx))
    .addCommand(makeDeleteCommand(ctx))
    .addCommand(makeRollbackCommand(ctx))
    .addCommand(makePredictCommand(ctx))
    .addCommand(makeValidateCommand(ctx))
    .addCommand(makeClusterCommand(ctx))
    .addCommand(makeEnvCommand(ctx))
    .addCommand(makeAutoscaleCommand(ctx))
    .addCommand(makeMonitorCommand(ctx))
    .addCommand(makeVersionCommand(ctx))
    .addCommand(makeCompletionCommand(ctx))
    .addCommand(makeCompleteApisCommand(ctx), { hidden: true });
  withExamples(program, [
    ["axon deploy", "deploy ./axon.yaml (starts the local cluster), then watch it go live"],
    ["axon get", "every api: status, replicas, requests, latency"],
    ["axon get iris-classifier --watch", "one api, redrawn every second, with its events"],
    ["axon logs iris-classifier -f --grep error", "follow an api's logs, only lines with 'error'"],
    ["axon predict iris-classifier sample.json", "send a payload and print the answer"],
    ["axon get -o json | jq '.apis[].name'", "any command with -o json prints one JSON document"],
  ]);
  program.addHelpText(
    "after",
    `
Output: results go to stdout, progress and errors to stderr; live views only on a terminal.
Colours follow NO_COLOR, FORCE_COLOR and TERM=dumb.
Exit codes: 0 success, 1 failure (or a declined prompt), 2 usage error, 130 interrupted (Ctrl-C).`,
  );
  // `--env` on a command about APIs is checked before it runs (loaded only when --env is given).
  program.hook("preAction", async (_program, action) => {
    if (action.optsWithGlobals<{ env?: string }>().env === undefined) return;
    const { checkTargetEnvironment } = await import("./services/target-environment.js");
    await checkTargetEnvironment(ctx, action);
  });
  configureTree(program, ctx);
  return program;
}

/** Every command in the tree throws instead of exiting, and writes through ctx's sinks. */
function configureTree(command: Command, ctx: CliContext): void {
  command.exitOverride();
  command.configureOutput({
    writeOut: (text) => ctx.stdout.write(text),
    writeErr: (text) => ctx.stderr.write(text),
  });
  for (const child of command.commands) configureTree(child, ctx);
}
