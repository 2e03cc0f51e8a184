import type { FastifyInstance } from "fastify";
import type { RouteContext } from "../context.js";
import type { HealthResponse } from "../../contract/index.js";

export function registerHealthRoute(app: FastifyInstance, context: RouteContext): void {
  app.get("/v1/health", async (): Promise<HealthResponse> => ({
    ok: true,
    version: context.version,
    pid: process.pid,
  }));
}
