import type { FastifyInstance } from "fastify";
import { describeEvent, type EventLine } from "../../contract/index.js";
import { engineFor } from "../../engines/engine-for.js";
import type { RouteContext } from "../context.js";

/**
 * `GET /v1/events[?api=NAME]`: the control plane's typed events as they happen, one `EventLine`
 * per line (NDJSON) — the same events the daemon log, the store and the API log files read. For
 * live views; it does not replay the past (`GET /v1/apis/:name` lists an API's recent events).
 * The stream is the target environment's engine's (`Axon-Env`): an engine without one answers
 * `engine.not_supported` before the stream opens, never another environment's events.
 */
export function registerEventsRoute(app: FastifyInstance, context: RouteContext): void {
  // Streams never end by themselves: end them before the server closes (as the logs route does).
  const open = new Set<() => void>();
  app.addHook("preClose", async () => {
    for (const end of open) end();
  });

  app.get<{ Querystring: { api?: string } }>("/v1/events", async (request, reply) => {
    const feed = engineFor(context, request).watch(request.query.api);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { "Content-Type": "application/x-ndjson", "Cache-Control": "no-cache" });
    // Headers out now: a client waiting for the first event knows it is subscribed.
    raw.flushHeaders();
    await new Promise<void>((resolve) => {
      const unsubscribe = feed.subscribe((event, time) => {
        const line: EventLine = { time: time.toISOString(), ...describeEvent(event), event };
        raw.write(`${JSON.stringify(line)}\n`);
      });
      const end = (): void => {
        unsubscribe();
        open.delete(end);
        if (!raw.writableEnded) raw.end();
        resolve();
      };
      open.add(end);
      raw.on("close", end);
    });
  });
}
