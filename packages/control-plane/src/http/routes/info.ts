import type { FastifyInstance } from "fastify";
import type { RouteContext } from "../context.js";
import type { ClusterInfo } from "../../contract/index.js";

export function registerInfoRoute(app: FastifyInstance, context: RouteContext): void {
  app.get("/v1/info", async (): Promise<ClusterInfo> => context.info());
}
