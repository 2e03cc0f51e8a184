import type { FastifyInstance } from "fastify";
import type { EnvironmentInfo, UseEnvironmentRequest } from "../../contract/index.js";
import { useEnvironment } from "../../services/environments.js";
import type { RouteContext } from "../context.js";

/** PUT /v1/environments/default: the environment commands target without `--env`. */
export function registerUseEnvironmentRoute(app: FastifyInstance, context: RouteContext): void {
  app.put<{ Body: UseEnvironmentRequest }>(
    "/v1/environments/default",
    async (request): Promise<EnvironmentInfo> => useEnvironment(context.store, request.body.name),
  );
}
