import type { FastifyInstance } from "fastify";
import type { DeployPreviewResponse, DeployRequest } from "../../contract/index.js";
import { engineFor } from "../../engines/engine-for.js";
import { planDeploy } from "../../services/deploy-plan.js";
import type { RouteContext } from "../context.js";

/**
 * POST /v1/deploy/plan (`axon deploy --plan`, issue 30): the same body as POST /v1/deploy, planned
 * by the same `planDeploy` (so it is refused for the same reasons), then previewed by the target
 * environment's engine. Nothing is built, recorded or sent to AWS beyond read calls.
 */
export function registerDeployPlanRoute(app: FastifyInstance, context: RouteContext): void {
  app.post<{ Body: DeployRequest }>(
    "/v1/deploy/plan",
    async (request): Promise<DeployPreviewResponse> => {
      const body = request.body ?? ({} as DeployRequest);
      const engine = engineFor(context, request);
      const release = context.bundles.hold(String(body.bundle));
      try {
        return await engine.preview(await planDeploy(context, engine, body));
      } finally {
        release();
      }
    },
  );
}
