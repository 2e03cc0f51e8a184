import type { FastifyInstance } from "fastify";
import type { AwsClusterInfo } from "../../contract/index.js";
import { describeAwsCluster } from "../../services/aws-cluster.js";
import { clusterDeps } from "../cluster-deps.js";
import type { RouteContext } from "../context.js";

/** GET /v1/environments/:name/cluster: the AWS cluster's stack, load balancer, bucket, image. */
export function registerClusterInfoEnvRoute(app: FastifyInstance, context: RouteContext): void {
  app.get<{ Params: { name: string } }>(
    "/v1/environments/:name/cluster",
    async (request): Promise<AwsClusterInfo> =>
      describeAwsCluster(clusterDeps(context, request), request.params.name),
  );
}
