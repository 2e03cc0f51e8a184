/**
 * One append-only log file per API under `$AXON_HOME/logs/<api>.log`. Python workers write to it
 * directly (their stdout/stderr are the file), so logs survive the daemon dying; the daemon adds its
 * own lifecycle lines; `axon logs` reads the tail and follows appends.
 */
import { appendFileSync, mkdirSync, rmSync } from "node:fs";
import { open, stat } from "node:fs/promises";
import path from "node:path";

export class ApiLogs {
  readonly #dir: string;

  constructor(home: string) {
    this.#dir = path.join(home, "logs");
    mkdirSync(this.#dir, { recursive: true });
  }

  fileFor(apiName: string): string {
    return path.join(this.#dir, `${apiName}.log`);
  }

  remove(apiName: string): void {
    rmSync(this.fileFor(apiName), { force: true });
  }

  /** Appends one control-plane line (replica started, ready, crashed…) to the API's log. */
  appendSystemLine(apiName: string, message: string): void {
    const line = `${formatLogTime(new Date())} axon   [${apiName}] ${message}\n`;
    appendFileSync(this.fileFor(apiName), line, { mode: 0o600 });
  }
}

/** `2026-11-23 16:50:01.123`, local time, the same shape the Python runtime prints. */
export function formatLogTime(date: Date): string {
  const pad = (n: number, w = 2): string => String(n).padStart(w, "0");
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`
  );
}

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
