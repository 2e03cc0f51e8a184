import type { FastifyInstance } from "fastify";
import { summarizeApi } from "../../reconcile/status.js";
import type { RouteContext } from "../context.js";
import type { ApiListResponse } from "../../contract/index.js";

export function registerListApisRoute(app: FastifyInstance, context: RouteContext): void {
  app.get("/v1/apis", async (): Promise<ApiListResponse> => ({
    apis: context.store.listApis().map((api) => summarizeApi(api, context.provider)),
  }));
}
