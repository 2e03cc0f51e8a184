/**
 * What the cluster routes hand the AWS cluster service: the store, the event sink, a signal, and
 * the calling shell's AWS settings (`awsSettingsOf`, shared with the API engines).
 */
import type { FastifyRequest } from "fastify";
import type { ClusterStreamLine } from "../contract/index.js";
import { awsSettingsOf } from "../engines/engine-for.js";
import type { AwsClusterDeps } from "../services/aws-cluster.js";
import type { RouteContext } from "./context.js";

/** A plain request gets this long; streamed ones run until done or the client leaves. */
const PLAIN_REQUEST_MS = 60_000;

/**
 * The service's deps for `request`. With `send` (a streamed route), each stack resource's step and
 * each progress message become NDJSON lines.
 */
export function clusterDeps(
  context: RouteContext,
  request: FastifyRequest,
  stream?: { signal: AbortSignal; send: (line: ClusterStreamLine<never>) => void },
): AwsClusterDeps {
  const base = {
    store: context.store,
    events: context.events,
    awsSettings: awsSettingsOf(request),
  };
  if (stream === undefined) return { ...base, signal: AbortSignal.timeout(PLAIN_REQUEST_MS) };
  return {
    ...base,
    signal: stream.signal,
    onResource: (resource) => stream.send({ type: "resource", resource }),
    onProgress: (message) => stream.send({ type: "progress", message }),
  };
}
