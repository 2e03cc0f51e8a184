import type { FastifyInstance } from "fastify";
import { deployApis } from "../../services/deploy.js";
import type { RouteContext } from "../context.js";
import type { DeployRequest, DeployResponse } from "../public.js";

export function registerDeployRoute(app: FastifyInstance, context: RouteContext): void {
  app.post<{ Body: DeployRequest }>("/v1/deploy", async (request): Promise<DeployResponse> =>
    deployApis(
      { store: context.store, bundles: context.bundles, gatewayUrl: context.gatewayUrl, enqueue: context.enqueue },
      request.body ?? ({} as DeployRequest),
    ),
  );
}
