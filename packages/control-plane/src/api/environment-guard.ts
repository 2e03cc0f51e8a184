import type { FastifyInstance } from "fastify";
import { ENV_HEADER } from "../contract/index.js";
import { DomainError } from "../errors.js";
import { resolveEnvironment } from "../services/environments.js";
import type { RouteContext } from "./context.js";

/** Routes that act on APIs, and so on the environment the request targets. */
const API_ROUTES = /^\/v1\/(deploy|apis|bundles)(\/|\?|$)/;

/**
 * Every API route acts on the environment named by the `Axon-Env` header, else the default one.
 * The local provider serves `local`; APIs on an AWS environment come with issue 20, so until then
 * such a request gets a clear "not yet" instead of acting on the local cluster by mistake.
 */
export function registerEnvironmentGuard(app: FastifyInstance, context: RouteContext): void {
  app.addHook("preHandler", async (request) => {
    if (!API_ROUTES.test(request.url)) return;
    const header = request.headers[ENV_HEADER];
    const env = resolveEnvironment(context.store, typeof header === "string" ? header : undefined);
    if (env.provider === "aws") {
      throw new DomainError(
        "env.not_supported",
        `environment ${env.name} is an AWS cluster, and APIs on ECS are not available yet (they come with issue 20)`,
        {
          status: 501,
          hint: `axon cluster info --env ${env.name} and axon cluster down --env ${env.name} work on it now; use --env local (or axon env use local) for APIs`,
        },
      );
    }
  });
}
