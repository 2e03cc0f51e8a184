import type { FastifyInstance } from "fastify";
import type { DeleteResponse } from "../../contract/index.js";
import { engineFor } from "../../engines/engine-for.js";
import type { RouteContext } from "../context.js";

/** `DELETE /v1/apis/:name`: removes the API from the target environment. */
export function registerDeleteApiRoute(app: FastifyInstance, context: RouteContext): void {
  app.delete<{ Params: { name: string } }>(
    "/v1/apis/:name",
    async (request): Promise<DeleteResponse> =>
      engineFor(context, request).remove(request.params.name),
  );
}
