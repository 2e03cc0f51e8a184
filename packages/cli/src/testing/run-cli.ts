/**
 * Test helper: run `axon` in-process with buffered stdout/stderr, a given environment and working
 * directory, and no terminal. Returns what a shell would see.
 */
import { Readable } from "node:stream";
import type { CliContext } from "../context.js";
import { runCli as runProgram } from "../main.js";

/** What one `axon` invocation printed and how it exited. */
export interface CliRun {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Options for one invocation; `env` replaces the process environment entirely. */
export interface RunCliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  stdin?: string;
  interactive?: boolean;
  /** Colours on stdout (default off, as when piped). */
  color?: boolean;
  /** The terminal's width, as if stdout were a terminal that wide (default: piped, no width). */
  columns?: number;
  now?: Date;
  signal?: AbortSignal;
  /** Called with each piece of stdout as it is written (to act in the middle of a stream). */
  onStdout?: (text: string) => void;
}

/** Runs `axon <argv>` in this process. */
export async function runCli(
  argv: readonly string[],
  options: RunCliOptions = {},
): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const ctx: CliContext = {
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    stdout: {
      write: (text) => {
        stdout += text;
        options.onStdout?.(text);
      },
    },
    stderr: { write: (text) => void (stderr += text) },
    stdin: Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]),
    interactive: options.interactive ?? false,
    color: options.color ?? false,
    ...(options.columns === undefined ? {} : { columns: options.columns }),
    signal: options.signal ?? new AbortController().signal,
    now: () => options.now ?? new Date(),
  };
  const exitCode = await runProgram(argv, ctx);
  return { stdout, stderr, exitCode };
}
