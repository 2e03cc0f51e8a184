import type { FastifyInstance, FastifyRequest } from "fastify";
import { ENV_HEADER } from "../contract/index.js";
import { DomainError } from "../errors.js";
import { resolveEnvironment, type ResolvedEnvironment } from "../services/environments.js";
import type { RouteContext } from "./context.js";

/** API routes with no meaning on an AWS environment (ECS rolls back and keeps no predictions). */
const LOCAL_ONLY_ROUTES = /^\/v1\/apis\/[^/?]+\/(rollback|monitor)(\/|\?|$)/;

/** The environment a request acts on: the `Axon-Env` header's, else the default one. */
export function targetEnvironment(
  context: Pick<RouteContext, "store">,
  request: FastifyRequest,
): ResolvedEnvironment {
  const header = request.headers[ENV_HEADER];
  return resolveEnvironment(context.store, typeof header === "string" ? header : undefined);
}

/**
 * Every API route acts on the environment named by the `Axon-Env` header, else the default one:
 * deploy, list, get, logs and delete branch to the AWS service for an AWS environment; the few
 * routes that only exist locally (rollback, monitoring baselines) answer a clear refusal there
 * instead of acting on the local cluster by mistake.
 */
export function registerEnvironmentGuard(app: FastifyInstance, context: RouteContext): void {
  app.addHook("preHandler", async (request) => {
    if (!LOCAL_ONLY_ROUTES.test(request.url)) return;
    const env = targetEnvironment(context, request);
    if (env.provider === "aws") {
      const what = /\/rollback/.test(request.url) ? "rollback" : "monitor baseline";
      throw new DomainError(
        "env.not_supported",
        `axon ${what} works on the local environment only; ${env.name} is an AWS cluster`,
        {
          status: 501,
          hint:
            what === "rollback"
              ? `on ECS a failed rollout is rolled back by the deployment circuit breaker; to go back by hand, deploy the previous config with axon deploy --env ${env.name}`
              : "prediction monitoring records on the local engine only",
        },
      );
    }
  });
}
