/**
 * The replica front's HTTP/1.1 server. A connection is served on a fast path that parses a strict
 * subset of HTTP/1.1 itself — the requests prediction clients send: `GET`/`POST` with a
 * `Content-Length` (or no body), plain ASCII headers, a `Host` — and answers with one write per
 * response. The first request outside that subset (chunked bodies, `Expect`, `Upgrade`,
 * HTTP/1.0, `HEAD`, malformed or oversized heads, obs-text, …) hands the rest of the connection
 * to a `node:http` server through a Duplex, so every other form is parsed, answered or refused by
 * Node's own HTTP implementation and never by a second parser here.
 *
 * Why not `node:http` for everything: measured on the 2-core machine the project runs on, its
 * per-request objects and streams cost as much CPU as the rest of the replica (a constant answer:
 * 32.6k req/s with `node:http`, 65k with a socket-level server; docs/decisions/0003).
 *
 * Handlers get the whole body (bounded by `maxBodyBytes`; beyond it 413 and the connection
 * closes, and a request with `Expect: 100-continue` declaring more gets the 413 instead of a 100)
 * and answer through a Responder once. Pipelined requests are answered in order.
 *
 * Admission before the body: a body that has not fully arrived with its head is read only once
 * the server has room for it and its owner has admitted it from the head (`admitBody`). The
 * server holds at most `maxBufferedBytes` of such bodies at once, counted from a request's head
 * to its response; beyond that it answers 503 before reading. A refused body is read and dropped
 * (never kept) while the answer goes out, and the connection closes. Bodies are buffered, not
 * streamed to a worker: a worker's connection carries many requests' frames, and one slow upload
 * streamed into it would hold up every request behind it.
 */
