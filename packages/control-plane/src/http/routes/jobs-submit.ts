import type { FastifyInstance } from "fastify";
import type { BatchJobSpec, BatchJobSubmission } from "../../contract/index.js";
import { engineFor } from "../../engines/engine-for.js";
import { DomainError, REQUEST_INVALID } from "../../errors.js";
import type { RouteContext } from "../context.js";

/**
 * `POST /v1/apis/:name/jobs` ← BatchJobSubmission: starts a job of a BatchAPI; the answer is its
 * spec (Cortex's). The engine checks the fields and their bounds (a 400 naming the field); this
 * route only refuses what is not a job spec at all.
 */
export function registerJobsSubmitRoute(app: FastifyInstance, context: RouteContext): void {
  app.post<{ Params: { name: string }; Body: unknown }>(
    "/v1/apis/:name/jobs",
    async (request): Promise<BatchJobSpec> => {
      const body = request.body;
      if (typeof body !== "object" || body === null || Array.isArray(body)) {
        throw new DomainError(
          REQUEST_INVALID,
          "a job submission must be a JSON object with `workers` and one of `item_list`, `file_path_lister` or `delimited_files`",
        );
      }
      return engineFor(context, request).submitJob(request.params.name, body as BatchJobSubmission);
    },
  );
}
