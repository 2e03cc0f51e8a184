import type { FastifyInstance } from "fastify";
import { DomainError } from "../../errors.js";
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
      const tail = parseTail(request.query.tail);
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

/** `tail` is a line count, 0–100,000 (default 100). */
function parseTail(value: string | undefined): number {
  if (value === undefined || value === "") return 100;
  const lines = Number(value);
  if (!Number.isInteger(lines) || lines < 0 || lines > 100_000) {
    throw new DomainError(
      "request.invalid",
      `tail must be a number of lines from 0 to 100000 (got ${value})`,
    );
  }
  return lines;
}
