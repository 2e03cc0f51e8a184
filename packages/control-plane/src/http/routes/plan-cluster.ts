import type { FastifyInstance } from "fastify";
import type { ClusterPlanResponse, ClusterUpRequest } from "../../contract/index.js";
import { planAwsCluster } from "../../services/aws-cluster.js";
import { clusterDeps } from "../cluster-deps.js";
import type { RouteContext } from "../context.js";

/** POST /v1/clusters/plan: validates a cluster config and prices it; creates nothing. */
export function registerPlanClusterRoute(app: FastifyInstance, context: RouteContext): void {
  app.post<{ Body: ClusterUpRequest }>(
    "/v1/clusters/plan",
    async (request): Promise<ClusterPlanResponse> =>
      planAwsCluster(clusterDeps(context, request), request.body),
  );
}
