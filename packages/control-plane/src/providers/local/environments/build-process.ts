/**
 * Child processes of an environment build (venv, conda, bash, pip): run with output streamed line
 * by line, killed as a whole process group on abort, and findable after the daemon itself was
 * killed, through a marker variable in their environment, so a later build can stop them before it
 * deletes the directory they write into.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Set in the environment of every build process to the directory being built. Children inherit it,
 * so even grandchildren that outlive a `kill -9`ed daemon can be found in `/proc/<pid>/environ`.
 */
export const BUILD_MARKER_VARIABLE = "AXON_ENV_BUILD_DIR";

/** Longest line passed on; pip can print very long lines (e.g. dependency conflict dumps). */
const MAX_LINE_CHARS = 4_000;
/** After the main process exited, how long its pipes may stay open (a backgrounded grandchild). */
const PIPE_SETTLE_MS = 500;
const KILL_WAIT_MS = 5_000;
// oxlint-disable-next-line no-control-regex -- matching terminal escape sequences is the point
const ANSI_ESCAPE = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;

export interface RunStepOptions {
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  onLine: (line: string) => void;
  /** How many of the last output lines to keep for the error message. */
  tailLines: number;
}

export interface RunStepResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The last `tailLines` lines of stdout and stderr, interleaved as they arrived. */
  tail: string[];
  /** Set when the command could not be started at all (e.g. ENOENT). */
  spawnError: Error | null;
}

/**
 * Runs one build step to completion. The child leads its own process group, so an abort (and the
 * clean-up after a normal exit) reaches everything it started, e.g. the `sleep` of a shell script.
 * Resolves once the process exited; rejects only with the signal's reason when aborted.
 */
export async function runBuildStep(options: RunStepOptions): Promise<RunStepResult> {
  options.signal.throwIfAborted();
  const tail: string[] = [];
  const emit = (line: string): void => {
    const clipped = line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line;
    tail.push(clipped);
    if (tail.length > options.tailLines) tail.shift();
    options.onLine(clipped);
  };
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const splitters = [lineSplitter(emit), lineSplitter(emit)] as const;
  child.stdout.on("data", (chunk: Buffer) => splitters[0].push(chunk));
  child.stderr.on("data", (chunk: Buffer) => splitters[1].push(chunk));
  const pipesClosed = Promise.all([
    new Promise<void>((resolve) => child.stdout.once("close", () => resolve())),
    new Promise<void>((resolve) => child.stderr.once("close", () => resolve())),
  ]);

  const killGroup = (): void => {
    if (child.pid !== undefined) killProcessGroup(child.pid);
  };
  options.signal.addEventListener("abort", killGroup, { once: true });
  try {
    const outcome = await new Promise<{
      code: number | null;
      signal: NodeJS.Signals | null;
      error: Error | null;
    }>((resolve) => {
      child.once("error", (error) => resolve({ code: null, signal: null, error }));
      child.once("exit", (code, signal) => resolve({ code, signal, error: null }));
    });
    // Whatever the step left running in its group (a backgrounded command) must not outlive it.
    killGroup();
    await Promise.race([pipesClosed, sleep(PIPE_SETTLE_MS)]);
    child.stdout.destroy();
    child.stderr.destroy();
    for (const splitter of splitters) splitter.end();
    options.signal.throwIfAborted();
    return { exitCode: outcome.code, signal: outcome.signal, tail, spawnError: outcome.error };
  } finally {
    options.signal.removeEventListener("abort", killGroup);
  }
}

/**
 * Kills (SIGKILL) every process whose environment carries `BUILD_MARKER_VARIABLE=<buildDir>`,
 * except this one, and waits (bounded) until they are gone. Linux only (`/proc`); elsewhere it
 * finds nothing. Returns the pids it killed.
 */
export async function killLeftoverBuildProcesses(buildDir: string): Promise<number[]> {
  const needle = Buffer.from(`${BUILD_MARKER_VARIABLE}=${buildDir}\0`);
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const killed: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${entry}/environ`);
    } catch {
      continue; // gone, or not ours to read
    }
    if (!environ.includes(needle)) continue;
    try {
      process.kill(pid, "SIGKILL");
      killed.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  const deadline = Date.now() + KILL_WAIT_MS;
  while (killed.some(isRunning) && Date.now() < deadline) await sleep(20);
  return killed;
}

function killProcessGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // the group is already empty
  }
}

/** Alive and not a zombie (a killed child of ours stays a zombie until Node reaps it). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Splits a byte stream into lines on `\n`, `\r\n` and bare `\r` (progress redraws). */
function lineSplitter(emit: (line: string) => void): {
  push: (chunk: Buffer) => void;
  end: () => void;
} {
  const decoder = new StringDecoder("utf8");
  let pending = "";
  // Colour codes (pip colours its errors when FORCE_COLOR is set) would garble messages and logs.
  const emitVisible = (line: string): void => {
    const plain = line.replace(ANSI_ESCAPE, "");
    if (plain.trim() !== "") emit(plain);
  };
  const flush = (text: string): void => {
    pending += text;
    const parts = pending.split(/\r\n|\n|\r/);
    pending = parts.pop() ?? "";
    for (const part of parts) emitVisible(part);
  };
  return {
    push: (chunk) => flush(decoder.write(chunk)),
    end: () => {
      flush(decoder.end());
      emitVisible(pending);
      pending = "";
    },
  };
}
