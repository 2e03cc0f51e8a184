import type { FastifyInstance } from "fastify";
import { followFile, readTail } from "../../logs/api-logs.js";
import { requireApi } from "../../services/describe-api.js";
import type { RouteContext } from "../context.js";

interface LogsQuery {
  follow?: string;
  tail?: string;
}

export function registerLogsRoute(app: FastifyInstance, context: RouteContext): void {
  app.get<{ Params: { name: string }; Querystring: LogsQuery }>(
    "/v1/apis/:name/logs",
    async (request, reply) => {
      const name = requireApi(context, request.params.name).name;
      const follow = request.query.follow === "1" || request.query.follow === "true";
      const tail = Math.max(
        0,
        Math.min(100_000, Number.parseInt(request.query.tail ?? "100", 10) || 0),
      );
      const file = context.logs.fileFor(name);
      const { text, offset } = await readTail(file, tail);
      if (!follow) {
        return reply.type("text/plain; charset=utf-8").send(text);
      }
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        "Content-Type": "text/plain; charset=utf-8",
        "Cache-Control": "no-cache",
      });
      raw.write(text);
      const controller = new AbortController();
      raw.on("close", () => controller.abort());
      // The stream ends when the client goes away or the API is deleted.
      const watch = setInterval(() => {
        if (context.store.getApi(name) === undefined) controller.abort();
      }, 1000);
      try {
        await followFile(file, offset, (chunk) => raw.write(chunk), controller.signal);
      } finally {
        clearInterval(watch);
        raw.end();
      }
    },
  );
}
