import type { FastifyInstance } from "fastify";
import type { ClusterDownResponse } from "../../contract/index.js";
import { tearDownAwsCluster } from "../../services/aws-cluster.js";
import { awsSettingsOf } from "../aws-settings.js";
import type { RouteContext } from "../context.js";
import { streamNdjson } from "../ndjson-stream.js";

/** DELETE /v1/environments/:name/cluster: empties the bucket, deletes the stack, streams progress. */
export function registerClusterDownEnvRoute(app: FastifyInstance, context: RouteContext): void {
  app.delete<{ Params: { name: string } }>(
    "/v1/environments/:name/cluster",
    async (request, reply) =>
      streamNdjson<ClusterDownResponse>(reply, (send, signal) =>
        tearDownAwsCluster(
          {
            store: context.store,
            events: context.events,
            signal,
            awsSettings: awsSettingsOf(request),
            onResource: (resource) => send({ type: "resource", resource }),
            onProgress: (message) => send({ type: "progress", message }),
          },
          request.params.name,
        ),
      ),
  );
}
