import type { FastifyInstance } from "fastify";
import type { RouteContext } from "../context.js";
import type { ShutdownResponse } from "../../contract/index.js";

export function registerShutdownRoute(app: FastifyInstance, context: RouteContext): void {
  app.post("/v1/shutdown", async (_request, reply): Promise<ShutdownResponse> => {
    reply.raw.once("finish", () => context.requestShutdown());
    return { message: "stopping the local cluster" };
  });
}
