import type { FastifyInstance } from "fastify";
import type { AddEnvironmentRequest, EnvironmentInfo } from "../../contract/index.js";
import { addEnvironment } from "../../services/environments.js";
import type { RouteContext } from "../context.js";

/** POST /v1/environments: registers an existing AWS cluster under a name. */
export function registerAddEnvironmentRoute(app: FastifyInstance, context: RouteContext): void {
  app.post<{ Body: AddEnvironmentRequest }>("/v1/environments", async (request, reply) => {
    const info: EnvironmentInfo = addEnvironment(context.store, request.body, new Date());
    return reply.code(201).send(info);
  });
}
