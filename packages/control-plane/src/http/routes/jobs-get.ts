import type { FastifyInstance } from "fastify";
import type { BatchJobResponse } from "../../contract/index.js";
import { engineFor } from "../../engines/engine-for.js";
import type { RouteContext } from "../context.js";

/** `GET /v1/apis/:name/jobs/:id`: one job's status (Cortex's `{job_status, endpoint}`). */
export function registerJobsGetRoute(app: FastifyInstance, context: RouteContext): void {
  app.get<{ Params: { name: string; id: string } }>(
    "/v1/apis/:name/jobs/:id",
    async (request): Promise<BatchJobResponse> =>
      engineFor(context, request).getJob(request.params.name, request.params.id),
  );
}
