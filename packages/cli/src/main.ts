#!/usr/bin/env node
/**
 * The `axon` entry point: runs the command tree and maps every outcome to output and an exit code
 * in one place (0 ok, 1 failed or declined, 2 usage, 3 `deploy --plan` found changes, 130
 * interrupted). Commands throw; only this
 * file decides what an error looks like.
 *
 * Start-up is budgeted (DESIGN: `axon get -o json` within 2.5x a bare `node -e 0`, `axon --version`
 * within 1.5x), so this file imports nothing heavy: commander and the command shells load from
 * `program.ts` once a command is parsed, `axon --version` is answered before any of that, and each
 * command's action imports its own services, ink and the AWS and YAML code when it runs.
 */
import { realpathSync } from "node:fs";
import nodeModule from "node:module";
import { fileURLToPath } from "node:url";
import { readCliVersionSync } from "./cli-version.js";
import type { CliContext } from "./context.js";
import {
  ApiError,
  BugError,
  CancelledError,
  ChangesPlanned,
  InterruptedError,
  ShownError,
  UserError,
  formatDiagnostic,
} from "./errors.js";
import { indent } from "./output.js";
import { canRedraw, shouldColor } from "./terminal.js";

/** Exit codes, as documented in STYLE.md. */
export const EXIT = { ok: 0, failed: 1, usage: 2, changes: 3, interrupted: 130 } as const;

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
  try {
    // The plain `axon get` forms skip commander (see fast-get.ts); everything else is parsed by it.
    const { parseFastGet } = await import("./fast-get.js");
    const fastGet = parseFastGet(argv, ctx);
    if (fastGet !== undefined) {
      const { runGetOnce } = await import("./commands/get-once.js");
      await runGetOnce(ctx, fastGet);
      return EXIT.ok;
    }
    const { buildProgram } = await import("./program.js");
    const program = await buildProgram(ctx, argv);
    await program.parseAsync([...argv], { from: "user" });
    return EXIT.ok;
  } catch (error) {
    const code = reportError(error, ctx, argv.includes("--verbose"));
    // A script that asked for JSON gets one document on stdout for a failure too (the human
    // words stay on stderr), unless the command printed its own (deploy --wait's results).
    const failed = code !== EXIT.ok && code !== EXIT.interrupted && code !== EXIT.changes;
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
  if (isCommanderError(error)) {
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

/**
 * A commander parse outcome (usage error, help or version shown), told by its `commander.*` code
 * rather than `instanceof`, so this file need not load commander to recognise one.
 */
function isCommanderError(error: unknown): error is Error & { code: string; exitCode: number } {
  return (
    error instanceof Error &&
    "code" in error &&
    typeof error.code === "string" &&
    error.code.startsWith("commander.") &&
    "exitCode" in error &&
    typeof error.exitCode === "number"
  );
}

/** Prints `error` the way its kind deserves and returns the exit code. */
function reportError(error: unknown, ctx: CliContext, verbose: boolean): number {
  if (isCommanderError(error)) {
    // Commander already printed its message (through configureOutput).
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version")
      return EXIT.ok;
    if (error.code === "commander.help") return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return EXIT.usage;
  }
  if (error instanceof InterruptedError || ctx.signal.aborted) return EXIT.interrupted;
  // `deploy --plan` printed its changes: exit 3 says so, nothing more to show.
  if (error instanceof ChangesPlanned) return EXIT.changes;
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
  // V8's compiled code for axon's modules is kept on disk between runs (Node's compile cache, as
  // TypeScript's own bin does), so the modules loaded from here on compile once, not per run.
  nodeModule.enableCompileCache();
  const argv = process.argv.slice(2);
  // `axon --version` alone is answered before commander loads (commander alone is ~15 ms here);
  // with anything else on the line commander answers it, with the same output.
  if (argv.length === 1 && argv[0] === "--version") {
    process.stdout.write(`${readCliVersionSync()}\n`);
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
    ...(process.stdout.isTTY === true && process.stdout.columns > 0
      ? { columns: process.stdout.columns }
      : {}),
    ...(canRedraw(process.env, interactive)
      ? { terminal: { stdout: process.stdout, stdin: process.stdin } }
      : {}),
    signal: interrupt.signal,
    now: () => new Date(),
  };
  process.exitCode = await runCli(argv, ctx);
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