import http, { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import {
  createServer as createTlsServer,
  type SecureContextOptions,
  Server as TlsServer,
} from "node:tls";
import { Duplex } from "node:stream";
import { type CollectGarbage, garbageCollector } from "./heap-tuning.js";

/** One complete request. */
export interface FrontRequest {
  readonly method: string;
  /**
   * The request target in origin-form, path and query as sent, e.g. `/iris?debug=1`. An
   * absolute-form target (`http://host/iris?debug=1`, which a server must accept, RFC 9112
   * §3.2.2) arrives here without its scheme and authority; `*` (`OPTIONS *`) as it is.
   */
  readonly url: string;
  /** Header names and values as received: name, value, name, value, … (like Node's `rawHeaders`). */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

/** Answers one request, once. */
export interface Responder {
  /** True once answered, or when the client has gone: a later `send` does nothing. */
  readonly done: boolean;
  /**
   * Sends the response. `headers` are name/value pairs; `content-length`, `date` and
   * `connection` are added here. A string body is sent as UTF-8.
   */
  send(status: number, headers: readonly string[], body: Buffer | string): void;
}

export type FrontHandler = (request: FrontRequest, responder: Responder) => void;

/** A request whose head has arrived and whose body has not (or not all of it). */
export interface FrontRequestHead {
  readonly method: string;
  /** As in FrontRequest: origin-form, path and query. */
  readonly url: string;
  readonly rawHeaders: readonly string[];
  /** The declared body length; -1 for a chunked body, whose length is known only at its end. */
  readonly contentLength: number;
}

/** Where an admitted body goes once it has arrived, and how to back out if it never does. */
export interface BodyTicket {
  /** The whole body arrived: serve the request (called at most once, instead of the handler). */
  deliver(request: FrontRequest, responder: Responder): void;
  /** The body will not arrive (the client went away, was too slow or sent too much). */
  cancel(): void;
}

/**
 * Decides from a request's head whether to read its body: returns a ticket to read it, or answers
 * through `responder` (a 503, a 404, …) and returns null, and the body is then never kept. Called
 * only for a body that did not arrive with its head; the handler serves every other request.
 */
export type BodyAdmission = (head: FrontRequestHead, responder: Responder) => BodyTicket | null;

/** Answers with a JSON error body `{error, request_id}` unless the request is already answered. */
export function writeJsonError(
  res: Responder,
  status: number,
  requestId: string,
  message: string,
  extraHeaders: readonly string[] = [],
): void {
  if (res.done) return;
  res.send(
    status,
    [...extraHeaders, "content-type", "application/json", "x-request-id", requestId],
    JSON.stringify({ error: message, request_id: requestId }),
  );
}

export interface FrontServerOptions {
  handler: FrontHandler;
  /** Largest accepted request body; larger ones get 413 and the connection closes. Default 64 MiB. */
  maxBodyBytes?: number;
  /**
   * Admission from the head for bodies still to arrive (see BodyAdmission). Without it every
   * body within the limits is read and handed to `handler`.
   */
  admitBody?: BodyAdmission;
  /**
   * Bytes of request bodies held at once, over every connection, from each request's head to its
   * response; a body that would go over gets 503 with Retry-After before it is read. Default
   * 64 MiB (one body at the default `maxBodyBytes`): what the daemon may grow by for bodies is
   * then about its own idle size (issue 27: 256 MiB took it from 93 MB to 407 MB).
   */
  maxBufferedBytes?: number;
  /**
   * Told the target (origin-form) and status of each request the server refuses itself — 413
   * (body over `maxBodyBytes`), 503 (no room under `maxBufferedBytes`) — so its owner can count it.
   */
  onRefused?: (url: string, status: number) => void;
  /** An idle keep-alive connection is closed after this long. Default 65 s (beyond common LB idle timeouts). */
  keepAliveTimeoutMs?: number;
  /** A request whose head and body have not fully arrived after this long gets 408. Default 300 s. */
  requestTimeoutMs?: number;
  /** Runs a garbage collection (see COLLECT_AFTER_BYTES); tests count the calls. Default: V8's. */
  collectGarbage?: CollectGarbage;
  /**
   * Serve HTTPS with this certificate and key (the local gateway's `--tls-cert/--tls-key`). A
   * TLS socket is a stream like a TCP one, so the fast path and the node:http hand-off serve it
   * unchanged; the choice is made once here, and a plain server does no per-request work for it.
   */
  tls?: SecureContextOptions;
}

const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
/**
 * Once bodies totalling this much were held since the last collection, a garbage collection runs
 * when the server holds none again (after COLLECT_DELAY_MS). A released body is garbage, but its
 * memory (outside the V8 heap, mmapped) goes back to the system only when V8 collects the Buffer
 * that owns it, and V8 collects when something allocates: an idle daemon never does, and held
 * 380 MB 10 s after a burst of big uploads (issue 27). Small bodies never get here.
 */
const COLLECT_AFTER_BYTES = 16 * 1024 * 1024;
const COLLECT_DELAY_MS = 500;
/**
 * Body bytes read in chunks that become garbage at once (copied into an admitted body, or read
 * and dropped after a refusal) between two scavenges. Each chunk is a Buffer of up to 64 KB
 * outside the heap held by a 100-byte object inside it: the young generation fills only after
 * hundreds of MB of them, and V8's own trigger on memory outside the heap lets 64 MB or more
 * accumulate — a third of the daemon's growth under 32 parallel 60 MiB uploads (issue 27).
 */
const SCAVENGE_AFTER_BYTES = 8 * 1024 * 1024;
const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 65_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 300_000;
/** Node's default header limit: a longer head goes to node:http, which answers 431. */
const MAX_HEAD_BYTES = 16 * 1024;
/** Unanswered pipelined requests per connection before reading from it pauses. */
const MAX_PIPELINED = 32;
/** Bodies up to this size are sent in the same write as the head (as latin1 text, bytes 1:1). */
const INLINE_BODY_BYTES = 16 * 1024;
/**
 * A handed-off connection with no traffic either way for this long is closed, also while a
 * request is in progress (node:http bounds only the keep-alive wait on an injected connection).
 */
const HANDED_OFF_IDLE_MS = 10 * 60_000;
const SWEEP_MS = 1_000;
/**
 * After a response that closes the connection (a refusal, a 413), how long what the client still
 * sends is read and dropped before the socket is destroyed (nginx's `lingering_time`).
 */
const LINGER_MS = 30_000;

const HEAD_END = Buffer.from("\r\n\r\n", "latin1");
const REQUEST_LINE = /^(GET|POST|PUT|DELETE|PATCH|OPTIONS) (\/[\x21-\x7e]*) HTTP\/1\.1$/;
/** `name: value` with a token name and a value of visible ASCII, spaces and tabs only. */
const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\x20-\x7e\t]*?)[ \t]*$/;
const DIGITS = /^\d{1,15}$/;
/** The `scheme://authority` that starts an absolute-form request target. */
const SCHEME_AND_AUTHORITY = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;
const UNSAFE_VALUE = /[\r\n\0]/;

/** A request head the fast path accepts; anything else makes `parseHead` return null. */
interface Head {
  method: string;
  url: string;
  rawHeaders: string[];
  contentLength: number;
  close: boolean;
}

