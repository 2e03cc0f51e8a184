import type { FastifyInstance } from "fastify";
import type { RollbackRequest, RollbackResponse } from "../../contract/index.js";
import { DomainError } from "../../errors.js";
import { rollbackApi } from "../../services/rollback.js";
import type { RouteContext } from "../context.js";

export function registerRollbackRoute(app: FastifyInstance, context: RouteContext): void {
  app.post<{ Params: { name: string }; Body: RollbackRequest | undefined }>(
    "/v1/apis/:name/rollback",
    async (request): Promise<RollbackResponse> => {
      const version = request.body?.version;
      if (version !== undefined && typeof version !== "string") {
        throw new DomainError("request.invalid", "version must be a version id string");
      }
      return rollbackApi(
        { store: context.store, events: context.events, enqueue: (name) => context.enqueue(name) },
        request.params.name,
        version,
      );
    },
  );
}
