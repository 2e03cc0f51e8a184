#!/usr/bin/env node
/**
 * The `axon` entry point: builds the command tree, runs it, and maps every outcome to output and an
 * exit code in one place (0 ok, 1 failed or declined, 2 usage, 130 interrupted). Commands throw;
 * only this file decides what an error looks like. Imports stay light here (commander and the
 * command builders): services, `@axon/config`, `tar` and ink load inside the actions that use them,
 * which keeps `axon get -o json` fast.
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, CommanderError, Option } from "commander";
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
import { makeVersionCommand, readCliVersionSync } from "./commands/version.js";
import type { CliContext } from "./context.js";
import {
  ApiError,
  BugError,
  CancelledError,
  InterruptedError,
  ShownError,
  UserError,
  formatDiagnostic,
} from "./errors.js";
import { withExamples } from "./help.js";
import { indent } from "./output.js";
import { canRedraw, shouldColor } from "./terminal.js";

/** Exit codes, as documented in STYLE.md. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

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

/**
 * Runs `argv` (without the node and script paths) and returns the exit code. Never throws and never
 * exits the process, so tests run it in-process.
 */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  // Whether the command printed anything on stdout (its own JSON document, say).
  let printed = false;
  const ctx: CliContext = {
    ...context,
    stdout: {
      write: (text) => {
        printed = true;
        context.stdout.write(text);
      },
    },
  };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return EXIT.ok;
  } catch (error) {
    const code = reportError(error, ctx, argv.includes("--verbose"));
    // A script that asked for JSON gets one document on stdout for a failure too (the human
    // words stay on stderr), unless the command printed its own (deploy --wait's results).
    const failed = code !== EXIT.ok && code !== EXIT.interrupted;
    if (failed && !printed && jsonRequested(argv) && !(error instanceof ShownError)) {
      ctx.stdout.write(`${JSON.stringify({ error: errorDocument(error, code) }, null, 2)}\n`);
    }
    return code;
  }
}

/** Whether `argv` asks for `-o json` (`-o json`, `-ojson`, `--output json`, `--output=json`). */
export function jsonRequested(argv: readonly string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if ((arg === "-o" || arg === "--output") && argv[i + 1] === "json") return true;
    if (arg === "-ojson" || arg === "--output=json") return true;
  }
  return false;
}

/** The JSON form of a failure: the same fields the human message shows. */
export function errorDocument(error: unknown, exitCode: number): Record<string, unknown> {
  const document: Record<string, unknown> = { exitCode };
  if (error instanceof CommanderError) {
    return { ...document, code: "usage", message: error.message.replace(/^error: /, "") };
  }
  if (error instanceof InterruptedError)
    return { ...document, code: "interrupted", message: "interrupted" };
  if (error instanceof CancelledError)
    return { ...document, code: "cancelled", message: error.message };
  if (error instanceof UserError) {
    if (error instanceof ApiError) document.code = error.code;
    document.message = error.message;
    if (error.details !== undefined && error.details !== "") document.details = error.details;
    if (error.diagnostics.length > 0) document.diagnostics = error.diagnostics;
    if (error.hint !== undefined) document.hint = error.hint;
    if (error.nextSteps.length > 0) document.nextSteps = error.nextSteps;
    return document;
  }
  return {
    ...document,
    code: "bug",
    message: error instanceof Error ? error.message : String(error),
    hint: "this looks like a bug in axon; run again with --verbose to see where it happened",
  };
}

/** Prints `error` the way its kind deserves and returns the exit code. */
function reportError(error: unknown, ctx: CliContext, verbose: boolean): number {
  if (error instanceof CommanderError) {
    // Commander already printed its message (through configureOutput).
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version")
      return EXIT.ok;
    if (error.code === "commander.help") return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return EXIT.usage;
  }
  if (error instanceof InterruptedError || ctx.signal.aborted) return EXIT.interrupted;
  if (error instanceof ShownError) return EXIT.failed;
  if (error instanceof CancelledError) {
    ctx.stderr.write(`${error.message}\n`);
    return EXIT.failed;
  }
  if (error instanceof UserError) {
    ctx.stderr.write(renderUserError(error, verbose));
    return EXIT.failed;
  }
  const bug = error instanceof Error ? error : new BugError(String(error));
  ctx.stderr.write(`error: ${bug.message}\n`);
  if (verbose) ctx.stderr.write(`${bug.stack ?? ""}\n${describeCause(bug.cause)}`);
  else
    ctx.stderr.write(
      "this looks like a bug in axon; run again with --verbose to see where it happened\n",
    );
  return EXIT.failed;
}

