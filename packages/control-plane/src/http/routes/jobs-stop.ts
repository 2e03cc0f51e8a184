import type { FastifyInstance } from "fastify";
import type { BatchJobStopped } from "../../contract/index.js";
import { engineFor } from "../../engines/engine-for.js";
import type { RouteContext } from "../context.js";

/** `DELETE /v1/apis/:name/jobs/:id`: stops a job (no batch is given out any more). */
export function registerJobsStopRoute(app: FastifyInstance, context: RouteContext): void {
  app.delete<{ Params: { name: string; id: string } }>(
    "/v1/apis/:name/jobs/:id",
    async (request): Promise<BatchJobStopped> =>
      engineFor(context, request).stopJob(request.params.name, request.params.id),
  );
}