/** Parses a request head (without its final CRLFCRLF); null when node:http must handle it. */
export function parseHead(text: string): Head | null {
  const lines = text.split("\r\n");
  const requestLine = REQUEST_LINE.exec(lines[0] as string);
  if (requestLine === null) return null;
  const rawHeaders: string[] = [];
  let contentLength = -1;
  let close = false;
  let host = false;
  for (let i = 1; i < lines.length; i++) {
    const header = HEADER_LINE.exec(lines[i] as string);
    if (header === null) return null;
    const name = header[1] as string;
    const value = header[2] as string;
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === "host") {
          if (host) return null;
          host = true;
        }
        break;
      case 6:
        if (name.toLowerCase() === "expect") return null;
        break;
      case 7:
        if (name.toLowerCase() === "upgrade") return null;
        break;
      case 10:
        if (name.toLowerCase() === "connection") {
          const tokens = value.toLowerCase();
          if (tokens.includes("upgrade")) return null;
          if (tokens.includes("close")) close = true;
        }
        break;
      case 14:
        if (name.toLowerCase() === "content-length") {
          if (contentLength !== -1 || !DIGITS.test(value)) return null;
          contentLength = Number(value);
        }
        break;
      case 17:
        if (name.toLowerCase() === "transfer-encoding") return null;
        break;
    }
    rawHeaders.push(name, value);
  }
  if (!host) return null; // node:http answers 400, as HTTP/1.1 requires
  return {
    method: requestLine[1] as string,
    url: requestLine[2] as string,
    rawHeaders,
    contentLength: contentLength === -1 ? 0 : contentLength,
    close,
  };
}

