import type { FastifyInstance } from "fastify";
import type { RollbackRequest, RollbackResponse } from "../../contract/index.js";
import { engineFor } from "../../engines/engine-for.js";
import { DomainError, REQUEST_INVALID } from "../../errors.js";
import type { RouteContext } from "../context.js";

/** `POST /v1/apis/:name/rollback` `{version?}`: makes an earlier version current again. */
export function registerRollbackRoute(app: FastifyInstance, context: RouteContext): void {
  app.post<{ Params: { name: string }; Body: RollbackRequest | undefined }>(
    "/v1/apis/:name/rollback",
    async (request): Promise<RollbackResponse> => {
      const version = request.body?.version;
      if (version !== undefined && typeof version !== "string") {
        throw new DomainError(REQUEST_INVALID, "version must be a version id string");
      }
      return engineFor(context, request).rollback(request.params.name, version);
    },
  );
}
