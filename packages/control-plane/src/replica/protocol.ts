/**
 * The replica front's end of the worker wire protocol (the Python end is
 * `packages/runtime-python/axon_runtime/protocol.py`; both are described in
 * `packages/runtime-python/PROTOCOL.md`). Every frame is a big-endian `u32` length of what
 * follows, a `u8` type, and a type-specific body.
 */

/** Bumped when a frame changes shape; workers announce theirs in HELLO. */
export const PROTOCOL_VERSION = 5;

/** Frame types. */
export const FrameType = {
  /** front → worker: one HTTP request. */
  Request: 1,
  /** worker → front: the answer to one request, matched by `seq`. */
  Response: 2,
  /** front → worker: `u32 count`, then that many complete REQUEST frames; one `predict_batch` call. */
  Batch: 3,
  /** front → worker: empty; the worker answers PONG when its receiving loop reaches it. */
  Ping: 4,
  /** worker → front: first frame on a connection, JSON `{protocol, worker, pid}`. */
  Hello: 16,
  /** worker → front: `__init__` returned, JSON `{args, predict_batch, post_predict_args, load_ms}`. */
  Ready: 17,
  /** worker → front: import or `__init__` raised, JSON `{error, traceback}`; the worker exits next. */
  InitFailed: 18,
  /** worker → front: empty, the answer to a PING. */
  Pong: 19,
} as const;

/** How the worker should hand the body to `predict` (decided from the request's Content-Type). */
export const BodyKind = {
  Json: 0,
  Bytes: 1,
  /** `multipart/form-data` or URL-encoded: sent with meta, whose headers carry the Content-Type. */
  Form: 2,
} as const;
export type BodyKind = (typeof BodyKind)[keyof typeof BodyKind];

/** Content-Type of a RESPONSE body, indexed by the frame's content-kind byte (kinds 0–2). */
export const RESPONSE_CONTENT_TYPES: readonly string[] = [
  "application/json",
  "text/plain; charset=utf-8",
  "application/octet-stream",
];

/**
 * Content kind of a RESPONSE for a response object predict returned (Starlette's `Response`): the
 * body starts with `u32 headersLength` and that many bytes of a JSON list of `[name, value]` pairs.
 */
export const CONTENT_WITH_HEADERS = 3;

/**
 * Headers the front writes itself (framing, connection handling, the request id); the worker
 * drops them from a response object, and `readResponseHeaders` refuses them.
 */
const FRONT_OWNED_HEADERS = new Set([
  "content-length",
  "transfer-encoding",
  "connection",
  "date",
  "keep-alive",
  "x-request-id",
]);
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Tab, visible ASCII, space and latin-1 text: what node:http accepts in a header value. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Reads the header block of a CONTENT_WITH_HEADERS RESPONSE whose type byte is at `start`:
 * returns the headers as name/value pairs and where the HTTP body starts. The worker checks every
 * header before sending it; this checks again, since a header the HTTP responder refuses would
 * throw inside the socket's data callback. Throws an Error naming the problem.
 */
export function readResponseHeaders(
  buffer: Buffer,
  start: number,
  end: number,
): { headers: string[]; bodyStart: number } {
  const lengthAt = start + RESPONSE_HEADER_BYTES - 4; // after type, seq, status, content kind
  const blockStart = lengthAt + 4;
  if (blockStart > end) throw new Error("the header block is cut short");
  const bodyStart = blockStart + buffer.readUInt32BE(lengthAt);
  if (bodyStart > end) throw new Error("the header block is longer than the frame");
  const pairs: unknown = JSON.parse(buffer.toString("utf8", blockStart, bodyStart));
  if (!Array.isArray(pairs)) throw new Error("the header block is not a list");
  const headers: string[] = [];
  for (const pair of pairs as unknown[]) {
    if (!Array.isArray(pair) || pair.length !== 2) throw new Error("a header is not a pair");
    const [name, value] = pair as unknown[];
    if (typeof name !== "string" || !HEADER_NAME.test(name)) {
      throw new Error(`the header name ${JSON.stringify(name)} is not a valid HTTP header name`);
    }
    if (typeof value !== "string" || !HEADER_VALUE.test(value)) {
      throw new Error(`the header ${name} has a value HTTP cannot carry`);
    }
    if (FRONT_OWNED_HEADERS.has(name.toLowerCase())) {
      throw new Error(`the header ${name} is the front's own`);
    }
    headers.push(name, value);
  }
  return { headers, bodyStart };
}

