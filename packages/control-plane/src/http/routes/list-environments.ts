import type { FastifyInstance } from "fastify";
import type { EnvironmentListResponse } from "../../contract/index.js";
import { listEnvironments } from "../../services/environments.js";
import type { RouteContext } from "../context.js";

/** GET /v1/environments: `local` and every registered AWS environment, and the default one. */
export function registerListEnvironmentsRoute(app: FastifyInstance, context: RouteContext): void {
  app.get("/v1/environments", async (): Promise<EnvironmentListResponse> =>
    listEnvironments(context.store),
  );
}
