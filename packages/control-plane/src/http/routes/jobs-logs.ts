import type { FastifyInstance } from "fastify";
import { engineFor } from "../../engines/engine-for.js";
import type { RouteContext } from "../context.js";
import { parseTail, streamFollow } from "./logs.js";

interface JobLogsQuery {
  follow?: string;
  tail?: string;
}

/**
 * `GET /v1/apis/:name/jobs/:id/logs?follow=1&tail=N`: the job's workers' lines, as text; with
 * `follow` a stream that stays open, ended as the API logs route ends its own (./logs.ts).
 */
export function registerJobsLogsRoute(app: FastifyInstance, context: RouteContext): void {
  // As in ./logs.ts: open follows end before the server closes, or a stop would wait for them.
  const stopping = new AbortController();
  const following = new Set<Promise<void>>();
  app.addHook("preClose", async () => {
    stopping.abort();
    await Promise.allSettled(following);
  });

  app.get<{ Params: { name: string; id: string }; Querystring: JobLogsQuery }>(
    "/v1/apis/:name/jobs/:id/logs",
    async (request, reply) => {
      const follow = request.query.follow === "1" || request.query.follow === "true";
      const tail = parseTail(request.query.tail);
      const {
        name,
        source: logs,
        isDeleted,
      } = await engineFor(context, request).jobLogs(request.params.name, request.params.id);
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
    },
  );
}
