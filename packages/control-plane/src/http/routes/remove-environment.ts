import type { FastifyInstance } from "fastify";
import type { RemoveEnvironmentResponse } from "../../contract/index.js";
import { removeEnvironment } from "../../services/environments.js";
import type { RouteContext } from "../context.js";

/** DELETE /v1/environments/:name: forgets an AWS environment (its stack is left alone). */
export function registerRemoveEnvironmentRoute(app: FastifyInstance, context: RouteContext): void {
  app.delete<{ Params: { name: string } }>(
    "/v1/environments/:name",
    async (request): Promise<RemoveEnvironmentResponse> =>
      removeEnvironment(context.store, request.params.name),
  );
}
