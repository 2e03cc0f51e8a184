import type { FastifyInstance } from "fastify";
import type { ClusterUpRequest, ClusterUpResponse } from "../../contract/index.js";
import { bringUpAwsCluster } from "../../services/aws-cluster.js";
import { clusterDeps } from "../cluster-deps.js";
import type { RouteContext } from "../context.js";
import { streamNdjson } from "../ndjson-stream.js";

/** POST /v1/clusters: creates an AWS cluster's stack, streaming each resource's progress. */
export function registerClusterUpRoute(app: FastifyInstance, context: RouteContext): void {
  app.post<{ Body: ClusterUpRequest }>("/v1/clusters", async (request, reply) =>
    streamNdjson<ClusterUpResponse>(reply, (send, signal) =>
      bringUpAwsCluster(clusterDeps(context, request, { signal, send }), request.body),
    ),
  );
}
