/**
 * A minimal HTTP/1.1 client on `node:http`. The CLI talks only to 127.0.0.1, and loading Node's
 * `fetch` (undici) costs tens of milliseconds at start-up, which `axon get` cannot afford.
 */
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";

/** One request. */
export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal: AbortSignal;
}

/** A response whose body has not been read yet. */
export interface HttpResponse {
  status: number;
  statusText: string;
  ok: boolean;
  headers: IncomingHttpHeaders;
  /** The body as a stream of Buffers. */
  body: IncomingMessage;
  /** Reads the whole body as UTF-8. */
  text(): Promise<string>;
}

/** Sends a request; rejects with the socket error (e.g. `code: "ECONNREFUSED"`) or an AbortError. */
export function sendHttp(options: HttpRequest): Promise<HttpResponse> {
  const url = new URL(options.url);
  // getBuiltinModule rather than `import`: the ESM facade of node:http evaluates every lazy export
  // and so loads undici and zlib (~30 ms of start-up). TLS is loaded only for https endpoints.
  const send =
    url.protocol === "https:"
      ? process.getBuiltinModule("node:https").request
      : process.getBuiltinModule("node:http").request;
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined)
    headers["content-length"] = String(Buffer.byteLength(options.body));
  return new Promise((resolve, reject) => {
    const req = send(url, { method: options.method, headers, signal: options.signal }, (res) => {
      const status = res.statusCode ?? 0;
      resolve({
        status,
        statusText: res.statusMessage ?? "",
        ok: status >= 200 && status < 300,
        headers: res.headers,
        body: res,
        text: async () => {
          const chunks: Buffer[] = [];
          for await (const chunk of res) chunks.push(chunk as Buffer);
          return Buffer.concat(chunks).toString("utf8");
        },
      });
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

/** The socket error code (`ECONNREFUSED`, `ECONNRESET`, ...) or message of a failed request. */
export function describeHttpError(error: unknown): string {
  if (
    typeof error === "object" &&
    error !== null &&
    "code" in error &&
    typeof error.code === "string"
  ) {
    return error.code;
  }
  return error instanceof Error ? error.message : String(error);
}
