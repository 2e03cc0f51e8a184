/**
 * Test helper: run the built `axon` in a real pseudo-terminal, a tmux pane of a fixed size on a
 * private tmux server, and read the screen as a person would see it. A shell runs it and stays
 * after it exits, so its exit status, the cursor's visibility and whether the alternate screen was
 * left can be checked. Every server is killed after its test.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { onTestFinished } from "vitest";
import { makeTempDir } from "./fixtures.js";

const run = promisify(execFile);

/** `packages/cli/bin/axon.js`, which runs dist/ (`npm run build` first). */
export const AXON_BIN = fileURLToPath(new URL("../../bin/axon.js", import.meta.url));

/** A pane running one command. */
export interface Terminal {
  /** The visible screen, one string per row, trailing spaces removed. */
  screen(): Promise<string>;
  /** The same with its colours and attributes as SGR escape sequences. */
  styledScreen(): Promise<string>;
  /** Sends keys as tmux names them (`C-c`, `Enter`, or text). */
  press(...keys: string[]): Promise<void>;
  resize(columns: number, rows: number): Promise<void>;
  /** Waits (bounded) until the screen matches `pattern`; returns the screen. */
  waitFor(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  /** Waits (bounded) for the command to exit; returns its status and the terminal's state. */
  waitForExit(
    timeoutMs?: number,
  ): Promise<{ status: number; cursorVisible: boolean; alternateScreen: boolean; screen: string }>;
}

/** Starts `axon <args>` in a `columns`×`rows` terminal with `env` (plus PATH and TERM). */
export async function startTerminal(options: {
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  columns?: number;
  rows?: number;
}): Promise<Terminal> {
  const dir = await makeTempDir("axon-tmux-");
  const socket = `axon-test-${process.pid}-${randomBytes(4).toString("hex")}`;
  const config = path.join(dir, "tmux.conf");
  await writeFile(config, "set -g status off\n");
  // The server's environment is what the pane inherits: keep this process's (vitest's
  // FORCE_COLOR=0, say) out of it, as a fresh login would.
  const tmux = (...args: string[]): Promise<{ stdout: string }> =>
    run("tmux", ["-L", socket, "-f", config, ...args], {
      encoding: "utf8",
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" },
    });
  // Exported by the pane's shell rather than `tmux -e`, which cannot set TERM (tmux sets it).
  const exports = Object.entries({
    TERM: "xterm-256color",
    ...options.env,
    PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`,
  })
    .map(([key, value]) => `export ${key}=${shellQuote(value)};`)
    .join(" ");
  // As from a shell: the pane stays after axon exits (so its status, the cursor and the screen can
  // be read). `trap : INT` keeps the shell alive through Ctrl-C without making axon ignore it.
  const axon = [process.execPath, AXON_BIN, ...options.args].map(shellQuote).join(" ");
  const command = `${exports} trap : INT; ${axon}; echo "${EXIT_MARK}$?"; exec sleep 600`;
  await tmux(
    "new-session",
    "-d",
    "-s",
    "main",
    "-x",
    String(options.columns ?? 100),
    "-y",
    String(options.rows ?? 30),
    "-c",
    options.cwd ?? dir,
    command,
  );
  onTestFinished(async () => {
    await tmux("kill-server").catch(() => undefined);
  });

  const screen = async (): Promise<string> => {
    const { stdout } = await tmux("capture-pane", "-p", "-t", "main");
    return stdout
      .split("\n")
      .map((line) => line.trimEnd())
      .join("\n")
      .trimEnd();
  };
  const display = async (format: string): Promise<string> =>
    (await tmux("display-message", "-p", "-t", "main", format)).stdout.trim();
  const poll = async <T>(
    check: () => Promise<T | undefined>,
    timeoutMs: number,
    what: string,
  ): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; the screen shows:\n${await screen()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  return {
    screen,
    styledScreen: async () => (await tmux("capture-pane", "-e", "-p", "-t", "main")).stdout,
    press: async (...keys) => {
      await tmux("send-keys", "-t", "main", ...keys);
    },
    resize: async (columns, rows) => {
      await tmux("resize-window", "-t", "main", "-x", String(columns), "-y", String(rows));
    },
    waitFor: (pattern, timeoutMs = 15_000) =>
      poll(
        async () => {
          const text = await screen();
          return (typeof pattern === "string" ? text.includes(pattern) : pattern.test(text))
            ? text
            : undefined;
        },
        timeoutMs,
        String(pattern),
      ),
    waitForExit: (timeoutMs = 15_000) =>
      poll(
        async () => {
          const text = await screen();
          // The terminal may have echoed ^C just before the shell's line.
          const status = new RegExp(`${EXIT_MARK}(\\d+)$`, "m").exec(text)?.[1];
          if (status === undefined) return undefined;
          const [cursor, alternate] = (await display("#{cursor_flag} #{alternate_on}")).split(" ");
          return {
            status: Number(status),
            cursorVisible: cursor === "1",
            alternateScreen: alternate === "1",
            screen: text.replace(new RegExp(`\n?^(\\^C)?${EXIT_MARK}\\d+$`, "m"), ""),
          };
        },
        timeoutMs,
        "the command to exit",
      ),
  };
}

/** What the shell prints after axon exits, with its status. */
const EXIT_MARK = "axon exited with status ";

function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
