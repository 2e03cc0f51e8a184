import type { FastifyInstance } from "fastify";
import type { BatchJobList } from "../../contract/index.js";
import { engineFor } from "../../engines/engine-for.js";
import type { RouteContext } from "../context.js";

/** `GET /v1/apis/:name/jobs`: a BatchAPI's jobs, newest first. */
export function registerJobsListRoute(app: FastifyInstance, context: RouteContext): void {
  app.get<{ Params: { name: string } }>(
    "/v1/apis/:name/jobs",
    async (request): Promise<BatchJobList> =>
      engineFor(context, request).listJobs(request.params.name),
  );
}
