/**
 * Every 500 the API answers is logged (`request.failed`: request id, cause chain, where it was
 * thrown), and its hint names the request id, so the line in daemon.log can be found from what
 * the client saw. Used by the error handler and by routes that answer errors in a stream.
 */
import type { FastifyRequest } from "fastify";
import type { ErrorBody } from "../contract/index.js";
import type { EventSink } from "../events/event-sink.js";

/** Emits `request.failed` for a 5xx and points the body's hint at it; other statuses pass. */
export function reportServerError(
  events: EventSink,
  request: Pick<FastifyRequest, "id" | "method" | "url">,
  status: number,
  body: ErrorBody,
  error: unknown,
): void {
  // 501 is an answer (a verb this engine does not have), with its own hint of what to do instead.
  if (status < 500 || status === 501) return;
  events.emit({
    kind: "request.failed",
    requestId: request.id,
    method: request.method,
    url: request.url,
    ...describeFailure(error),
  });
  body.hint = `see daemon.log under $AXON_HOME for details (request ${request.id})`;
}

/** An unexpected error's message with each `cause` after it, and the first frame of its stack. */
function describeFailure(error: unknown): { cause: string; at?: string } {
  const messages: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    messages.push(current instanceof Error ? current.message : JSON.stringify(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  const frame =
    error instanceof Error
      ? error.stack
          ?.split("\n")
          .find((line) => line.trimStart().startsWith("at "))
          ?.trim()
      : undefined;
  return { cause: messages.join(" ← caused by: "), ...(frame === undefined ? {} : { at: frame }) };
}
