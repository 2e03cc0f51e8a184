/**
 * Long operations answered as NDJSON (`Accept: application/x-ndjson` is implied): progress lines
 * while the work runs, then one `result` or `error` line. A client that goes away aborts the
 * signal the work receives.
 */
import type { FastifyReply } from "fastify";
import type { ClusterStreamLine } from "../contract/index.js";
import { toErrorBody } from "../errors.js";

/** Streams `work`'s progress and its outcome on `reply` (hijacked). */
export async function streamNdjson<Result>(
  reply: FastifyReply,
  work: (send: (line: ClusterStreamLine<Result>) => void, signal: AbortSignal) => Promise<Result>,
): Promise<void> {
  const raw = reply.raw;
  const controller = new AbortController();
  raw.once("close", () => {
    if (!raw.writableFinished)
      controller.abort(new Error("the client disconnected before the operation finished"));
  });
  reply.hijack();
  raw.writeHead(200, { "Content-Type": "application/x-ndjson", "Cache-Control": "no-cache" });
  const send = (line: ClusterStreamLine<Result>): void => {
    if (!raw.destroyed) raw.write(`${JSON.stringify(line)}\n`);
  };
  try {
    send({ type: "result", result: await work(send, controller.signal) });
  } catch (error) {
    const { status, body } = toErrorBody(error);
    send({ type: "error", status, error: body });
  }
  if (!raw.destroyed) raw.end();
}
