import type { FastifyInstance } from "fastify";
import { engineFor } from "../../engines/engine-for.js";
import type { RouteContext } from "../context.js";
import { registerLogStreamRoute } from "./logs.js";

/**
 * `GET /v1/apis/:name/jobs/:id/logs?follow=1&tail=N`: the job's workers' lines, as text; with
 * `follow` a stream that stays open, ended as the API logs route ends its own (./logs.ts).
 */
export function registerJobsLogsRoute(app: FastifyInstance, context: RouteContext): void {
  registerLogStreamRoute<{ name: string; id: string }>(
    app,
    "/v1/apis/:name/jobs/:id/logs",
    (request) => engineFor(context, request).jobLogs(request.params.name, request.params.id),
  );
}
