import type { ServerResponse } from "node:http";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { LOG_STREAM_END_TRAILER, type LogStreamEnd } from "../../contract/index.js";
import type { ApiLogStream } from "../../engines/api-engine.js";
import { engineFor } from "../../engines/engine-for.js";
import { DomainError, REQUEST_INVALID } from "../../errors.js";
import type { RouteContext } from "../context.js";

interface LogsQuery {
  follow?: string;
  tail?: string;
}

export function registerLogsRoute(app: FastifyInstance, context: RouteContext): void {
  registerLogStreamRoute<{ name: string }>(app, "/v1/apis/:name/logs", (request) =>
    engineFor(context, request).logs(request.params.name),
  );
}

/**
 * A route answering a log as text (`?tail=N`), or with `?follow=1` as a stream that stays open
 * (`streamFollow`): the API logs route above and the job logs route (./jobs-logs.ts).
 */
export function registerLogStreamRoute<Params>(
  app: FastifyInstance,
  url: string,
  open: (request: FastifyRequest<{ Params: Params }>) => Promise<ApiLogStream>,
): void {
  // Follow streams never end by themselves, and closing the server waits for every open response:
  // end them all before it closes, or the daemon's stop would wait for each follower's Ctrl-C.
  const stopping = new AbortController();
  const following = new Set<Promise<void>>();
  app.addHook("preClose", async () => {
    stopping.abort();
    await Promise.allSettled(following);
  });

  app.get<{ Params: Params; Querystring: LogsQuery }>(url, async (request, reply) => {
    const follow = request.query.follow === "1" || request.query.follow === "true";
    const tail = parseTail(request.query.tail);
    const { name, source: logs, isDeleted } = await open(request);
    const { text, position } = await logs.tail(name, tail);
    if (!follow) return reply.type("text/plain; charset=utf-8").send(text);
    reply.hijack();
    const streaming = streamFollow(reply.raw, {
      follow: (onData, signal) => logs.follow(name, position, onData, signal),
      text,
      isDeleted,
      stopping: stopping.signal,
    });
    following.add(streaming);
    await streaming.finally(() => following.delete(streaming));
  });
}

/**
 * Writes the tail, then what is appended, until the client goes away, the API is deleted or the
 * daemon stops; the last two end the body with a `LOG_STREAM_END_TRAILER` saying which.
 */
async function streamFollow(
  raw: ServerResponse,
  options: {
    /** Follows the API's log from where the tail ended. */
    follow: (onData: (chunk: Buffer) => void, signal: AbortSignal) => Promise<void>;
    /** The tail already read, sent first. */
    text: string;
    isDeleted: () => boolean;
    stopping: AbortSignal;
  },
): Promise<void> {
  const { follow, text, isDeleted, stopping } = options;
  raw.writeHead(200, {
    "Content-Type": "text/plain; charset=utf-8",
    "Cache-Control": "no-cache",
    Trailer: LOG_STREAM_END_TRAILER,
  });
  raw.write(text);
  const controller = new AbortController();
  raw.on("close", () => controller.abort());
  let deleted = false;
  const watch = setInterval(() => {
    if (!isDeleted()) return;
    deleted = true;
    controller.abort();
  }, 1000);
  try {
    await follow((chunk) => raw.write(chunk), AbortSignal.any([controller.signal, stopping]));
  } finally {
    clearInterval(watch);
    if (stopping.aborted || deleted) {
      const end: LogStreamEnd = stopping.aborted ? "stopping" : "deleted";
      raw.addTrailers({ [LOG_STREAM_END_TRAILER]: end });
    }
    raw.end();
  }
}

/** `tail` is a line count, 0–100,000 (default 100). */
function parseTail(value: string | undefined): number {
  if (value === undefined || value === "") return 100;
  const lines = Number(value);
  if (!Number.isInteger(lines) || lines < 0 || lines > 100_000) {
    throw new DomainError(
      REQUEST_INVALID,
      `tail must be a number of lines from 0 to 100000 (got ${value})`,
    );
  }
  return lines;
}
