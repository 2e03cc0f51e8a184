/**
 * What every command receives from `main.ts` instead of reaching for globals: the environment, the
 * working directory, the output sinks, stdin, whether a person is at a terminal, the Ctrl-C signal
 * and a clock. Tests build one with buffers; the real entry point builds one from `process`.
 */
import { homedir } from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import type { Command } from "commander";
import { InterruptedError } from "./errors.js";
import type { TextSink } from "./output.js";

/** The dependencies every `makeXxxCommand(deps)` receives. */
export interface CliContext {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  stdout: TextSink;
  stderr: TextSink;
  stdin: Readable;
  /** True when stdout is a terminal (a person is watching): decides `--wait` and prompts. */
  interactive: boolean;
  /** Whether stdout may carry colours (`shouldColor` in terminal.ts: NO_COLOR, FORCE_COLOR, TERM). */
  color: boolean;
  /**
   * The terminal's width when stdout is one, for tables that must fit it (`axon get`); undefined
   * when piped, where nothing is cut.
   */
  columns?: number;
  /**
   * The real terminal, present only when a live view may redraw it (`canRedraw`): ink renders to
   * these streams. In-process tests leave it out and get the plain renderings.
   */
  terminal?: LiveTerminal;
  /** Aborted on Ctrl-C; long-running commands stop and exit 130. */
  signal: AbortSignal;
  now: () => Date;
}

/** The streams an ink view renders to and reads keys from. */
export interface LiveTerminal {
  stdout: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
}

/** Options every command inherits from the program. */
export interface GlobalOptions {
  home?: string;
  verbose?: boolean;
}

/** `$AXON_HOME` for this invocation: `--home`, else the `AXON_HOME` variable, else `~/.axon`. */
export function resolveHome(ctx: CliContext, command: Command): string {
  return resolveHomeOption(ctx, command.optsWithGlobals<GlobalOptions>().home);
}

/** The same, from the `--home` value itself (undefined when not given), for callers without commander. */
export function resolveHomeOption(ctx: CliContext, home: string | undefined): string {
  const chosen = home ?? ctx.env["AXON_HOME"];
  if (chosen !== undefined && chosen !== "") return path.resolve(ctx.cwd, chosen);
  return path.join(ctx.env["HOME"] ?? homedir(), ".axon");
}

/** Waits `ms`, or throws `InterruptedError` as soon as `signal` is aborted. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new InterruptedError());
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new InterruptedError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
