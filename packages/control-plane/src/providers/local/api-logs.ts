/**
 * One append-only log file per API under `$AXON_HOME/logs/<api>.log`. Python workers write to it
 * directly (their stdout/stderr are the file), so logs survive the daemon dying; the daemon adds its
 * own lifecycle lines (from the events it is subscribed to); `axon logs` reads the tail and follows
 * appends.
 */
import {
  appendFileSync,
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
} from "node:fs";
import { open, stat } from "node:fs/promises";
import path from "node:path";
import { describeEvent, eventApi, type ControlPlaneEventKind } from "../../contract/index.js";
import type { EventSubscriber } from "../../events/event-sink.js";
import { formatLogTime } from "../../events/log-line.js";
import type { LogSource } from "../provider.js";

/** The local provider's `LogSource`: one file per API. */
export class ApiLogs implements LogSource {
  readonly #dir: string;

  constructor(home: string) {
    this.#dir = path.join(home, "logs");
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    // Logs hold whatever predictors print: private, also when an older axon made them 0644.
    chmodSync(this.#dir, 0o700);
    for (const name of readdirSync(this.#dir)) chmodSync(path.join(this.#dir, name), 0o600);
  }

  /** The API's log file, created 0600 when missing (workers append to it as their stdout). */
  fileFor(apiName: string): string {
    const file = this.#path(apiName);
    closeSync(openSync(file, "a", 0o600));
    return file;
  }

  #path(apiName: string): string {
    return path.join(this.#dir, `${apiName}.log`);
  }

  remove(apiName: string): void {
    rmSync(this.#path(apiName), { force: true });
  }

  tail(apiName: string, lines: number): Promise<{ text: string; position: number }> {
    return readTail(this.#path(apiName), lines).then(({ text, offset }) => ({
      text,
      position: offset,
    }));
  }

  follow(
    apiName: string,
    position: number,
    onData: (chunk: Buffer) => void,
    signal: AbortSignal,
  ): Promise<void> {
    return followFile(this.#path(apiName), position, onData, signal);
  }

  /**
   * An event subscriber that appends the control plane's lines about an API (replicas starting,
   * ready, failing, stopping; deploys and rollouts) to that API's file, between its predictor's
   * own lines.
   */
  subscriber(): EventSubscriber {
    return (event, time) => {
      const api = eventApi(event);
      if (api === undefined || !FILE_LOG_KINDS.has(event.kind)) return;
      const line = `${formatLogTime(time)} axon   [${api}] ${describeEvent(event).message}\n`;
      appendFileSync(this.#path(api), line, { mode: 0o600 });
    };
  }
}

/** What an API's log file shows of the control plane (the daemon log has everything). */
const FILE_LOG_KINDS = new Set<ControlPlaneEventKind>([
  "deploy.recorded",
  "rollout.started",
  "rollout.finished",
  "rollout.rolled_back",
  "rollback.requested",
  "api.scaled",
  "replica.starting",
  "replica.ready",
  "replica.failed",
  "replica.stopped",
]);

/** Reads the last `lines` lines of a file; returns them and the offset to follow from. */
export async function readTail(
  file: string,
  lines: number,
): Promise<{ text: string; offset: number }> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    return { text: "", offset: 0 };
  }
  if (lines <= 0) return { text: "", offset: size };
  const handle = await open(file, "r");
  try {
    const chunk = 64 * 1024;
    let start = size;
    let buffer = Buffer.alloc(0);
    // Read backwards until enough newlines are seen (or the start of the file).
    while (start > 0) {
      const from = Math.max(0, start - chunk);
      const piece = Buffer.alloc(start - from);
      await handle.read(piece, 0, piece.length, from);
      buffer = Buffer.concat([piece, buffer]);
      start = from;
      if (countNewlines(buffer) > lines) break;
    }
    let text = buffer.toString("utf8");
    const parts = text.split("\n");
    const trailing = parts[parts.length - 1] === "" ? 1 : 0;
    if (parts.length - trailing > lines)
      text = parts.slice(parts.length - trailing - lines).join("\n");
    return { text, offset: size };
  } finally {
    await handle.close();
  }
}

function countNewlines(buffer: Buffer): number {
  let n = 0;
  for (const byte of buffer) if (byte === 10) n++;
  return n;
}

/**
 * Calls `onData` with whatever is appended to `file` after `offset`, polling every `intervalMs`
 * until `signal` aborts. A truncated or recreated file is read again from its start.
 */
export async function followFile(
  file: string,
  offset: number,
  onData: (chunk: Buffer) => void,
  signal: AbortSignal,
  intervalMs = 200,
): Promise<void> {
  let position = offset;
  while (!signal.aborted) {
    let size = -1;
    try {
      size = (await stat(file)).size;
    } catch {
      size = -1;
    }
    if (size >= 0 && size < position) position = 0;
    if (size > position) {
      const handle = await open(file, "r");
      try {
        const piece = Buffer.alloc(Math.min(size - position, 1024 * 1024));
        const { bytesRead } = await handle.read(piece, 0, piece.length, position);
        position += bytesRead;
        if (bytesRead > 0) onData(piece.subarray(0, bytesRead));
      } finally {
        await handle.close();
      }
      continue;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, intervalMs);
      signal.addEventListener(
        "abort",
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }
}
