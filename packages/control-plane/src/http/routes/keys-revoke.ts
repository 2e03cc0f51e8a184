import type { FastifyInstance } from "fastify";
import type { ApiKeyRevoked } from "../../contract/index.js";
import { engineFor } from "../../engines/engine-for.js";
import type { RouteContext } from "../context.js";

/** `DELETE /v1/apis/:name/keys/:id`: revokes a key. */
export function registerKeysRevokeRoute(app: FastifyInstance, context: RouteContext): void {
  app.delete<{ Params: { name: string; id: string } }>(
    "/v1/apis/:name/keys/:id",
    async (request): Promise<ApiKeyRevoked> =>
      engineFor(context, request).revokeKey(request.params.name, request.params.id),
  );
}