/** Bytes before the request id in a REQUEST frame: length, type, seq, body kind, id length, meta length. */
export const REQUEST_HEADER_BYTES = 16;
/** Bytes of a RESPONSE frame before its body: length, type, seq, status, content kind. */
export const RESPONSE_HEADER_BYTES = 12;

/**
 * Builds the part of a REQUEST frame that precedes the body; the caller writes the body right
 * after it, so large bodies are never copied into the frame.
 */
export function encodeRequestHead(
  seq: number,
  bodyKind: BodyKind,
  requestId: string,
  meta: string | null,
  bodyBytes: number,
): Buffer {
  const idBytes = Buffer.byteLength(requestId);
  const metaBytes = meta === null ? 0 : Buffer.byteLength(meta);
  const head = Buffer.allocUnsafe(REQUEST_HEADER_BYTES + idBytes + metaBytes);
  head.writeUInt32BE(REQUEST_HEADER_BYTES - 4 + idBytes + metaBytes + bodyBytes, 0);
  head[4] = FrameType.Request;
  head.writeUInt32BE(seq, 5);
  head[9] = bodyKind;
  head.writeUInt16BE(idBytes, 10);
  head.writeUInt32BE(metaBytes, 12);
  head.write(requestId, REQUEST_HEADER_BYTES, idBytes);
  if (meta !== null) head.write(meta, REQUEST_HEADER_BYTES + idBytes, metaBytes);
  return head;
}

/** A whole PING frame (length 1, type). */
export const PING_FRAME: Buffer = Buffer.from([0, 0, 0, 1, FrameType.Ping]);

/** Bytes of a BATCH frame before its first REQUEST frame: length, type, count. */
export const BATCH_HEADER_BYTES = 9;

/** The start of a BATCH frame holding `count` REQUEST frames of `framesBytes` bytes in all. */
export function encodeBatchHead(count: number, framesBytes: number): Buffer {
  const head = Buffer.allocUnsafe(BATCH_HEADER_BYTES);
  head.writeUInt32BE(BATCH_HEADER_BYTES - 4 + framesBytes, 0);
  head[4] = FrameType.Batch;
  head.writeUInt32BE(count, 5);
  return head;
}

/**
 * Splits a byte stream into frames. `onFrame(buffer, start, end)` receives each complete frame as
 * `buffer[start, end)` with the type byte at `start`; the buffer is a received chunk (no copy)
 * unless the frame spanned chunks, which are then joined once when the frame is complete.
 */
export class FrameReader {
  #chunks: Buffer[] = [];
  #size = 0;
  #need = 4;
  readonly #onFrame: (buffer: Buffer, start: number, end: number) => void;

  constructor(onFrame: (buffer: Buffer, start: number, end: number) => void) {
    this.#onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    let data = chunk;
    if (this.#chunks.length > 0) {
      this.#chunks.push(chunk);
      this.#size += chunk.length;
      if (this.#size < this.#need) return;
      data = Buffer.concat(this.#chunks, this.#size);
      this.#chunks = [];
      this.#size = 0;
    }
    let pos = 0;
    while (data.length - pos >= 4) {
      const stop = pos + 4 + data.readUInt32BE(pos);
      if (stop > data.length) break;
      this.#onFrame(data, pos + 4, stop);
      pos = stop;
    }
    if (pos < data.length) {
      const rest = pos === 0 ? data : data.subarray(pos);
      this.#chunks = [rest];
      this.#size = rest.length;
      this.#need = rest.length >= 4 ? 4 + rest.readUInt32BE(0) : 4;
    }
  }
}
