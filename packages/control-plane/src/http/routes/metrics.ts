import type { FastifyInstance } from "fastify";
import { renderPrometheus } from "../../metrics/api-metrics.js";
import { renderKeyMetrics } from "../../keys/api-keys.js";
import type { RouteContext } from "../context.js";

/**
 * `GET /metrics`: request metrics of every API and replica in Prometheus text format. Behind the
 * same bearer token as every other route (configure the scraper's `authorization` with it).
 */
export function registerMetricsRoute(app: FastifyInstance, context: RouteContext): void {
  app.get("/metrics", async (_request, reply) => {
    return reply
      .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
      .send(
        renderPrometheus(context.provider.metrics ?? null) +
          (context.monitoring?.prometheus() ?? "") +
          keyMetrics(context),
      );
  });
}

/** Per-key counts of the APIs that require keys (none: nothing, and no work). */
function keyMetrics(context: RouteContext): string {
  const keys = context.provider.apiKeys;
  if (keys === undefined) return "";
  return renderKeyMetrics({
    apiNames: () => context.store.listApis().map((api) => api.name),
    usage: (api) => keys.usage(api),
  });
}