/** `error: ...`, then details, diagnostics, hint and next steps, each on its own lines. */
export function renderUserError(error: UserError, verbose = false): string {
  const lines = [`error: ${error.message}`];
  if (error.details !== undefined && error.details !== "") lines.push(indent(error.details));
  for (const diagnostic of error.diagnostics) lines.push(`  ${formatDiagnostic(diagnostic)}`);
  if (error.hint !== undefined) lines.push(`hint: ${error.hint}`);
  if (error.nextSteps.length > 0) {
    lines.push("next steps:", ...error.nextSteps.map((step) => `  - ${step}`));
  }
  let text = `${lines.join("\n")}\n`;
  if (verbose && error.cause !== undefined) text += describeCause(error.cause);
  return text;
}

function describeCause(cause: unknown): string {
  if (cause === undefined) return "";
  if (cause instanceof Error)
    return `caused by: ${cause.stack ?? cause.message}\n${describeCause(cause.cause)}`;
  return `caused by: ${typeof cause === "string" ? cause : JSON.stringify(cause)}\n`;
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

/**
 * The oldest Node.js `axon` runs on: the repo's `engines` (the daemon it starts with this same
 * Node needs `node:sqlite`, which older releases lack, and died with ERR_UNKNOWN_BUILTIN_MODULE).
 */
export const MIN_NODE_VERSION = "22.12.0";

/** Why this Node.js cannot run axon, as a user error; undefined when it can. */
export function checkNodeVersion(version: string, execPath: string): UserError | undefined {
  const [major = 0, minor = 0] = version.replace(/^v/, "").split(".").map(Number);
  const [needMajor = 0, needMinor = 0] = MIN_NODE_VERSION.split(".").map(Number);
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return undefined;
  return new UserError(
    `axon needs Node.js ${needMajor}.${needMinor} or newer; this is Node.js ${version} (${execPath})`,
    {
      hint: "run it through npm in the Axon repo, which uses the Node.js that `npm run setup` installed (the `node` devDependency)",
      nextSteps: [
        "npx axon <command>",
        `or put Node.js ${needMajor}.${needMinor}+ first on your PATH (after set-up, the repo's node_modules/.bin has one)`,
      ],
    },
  );
}

/** The real process: wire ctx to stdio, Ctrl-C to the abort signal, and the result to exitCode. */
export async function main(): Promise<void> {
  const tooOld = checkNodeVersion(process.version, process.execPath);
  if (tooOld !== undefined) {
    process.stderr.write(renderUserError(tooOld));
    process.exitCode = EXIT.failed;
    return;
  }
  const interrupt = new AbortController();
  process.on("SIGINT", () => {
    // The first Ctrl-C lets the command wind down (exit 130); a second one does not wait.
    if (interrupt.signal.aborted) process.exit(EXIT.interrupted);
    interrupt.abort();
  });
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    // `axon logs api | head` closes the pipe early: stop quietly, like other Unix tools.
    if (error.code === "EPIPE") interrupt.abort();
  });
  const interactive = process.stdout.isTTY === true && process.stdin.isTTY === true;
  const ctx: CliContext = {
    env: process.env,
    cwd: process.cwd(),
    stdout: { write: (text) => void process.stdout.write(text) },
    stderr: { write: (text) => void process.stderr.write(text) },
    stdin: process.stdin,
    interactive,
    color: shouldColor(process.env, process.stdout.isTTY === true),
    ...(canRedraw(process.env, interactive)
      ? { terminal: { stdout: process.stdout, stdin: process.stdin } }
      : {}),
    signal: interrupt.signal,
    now: () => new Date(),
  };
  process.exitCode = await runCli(process.argv.slice(2), ctx);
}

/**
 * True when this file is the script node was asked to run (directly or through npm's bin symlink),
 * as opposed to being imported by tests. Compared by real path rather than `import.meta.main`,
 * which older Node 22 releases lack.
 */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) await main();
