/**
 * The replica container's inputs, as environment variables: one list the ECS task definition
 * (issue 20) writes and `axon-replica` reads, so both sides name them once. Everything a replica
 * needs arrives here; it downloads its project from the cluster bucket by content hash.
 */
import type { ApiSpec } from "@axon/config";
import { BUNDLE_PREFIX, ENVIRONMENT_PREFIX, REPLICA_CONTAINER_PORT } from "./cluster-template.js";

export const REPLICA_ENV = {
  /** The API's name. */
  apiName: "AXON_API_NAME",
  /** The resolved spec (`ApiSpec` as JSON): predictor, processes, concurrency, batching, endpoint. */
  spec: "AXON_API_SPEC",
  /** The cluster bucket and the bundle's sha256 (object `bundles/<sha256>.tar.gz`). */
  bucket: "AXON_BUNDLE_BUCKET",
  bundle: "AXON_BUNDLE_SHA256",
  /** The port the task definition maps (the target group's). */
  port: "AXON_PORT",
  /** Where the project and its Python environment go (default /var/lib/axon). */
  workDir: "AXON_WORK_DIR",
  /** The base interpreter (default python3: the image's). */
  python: "AXON_PYTHON",
  /** Where workers' output goes (default: this process's stdout, which awslogs ships). */
  logFile: "AXON_LOG_FILE",
  /**
   * `on` or `off`: the in-flight metric as EMF lines on stdout, which Application Auto Scaling
   * scales the service by (default: on when `ECS_CONTAINER_METADATA_URI_V4` is set, i.e. on ECS).
   */
  inFlightMetric: "AXON_IN_FLIGHT_METRIC",
  /** The metric's `Cluster` dimension (default: the cluster in the ECS task metadata). */
  clusterName: "AXON_CLUSTER_NAME",
  /** How often the front re-reads the API's key hashes, in ms (default 30000; tests shorten it). */
  keyRefreshMs: "AXON_KEY_REFRESH_MS",
  /** How often a task writes its per-key counts to the bucket, at most, in ms (default 60000). */
  keyUsageReportMs: "AXON_KEY_USAGE_REPORT_MS",
} as const;

/** Set by the ECS agent in every container: the task metadata endpoint (task id, cluster). */
export const ECS_METADATA_ENV = "ECS_CONTAINER_METADATA_URI_V4";

/** The object key of a bundle in the cluster bucket. */
export function bundleKey(sha256: string): string {
  return `${BUNDLE_PREFIX}${sha256}.tar.gz`;
}

export { ENVIRONMENT_PREFIX };

/** The object key of a Python environment archive in the cluster bucket. */
export function environmentArchiveKey(key: string): string {
  return `${ENVIRONMENT_PREFIX}${key}.tar.gz`;
}

/** The environment a task definition gives one API's replica container. */
export function replicaTaskEnvironment(input: {
  /** The resolved spec of either kind (it travels whole, as JSON, in `AXON_API_SPEC`). */
  spec: Pick<ApiSpec, "name">;
  bucket: string;
  bundleSha256: string;
  region: string;
}): Record<string, string> {
  return {
    [REPLICA_ENV.apiName]: input.spec.name,
    [REPLICA_ENV.spec]: JSON.stringify(input.spec),
    [REPLICA_ENV.bucket]: input.bucket,
    [REPLICA_ENV.bundle]: input.bundleSha256,
    [REPLICA_ENV.port]: String(REPLICA_CONTAINER_PORT),
    AWS_REGION: input.region,
  };
}
