import type { FastifyInstance } from "fastify";
import type { ClusterDownResponse } from "../../contract/index.js";
import { tearDownAwsCluster } from "../../services/aws-cluster.js";
import { clusterDeps } from "../cluster-deps.js";
import type { RouteContext } from "../context.js";
import { streamNdjson } from "../ndjson-stream.js";

/** DELETE /v1/environments/:name/cluster: empties the bucket, deletes the stack, streams progress. */
export function registerClusterDownEnvRoute(app: FastifyInstance, context: RouteContext): void {
  app.delete<{ Params: { name: string } }>(
    "/v1/environments/:name/cluster",
    async (request, reply) =>
      streamNdjson<ClusterDownResponse>(reply, (send, signal) =>
        tearDownAwsCluster(clusterDeps(context, request, { signal, send }), request.params.name),
      ),
  );
}
