/**
 * The `axon` command tree: every command's shell (name, arguments, options, help), wired to one
 * context. Loaded by `main.ts` only once a command is to be parsed; each shell's action imports the
 * services and views it uses when it runs, and a run loads only the shell of its own command, so
 * `axon get` pays for neither `deploy`'s shell nor its services.
 */
import { Command, Option } from "commander";
import { readCliVersionSync } from "./cli-version.js";
import type { CliContext } from "./context.js";
import { withExamples } from "./help.js";

/** One top-level command: its name and how to load its shell (its module holds nothing else). */
interface CommandEntry {
  name: string;
  hidden?: boolean;
  load: (ctx: CliContext) => Promise<Command>;
}

/**
 * Every top-level command, in help order. Each shell is its own module, imported only when the
 * tree needs it: a run of `axon get` loads the `get` shell alone (the other shells' modules and
 * their imports cost ~25 ms of start-up here), while help, completion and a mistyped command,
 * which list or compare every command, load all of them.
 */
const COMMANDS: readonly CommandEntry[] = [
  {
    name: "deploy",
    load: async (ctx) => (await import("./commands/deploy.js")).makeDeployCommand(ctx),
  },
  { name: "get", load: async (ctx) => (await import("./commands/get.js")).makeGetCommand(ctx) },
  { name: "logs", load: async (ctx) => (await import("./commands/logs.js")).makeLogsCommand(ctx) },
  {
    name: "delete",
    load: async (ctx) => (await import("./commands/delete.js")).makeDeleteCommand(ctx),
  },
  {
    name: "rollback",
    load: async (ctx) => (await import("./commands/rollback.js")).makeRollbackCommand(ctx),
  },
  {
    name: "submit",
    load: async (ctx) => (await import("./commands/submit.js")).makeSubmitCommand(ctx),
  },
  {
    name: "keys",
    load: async (ctx) => (await import("./commands/keys.js")).makeKeysCommand(ctx),
  },
  {
    name: "predict",
    load: async (ctx) => (await import("./commands/predict.js")).makePredictCommand(ctx),
  },
  {
    name: "validate",
    load: async (ctx) => (await import("./commands/validate.js")).makeValidateCommand(ctx),
  },
  {
    name: "cluster",
    load: async (ctx) => (await import("./commands/cluster.js")).makeClusterCommand(ctx),
  },
  { name: "env", load: async (ctx) => (await import("./commands/env.js")).makeEnvCommand(ctx) },
  {
    name: "autoscale",
    load: async (ctx) => (await import("./commands/autoscale.js")).makeAutoscaleCommand(ctx),
  },
  {
    name: "monitor",
    load: async (ctx) => (await import("./commands/monitor.js")).makeMonitorCommand(ctx),
  },
  {
    name: "version",
    load: async (ctx) => (await import("./commands/version.js")).makeVersionCommand(ctx),
  },
  {
    name: "completion",
    load: async (ctx) => (await import("./commands/completion.js")).makeCompletionCommand(ctx),
  },
  {
    name: "__complete-apis",
    hidden: true,
    load: async (ctx) => (await import("./commands/complete-apis.js")).makeCompleteApisCommand(ctx),
  },
];

/** Commands that read the whole tree (the completion script lists every command and flag). */
const NEEDS_WHOLE_TREE = new Set(["completion", "help"]);

/** Root options that take a value, whose value is not a command name. */
const ROOT_OPTIONS_WITH_VALUE = new Set(["--env", "--home"]);

/**
 * The top-level command `argv` runs, when it names one that needs no other command's shell;
 * undefined for the root's help, `help`, `completion` and anything not a command (commander
 * then lists or suggests among all of them).
 */
export function soleCommand(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (ROOT_OPTIONS_WITH_VALUE.has(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith("-")) {
      if (arg === "--help" || arg === "-h") return undefined;
      continue;
    }
    if (NEEDS_WHOLE_TREE.has(arg)) return undefined;
    return COMMANDS.some((entry) => entry.name === arg) ? arg : undefined;
  }
  return undefined;
}

/**
 * Builds the `axon` program wired to `ctx`: with the shell of the one command `argv` runs (see
 * `soleCommand`), or with every command when `argv` is not given or needs them all.
 */
export async function buildProgram(ctx: CliContext, argv?: readonly string[]): Promise<Command> {
  const sole = argv === undefined ? undefined : soleCommand(argv);
  const entries = sole === undefined ? COMMANDS : COMMANDS.filter((entry) => entry.name === sole);
  const shells = await Promise.all(entries.map((entry) => entry.load(ctx)));
  const program = new Command("axon")
    .description("deploy python predictors as autoscaled http apis")
    .addOption(
      new Option("--home <dir>", "state folder (default: $AXON_HOME or ~/.axon)").hideHelp(),
    )
    .version(readCliVersionSync(), "--version", "print the cli version")
    .option("--verbose", "show stack traces and causes of errors")
    .option("--env <name>", "environment to act on (default: axon env use; local is this machine)")
    .showHelpAfterError("(add --help for usage)");
  entries.forEach((entry, index) => {
    const shell = shells[index];
    if (shell !== undefined)
      program.addCommand(shell, entry.hidden === true ? { hidden: true } : {});
  });
  withExamples(program, [
    ["axon deploy", "deploy ./axon.yaml (starts the local cluster), then watch it go live"],
    ["axon get", "every api: status, replicas, requests, latency"],
    ["axon get iris-classifier --watch", "one api, redrawn every second, with its events"],
    ["axon logs iris-classifier -f --grep error", "follow an api's logs, only lines with 'error'"],
    ["axon predict iris-classifier sample.json", "send a payload and print the answer"],
    [
      "axon submit image-classifier job.json",
      "start a batch job; axon get image-classifier lists jobs",
    ],
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