/** An HTTP server for replica fronts; see the module comment. */
export class FrontServer {
  readonly handler: FrontHandler;
  readonly maxBodyBytes: number;
  readonly maxBufferedBytes: number;
  readonly #admitBody: BodyAdmission | undefined;
  readonly #onRefused: ((url: string, status: number) => void) | undefined;
  readonly #keepAliveTimeoutMs: number;
  readonly #requestTimeoutMs: number;
  readonly #server: Server;
  readonly #fallback: http.Server;
  readonly #connections = new Set<FastConnection>();
  readonly #handedOff = new Set<Socket>();
  /** TLS only: every TCP connection, its handshake done or not (see the constructor). */
  readonly #tlsConnections = new Set<Socket>();
  readonly #sweep: ReturnType<typeof setInterval>;
  #statusLines: string[] = [];
  #dateSecond = 0;
  #dateHeader = "";
  #bufferedBytes = 0;
  #peakBufferedBytes = 0;
  /** Body bytes held since the last collection (see COLLECT_AFTER_BYTES). */
  #heldSinceCollect = 0;
  #collectTimer: ReturnType<typeof setTimeout> | undefined;
  /** Bytes of body chunks read since the last scavenge (see SCAVENGE_AFTER_BYTES). */
  #chunkBytes = 0;
  /** Made when first needed: most processes never hold a big body. */
  #collectGarbage: CollectGarbage | undefined;
  /** The ticket of every body admitted without an `admitBody`: the handler serves it. */
  readonly #toHandler: BodyTicket = {
    deliver: (request, responder) => this.dispatch(request, responder),
    cancel: noop,
  };

  constructor(options: FrontServerOptions) {
    this.handler = options.handler;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    if (!(this.maxBufferedBytes >= 0)) {
      throw new RangeError(`maxBufferedBytes must be ≥ 0, got ${this.maxBufferedBytes}`);
    }
    this.#collectGarbage = options.collectGarbage;
    this.#admitBody = options.admitBody;
    this.#onRefused = options.onRefused;
    this.#keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const serve = (socket: Socket): void => {
      this.#connections.add(new FastConnection(this, socket));
    };
    if (options.tls === undefined) {
      this.#server = createServer({ allowHalfOpen: true, noDelay: true }, serve);
    } else {
      this.#server = createTlsServer({ ...options.tls, allowHalfOpen: true, noDelay: true }, serve);
      // A connection reaches `serve` once its handshake is done; one still in it (or left there
      // by a client that hung up, e.g. one that refused the certificate) would hold `close` up.
      this.#server.on("connection", (socket: Socket) => {
        this.#tlsConnections.add(socket);
        socket.once("close", () => this.#tlsConnections.delete(socket));
      });
    }
    this.#fallback = http.createServer((req, res) => this.#serveFallback(req, res));
    this.#fallback.on("checkContinue", (req: IncomingMessage, res: ServerResponse) =>
      this.#serveFallback(req, res, true),
    );
    this.#fallback.keepAliveTimeout = this.#keepAliveTimeoutMs;
    this.#sweep = setInterval(() => this.#closeStale(), SWEEP_MS);
    this.#sweep.unref();
  }

  /** Listens on host:port and resolves with the bound port; rejects with the listen error. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.#server.once("error", onError);
      this.#server.listen(port, host, () => {
        this.#server.off("error", onError);
        const address = this.#server.address();
        resolve(typeof address === "object" && address !== null ? address.port : port);
      });
    });
  }

  /**
   * Serves new TLS connections with another certificate and key; connections already open keep
   * theirs and finish (node:tls `server.setSecureContext`). Throws on a plain server.
   */
  setSecureContext(options: SecureContextOptions): void {
    if (!(this.#server instanceof TlsServer))
      throw new Error("this front server serves plain HTTP");
    this.#server.setSecureContext(options);
  }

  /** Stops listening and closes every connection, answered or not. */
  close(): Promise<void> {
    clearInterval(this.#sweep);
    clearTimeout(this.#collectTimer);
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const connection of this.#connections) connection.socket.destroy();
    for (const socket of this.#handedOff) socket.destroy();
    for (const socket of this.#tlsConnections) socket.destroy();
    this.#fallback.closeAllConnections();
    return closed;
  }

  /** Open connections (fast and handed off), for tests and diagnostics. */
  get connectionCount(): number {
    return this.#connections.size + this.#handedOff.size;
  }

  /** Bytes of request bodies held now (admitted and not yet answered; see `maxBufferedBytes`). */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** The most bytes of request bodies held at once since the server started. */
  get peakBufferedBytes(): number {
    return this.#peakBufferedBytes;
  }

  // The methods below serve this module's connections (FastConnection), not callers outside it.

  /** `HTTP/1.1 <status> <reason>\r\ndate: …\r\n`, cached per status and per second. */
  responsePrefix(status: number): string {
    const now = Date.now();
    const second = now - (now % 1000);
    if (second !== this.#dateSecond) {
      this.#dateSecond = second;
      this.#dateHeader = `date: ${new Date(second).toUTCString()}\r\n`;
    }
    let line = this.#statusLines[status];
    if (line === undefined) {
      line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Unknown"}\r\n`;
      this.#statusLines[status] = line;
    }
    return line + this.#dateHeader;
  }

  noteRefused(url: string, status: number): void {
    this.#onRefused?.(url, status);
  }

  /**
   * A body that did not arrive with its head: makes room for `bytes` of it and asks `admitBody`.
   * Returns the ticket to deliver it with, or null once the request has been answered (refused).
   */
  admit(head: FrontRequestHead, responder: Responder & Holder, bytes: number): BodyTicket | null {
    if (this.#bufferedBytes + bytes > this.maxBufferedBytes) {
      this.#bufferFull(head.url, responder);
      return null;
    }
    let ticket: BodyTicket | null;
    try {
      ticket = this.#admitBody === undefined ? this.#toHandler : this.#admitBody(head, responder);
    } catch (error) {
      ticket = null;
      failed(responder, error);
    }
    if (ticket === null) {
      if (!responder.done) failed(responder, "admitBody returned null without answering");
      return null;
    }
    this.hold(responder, bytes); // room was checked above, and nothing ran in between
    return ticket;
  }

  /** Counts `bytes` more held for `holder`'s request; false (nothing counted) when over the limit. */
  hold(holder: Holder, bytes: number): boolean {
    const total = this.#bufferedBytes + bytes;
    if (total > this.maxBufferedBytes) return false;
    this.#bufferedBytes = total;
    if (total > this.#peakBufferedBytes) this.#peakBufferedBytes = total;
    this.#heldSinceCollect += bytes;
    holder.held += bytes;
    return true;
  }

  /** Gives back what `holder`'s request held (its response went, or its body never came). */
  release(holder: Holder): void {
    this.#bufferedBytes -= holder.held;
    holder.held = 0;
    if (
      this.#bufferedBytes === 0 &&
      this.#heldSinceCollect >= COLLECT_AFTER_BYTES &&
      this.#collectTimer === undefined
    ) {
      this.#collectTimer = setTimeout(this.#collectIfIdle, COLLECT_DELAY_MS);
      this.#collectTimer.unref();
    }
  }

  /** Collects once no body is held (a new one arriving meanwhile schedules it again on release). */
  readonly #collectIfIdle = (): void => {
    this.#collectTimer = undefined;
    if (this.#bufferedBytes !== 0) return;
    this.#heldSinceCollect = 0;
    (this.#collectGarbage ??= garbageCollector())("major");
  };

  /** Counts a body chunk that is garbage once read; scavenges every SCAVENGE_AFTER_BYTES. */
  noteBodyChunk(bytes: number): void {
    this.#chunkBytes += bytes;
    if (this.#chunkBytes < SCAVENGE_AFTER_BYTES) return;
    this.#chunkBytes = 0;
    (this.#collectGarbage ??= garbageCollector())("minor");
  }

  #bufferFull(url: string, responder: Responder): void {
    const limit = this.maxBufferedBytes;
    const body = JSON.stringify({
      error: `the server holds as many request bodies as it may (${limit} bytes at once); retry shortly`,
    });
    responder.send(503, ["content-type", "application/json", "retry-after", "1"], body);
    this.noteRefused(url, 503);
  }

  /** Hands an admitted body to its ticket; a ticket that throws still gets its request answered. */
  deliver(ticket: BodyTicket, request: FrontRequest, responder: Responder): void {
    try {
      ticket.deliver(request, responder);
    } catch (error) {
      failed(responder, error);
    }
  }

  forget(connection: FastConnection): void {
    this.#connections.delete(connection);
  }

  /** Gives a connection's socket, and the bytes already read from it, to node:http. */
  handOff(socket: Socket, unread: Buffer, ended = false): void {
    this.#handedOff.add(socket);
    const bridge = new Duplex({
      read() {
        socket.resume();
      },
      write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void) {
        socket.write(chunk, encoding, callback);
      },
      final(callback: () => void) {
        socket.end();
        callback();
      },
      destroy(error: Error | null, callback: (error: Error | null) => void) {
        socket.destroy();
        callback(error);
      },
    });
    // node:http sets its keep-alive timeout through setTimeout and listens for "timeout" on the
    // connection it was given: both go to the socket underneath.
    Object.assign(bridge, {
      setTimeout(ms: number): Duplex {
        socket.setTimeout(ms === 0 ? HANDED_OFF_IDLE_MS : ms);
        return bridge;
      },
    });
    socket.on("timeout", () => {
      if (bridge.listenerCount("timeout") > 0) bridge.emit("timeout");
      else socket.destroy();
    });
    socket.on("data", (chunk: Buffer) => {
      this.noteBodyChunk(chunk.length); // node:http reads bodies here (chunked, refused, …)
      if (!bridge.push(chunk)) socket.pause();
    });
    socket.on("end", () => bridge.push(null));
    socket.on("close", () => {
      this.#handedOff.delete(socket);
      bridge.destroy();
    });
    socket.setTimeout(HANDED_OFF_IDLE_MS);
    if (unread.length > 0) bridge.push(unread);
    if (ended) bridge.push(null);
    this.#fallback.emit("connection", bridge);
    socket.resume();
  }

  #closeStale(): void {
    const now = Date.now();
    for (const connection of this.#connections) {
      connection.closeIfStale(now, this.#keepAliveTimeoutMs, this.#requestTimeoutMs);
    }
  }

  /**
   * The node:http side: admission from the head when there is a body, then read the whole body
   * (bounded), then the same handler as the fast path. `expectsContinue`: the request has
   * `Expect: 100-continue` (node:http then leaves sending 100 to us), so a refusal or a 413 goes
   * out before the client spends time uploading.
   */
  #serveFallback(req: IncomingMessage, res: ServerResponse, expectsContinue = false): void {
    const responder = new NodeResponder(res, this);
    if (this.#declaresTooLarge(req)) {
      this.#tooLarge(req, responder);
      return;
    }
    const url = originForm(req.url ?? "/");
    const chunked = req.headers["transfer-encoding"] !== undefined;
    const declared = chunked ? -1 : Number(req.headers["content-length"] ?? 0);
    let ticket = this.#toHandler;
    if (declared !== 0) {
      const keepAlive = res.shouldKeepAlive;
      res.shouldKeepAlive = false; // a refusal leaves the body unread: close after it
      const head = { method: req.method ?? "POST", url, rawHeaders: req.rawHeaders };
      const reserve = Math.max(declared, 0);
      const admitted = this.admit({ ...head, contentLength: declared }, responder, reserve);
      if (admitted === null) {
        req.resume();
        return;
      }
      res.shouldKeepAlive = keepAlive;
      ticket = admitted;
    }
    if (expectsContinue) res.writeContinue();
    const chunks: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    const giveUp = (): void => {
      settled = true;
      ticket.cancel();
      res.shouldKeepAlive = false;
      req.resume();
    };
    req.on("data", (chunk: Buffer) => {
      if (settled) return;
      bytes += chunk.length;
      if (bytes > this.maxBodyBytes) {
        giveUp();
        this.#tooLarge(req, responder);
        return;
      }
      // A chunked body makes room as it arrives; a declared one made room for all of it.
      if (chunked && !this.hold(responder, chunk.length)) {
        giveUp();
        this.#bufferFull(url, responder);
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (settled) return;
      settled = true;
      const request: FrontRequest = {
        method: req.method ?? "GET",
        url,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks, bytes),
      };
      this.deliver(ticket, request, responder);
    });
    req.on("close", () => {
      if (settled) return; // the body never ended: the client went away or sent it wrong
      settled = true;
      ticket.cancel();
      this.release(responder);
    });
  }

  /** True when the request's `Content-Length` (if it has one) is over the body limit. */
  #declaresTooLarge(req: IncomingMessage): boolean {
    return Number(req.headers["content-length"]) > this.maxBodyBytes;
  }

  #tooLarge(req: IncomingMessage, responder: NodeResponder): void {
    responder.res.shouldKeepAlive = false; // the rest of the body is not read
    responder.send(...tooLargeResponse(this.maxBodyBytes));
    this.noteRefused(originForm(req.url ?? "/"), 413);
    req.resume();
  }

  /** Calls the handler; a handler that throws still gets its request answered (500). */
  dispatch(request: FrontRequest, responder: Responder): void {
    try {
      this.handler(request, responder);
    } catch (error) {
      failed(responder, error);
    }
  }
}

/** Answers 500 for a handler (or admission) that threw, unless the request is answered. */
function failed(responder: Responder, error: unknown): void {
  if (responder.done) return;
  const message = `the server failed to handle the request: ${String(error)}`;
  responder.send(500, ["content-type", "application/json"], JSON.stringify({ error: message }));
}

/** A response that holds body bytes counted against `maxBufferedBytes` until it is sent. */
interface Holder {
  held: number;
}

function tooLargeResponse(limit: number): [number, string[], string] {
  return [
    413,
    ["content-type", "application/json"],
    JSON.stringify({ error: `the request body is larger than the limit of ${limit} bytes` }),
  ];
}

/** An admitted request whose body is still arriving, into a buffer of its declared length. */
interface BodyInProgress {
  head: Head;
  responder: FastResponder;
  ticket: BodyTicket;
  body: Buffer;
  received: number;
}

/** One client connection on the fast path. */
class FastConnection {
  readonly socket: Socket;
  readonly server: FrontServer;
  /** Unanswered requests, oldest first; responses leave in this order. */
  readonly #queue: FastResponder[] = [];
  /** Bytes read but not yet parsed (an incomplete head). */
  #unparsed: Buffer | null = null;
  #body: BodyInProgress | null = null;
  /** No more requests are read: `Connection: close`, a 413, or a hand-off waiting its turn. */
  #stopped = false;
  /** Bytes to give node:http once every earlier response has been written. */
  #handOffBytes: Buffer | null = null;
  #clientEnded = false;
  #pausedForWrites = false;
  #pausedForQueue = false;
  gone = false;
  /** When our side ended the connection after a response (0: it has not). */
  #endedAt = 0;
  #lastActive = Date.now();
  /** When the request being read started arriving (0: none). */
  #partialSince = 0;

  constructor(server: FrontServer, socket: Socket) {
    this.server = server;
    this.socket = socket;
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("drain", this.#onDrain);
    socket.on("error", noop); // "close" follows
    socket.on("close", this.#onClose);
  }

  closeIfStale(now: number, keepAliveMs: number, requestMs: number): void {
    if (this.#endedAt !== 0) {
      // Answered and ended: what the client still sends is read and dropped (so the answer is
      // not lost to a reset), but not forever.
      if (now - this.#endedAt > LINGER_MS) this.socket.destroy();
      return;
    }
    if (this.#partialSince !== 0) {
      // The request being read is the only one left unanswered (its own slot, if it has one).
      const body = this.#body;
      if (now - this.#partialSince > requestMs && this.#queue.length === (body === null ? 0 : 1)) {
        this.#stopped = true;
        this.#partialSince = 0;
        this.#body = null;
        this.#unparsed = null;
        let responder: FastResponder;
        if (body === null) {
          responder = new FastResponder(this, true);
          this.#queue.push(responder);
        } else {
          body.ticket.cancel();
          responder = body.responder;
          responder.closeAfter = true;
        }
        const text = JSON.stringify({ error: "the request did not arrive in time" });
        responder.send(408, ["content-type", "application/json"], text);
      }
    } else if (this.#queue.length === 0 && now - this.#lastActive > keepAliveMs) {
      this.socket.destroy();
    }
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#lastActive = Date.now();
    if (this.#stopped) {
      // Nothing after Connection: close / 413 / a refusal is read: dropped.
      this.server.noteBodyChunk(chunk.length);
      return;
    }
    let buffer = chunk;
    let position = 0;
    const body = this.#body;
    if (body !== null) {
      this.server.noteBodyChunk(chunk.length);
      const missing = body.body.length - body.received;
      if (chunk.length < missing) {
        chunk.copy(body.body, body.received);
        body.received += chunk.length;
        return;
      }
      chunk.copy(body.body, body.received, 0, missing);
      this.#body = null;
      this.#partialSince = 0;
      this.#deliver(body);
      position = missing;
    } else if (this.#unparsed !== null) {
      buffer = Buffer.concat([this.#unparsed, chunk]);
      this.#unparsed = null;
    }
    this.#parse(buffer, position);
  };

  #parse(buffer: Buffer, start: number): void {
    let position = start;
    const length = buffer.length;
    while (position < length && !this.#stopped) {
      if (this.#queue.length >= MAX_PIPELINED) {
        this.#unparsed = buffer.subarray(position);
        this.#pausedForQueue = true;
        this.socket.pause();
        return;
      }
      const headEnd = buffer.indexOf(HEAD_END, position);
      if (headEnd === -1 || headEnd - position > MAX_HEAD_BYTES) {
        // Still waiting for the end of the head — unless a bare LF shows it will never come in
        // the form parsed here (node:http decides what such a request gets).
        if (headEnd === -1 && length - position <= MAX_HEAD_BYTES && !hasBareLf(buffer, position)) {
          this.#unparsed = buffer.subarray(position);
          if (this.#partialSince === 0) this.#partialSince = Date.now();
          return;
        }
        this.#handOff(buffer.subarray(position));
        return;
      }
      const head = parseHead(buffer.toString("latin1", position, headEnd));
      if (head === null) {
        this.#handOff(buffer.subarray(position));
        return;
      }
      const bodyStart = headEnd + 4;
      const bodyLength = head.contentLength;
      if (bodyLength > this.server.maxBodyBytes) {
        this.#stopped = true;
        const responder = new FastResponder(this, true);
        this.#queue.push(responder);
        responder.send(...tooLargeResponse(this.server.maxBodyBytes));
        this.server.noteRefused(head.url, 413);
        return;
      }
      if (length - bodyStart < bodyLength) {
        this.#admitBody(head, buffer, bodyStart);
        return;
      }
      position = bodyStart + bodyLength;
      this.#partialSince = 0;
      this.#dispatch(head, buffer.subarray(bodyStart, position));
    }
  }

  /**
   * A head whose body has not all arrived: admission first; an admitted body is copied into a
   * buffer of its declared length as it arrives (no copies joined at the end), a refused one is
   * answered now and the rest of the connection's bytes are dropped unread.
   */
  #admitBody(head: Head, buffer: Buffer, bodyStart: number): void {
    // Until admitted, a refusal closes the connection: the body it leaves unread is in the way.
    const responder = new FastResponder(this, true);
    this.#queue.push(responder);
    const ticket = this.server.admit(head, responder, head.contentLength);
    if (ticket === null) {
      this.#stopped = true;
      return;
    }
    responder.closeAfter = head.close;
    const body = Buffer.allocUnsafe(head.contentLength);
    const received = buffer.copy(body, 0, bodyStart);
    this.#body = { head, responder, ticket, body, received };
    if (this.#partialSince === 0) this.#partialSince = Date.now();
  }

  #deliver(body: BodyInProgress): void {
    const head = body.head;
    if (head.close) this.#stopped = true;
    const request = {
      method: head.method,
      url: head.url,
      rawHeaders: head.rawHeaders,
      body: body.body,
    };
    this.server.deliver(body.ticket, request, body.responder);
  }

  #dispatch(head: Head, body: Buffer): void {
    const responder = new FastResponder(this, head.close);
    this.#queue.push(responder);
    if (head.close) this.#stopped = true;
    this.server.dispatch(
      { method: head.method, url: head.url, rawHeaders: head.rawHeaders, body },
      responder,
    );
  }

  #handOff(unread: Buffer): void {
    this.#stopped = true;
    this.#handOffBytes = unread;
    if (this.#queue.length > 0) {
      this.socket.pause(); // the hand-off waits for the earlier responses
      return;
    }
    this.#completeHandOff();
  }

  #completeHandOff(): void {
    const ended = this.#clientEnded;
    const unread = this.#handOffBytes ?? Buffer.alloc(0);
    this.#handOffBytes = null;
    const socket = this.socket;
    socket.off("data", this.#onData);
    socket.off("end", this.#onEnd);
    socket.off("drain", this.#onDrain);
    socket.off("close", this.#onClose);
    this.server.forget(this);
    if (ended && unread.length === 0) {
      socket.end(); // the client already finished sending; nothing left to answer
      return;
    }
    this.server.handOff(socket, unread, ended);
  }

  /** Called by a responder when its response is ready; writes every response whose turn came. */
  ready(): void {
    const queue = this.#queue;
    while (queue.length > 0) {
      const first = queue[0] as FastResponder;
      const data = first.data;
      if (data === null) break;
      queue.shift();
      if (this.gone) continue;
      // Idle (for the keep-alive timeout) counts from the last response as well as the last read.
      this.#lastActive = Date.now();
      let flushed: boolean;
      if (typeof data === "string") {
        flushed = this.socket.write(data, "latin1");
      } else {
        this.socket.cork();
        this.socket.write(data[0], "latin1");
        flushed = this.socket.write(data[1]);
        this.socket.uncork();
      }
      if (first.closeAfter) {
        this.socket.end();
        this.gone = true;
        this.#endedAt = Date.now();
        continue;
      }
      if (!flushed && !this.#pausedForWrites) {
        this.#pausedForWrites = true;
        this.socket.pause();
      }
    }
    if (this.gone) return;
    if (queue.length === 0) {
      if (this.#handOffBytes !== null) {
        this.#completeHandOff();
        return;
      }
      if (this.#clientEnded) {
        this.socket.end();
        return;
      }
    }
    if (this.#pausedForQueue && queue.length < MAX_PIPELINED) {
      this.#pausedForQueue = false;
      const unparsed = this.#unparsed;
      this.#unparsed = null;
      if (unparsed !== null) this.#parse(unparsed, 0);
      this.#resumeIfFree();
    }
  }

  #resumeIfFree(): void {
    if (!this.#pausedForWrites && !this.#pausedForQueue && this.#handOffBytes === null) {
      this.socket.resume();
    }
  }

  readonly #onDrain = (): void => {
    if (!this.#pausedForWrites) return;
    this.#pausedForWrites = false;
    this.#resumeIfFree();
  };

  readonly #onEnd = (): void => {
    // The client finished sending (half-close): answer what it asked, then close our side. An
    // incomplete head goes to node:http, which answers it as it would any truncated request.
    this.#clientEnded = true;
    const body = this.#body;
    if (body !== null) {
      this.#body = null;
      this.#partialSince = 0;
      body.ticket.cancel();
      body.responder.closeAfter = true;
      const text = JSON.stringify({
        error: `the request body ended after ${body.received} of its ${body.body.length} bytes`,
      });
      body.responder.send(400, ["content-type", "application/json"], text);
    }
    const unparsed = this.#unparsed;
    if (!this.#stopped && unparsed !== null && this.#body === null) {
      this.#unparsed = null;
      this.#handOff(unparsed);
      return;
    }
    this.#stopped = true;
    if (this.#queue.length === 0 && this.#handOffBytes === null) this.socket.end();
  };

  readonly #onClose = (): void => {
    this.gone = true;
    const body = this.#body;
    if (body !== null) {
      this.#body = null;
      body.ticket.cancel();
      this.server.release(body.responder);
    }
    this.#queue.length = 0;
    this.server.forget(this);
  };
}

/** A fast-path response slot; holds its bytes until earlier pipelined responses are written. */
class FastResponder implements Responder, Holder {
  readonly #connection: FastConnection;
  closeAfter: boolean;
  /** Body bytes this request holds against the server's `maxBufferedBytes`, until sent. */
  held = 0;
  /** The serialized response once `send` ran: one latin1 string, or a head and a body. */
  data: string | [string, Buffer] | null = null;

  constructor(connection: FastConnection, closeAfter: boolean) {
    this.#connection = connection;
    this.closeAfter = closeAfter;
  }

  get done(): boolean {
    return this.data !== null || this.#connection.gone;
  }

  send(status: number, headers: readonly string[], body: Buffer | string): void {
    if (this.held !== 0) this.#connection.server.release(this);
    if (this.done) return;
    const bytes = bodyFor(status, body);
    let head = this.#connection.server.responsePrefix(status);
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const value = headers[i + 1] as string;
      // node:http refuses these too: a CR or LF in a value would split the response.
      if (UNSAFE_VALUE.test(value))
        throw new TypeError(`invalid character in header ${headers[i]}`);
      head += `${headers[i] as string}: ${value}\r\n`;
    }
    const length = hasNoBody(status) ? "" : `content-length: ${bytes.length}\r\n`;
    head += this.closeAfter ? `${length}connection: close\r\n\r\n` : `${length}\r\n`;
    this.data = bytes.length <= INLINE_BODY_BYTES ? head + bytes.toString("latin1") : [head, bytes];
    this.#connection.ready();
  }
}

/** A node:http response (a handed-off connection) as a Responder. */
class NodeResponder implements Responder, Holder {
  readonly res: ServerResponse;
  readonly #server: FrontServer;
  held = 0;

  constructor(res: ServerResponse, server: FrontServer) {
    this.res = res;
    this.#server = server;
  }

  get done(): boolean {
    return this.res.headersSent || this.res.destroyed;
  }

  send(status: number, headers: readonly string[], body: Buffer | string): void {
    if (this.held !== 0) this.#server.release(this);
    if (this.done) return;
    const bytes = bodyFor(status, body);
    this.res.writeHead(
      status,
      hasNoBody(status) ? [...headers] : [...headers, "content-length", String(bytes.length)],
    );
    this.res.end(bytes);
  }
}

/**
 * A request target in origin-form: an absolute-form target loses its scheme and authority (an
 * empty path becomes `/`), so handlers route on one form; any other target is returned as it is.
 * Only handed-off requests need it: the fast path accepts origin-form targets only.
 */
function originForm(target: string): string {
  if (target.startsWith("/")) return target;
  const prefix = SCHEME_AND_AUTHORITY.exec(target);
  if (prefix === null) return target;
  const rest = target.slice(prefix[0].length);
  return rest.startsWith("/") ? rest : `/${rest}`;
}

/**
 * 204 and 304 responses end at their head (RFC 9110 §15.3.5, §15.4.5): no body, and a 204 must
 * not carry `content-length` (a 304's would describe a representation it does not send).
 */
function hasNoBody(status: number): boolean {
  return status === 204 || status === 304;
}

const EMPTY = Buffer.alloc(0);

function bodyFor(status: number, body: Buffer | string): Buffer {
  if (hasNoBody(status)) return EMPTY;
  return typeof body === "string" ? Buffer.from(body, "utf8") : body;
}

/** True when `buffer` from `start` holds a LF not preceded by CR. */
function hasBareLf(buffer: Buffer, start: number): boolean {
  let at = buffer.indexOf(0x0a, start);
  while (at !== -1) {
    if (at === start || buffer[at - 1] !== 0x0d) return true;
    at = buffer.indexOf(0x0a, at + 1);
  }
  return false;
}

function noop(): void {}
