import type { FastifyInstance } from "fastify";
import type { ApiListResponse } from "../../contract/index.js";
import { engineFor } from "../../engines/engine-for.js";
import type { RouteContext } from "../context.js";

/** `GET /v1/apis`: the APIs of the target environment (`Axon-Env`, else the default one). */
export function registerListApisRoute(app: FastifyInstance, context: RouteContext): void {
  app.get("/v1/apis", async (request): Promise<ApiListResponse> =>
    engineFor(context, request).list(),
  );
}
