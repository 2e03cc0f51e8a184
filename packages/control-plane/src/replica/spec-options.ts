/**
 * What an API's resolved spec says about each of its replicas, as `Replica.start` options: the
 * one mapping both placements use — the local provider, and the ECS container's entrypoint — so a
 * setting read in one is never forgotten in the other.
 */
import { DEFAULT_PREDICTOR_TIMEOUT_MS, parseDuration, type ApiSpec } from "@axon/config";
import type { ReplicaOptions } from "./replica.js";

/** The spec's part of a replica's options (the placement adds id, paths, interpreter, env). */
export type SpecReplicaOptions = Pick<
  ReplicaOptions,
  | "predictorPath"
  | "pythonPath"
  | "config"
  | "processes"
  | "threads"
  | "maxConcurrency"
  | "batching"
  | "timeoutMs"
  | "monitoring"
  | "smokeTest"
>;

export function replicaOptionsFromSpec(spec: ApiSpec): SpecReplicaOptions & { timeoutMs: number } {
  const { predictor } = spec;
  const batching = predictor.server_side_batching;
  return {
    predictorPath: predictor.path,
    ...(predictor.python_path === undefined || predictor.python_path === null
      ? {}
      : { pythonPath: predictor.python_path }),
    config: predictor.config,
    processes: predictor.processes_per_replica,
    threads: predictor.threads_per_process,
    maxConcurrency: spec.autoscaling.max_replica_concurrency,
    batching:
      batching === null
        ? null
        : {
            maxBatchSize: batching.max_batch_size,
            batchIntervalMs: parseDuration(batching.batch_interval),
          },
    timeoutMs:
      predictor.timeout === undefined
        ? DEFAULT_PREDICTOR_TIMEOUT_MS
        : parseDuration(predictor.timeout),
    ...(predictor.smoke_test === undefined
      ? {}
      : {
          smokeTest: {
            payload: predictor.smoke_test.payload,
            expectStatus: predictor.smoke_test.expect_status,
            ...(predictor.smoke_test.expect_json === undefined
              ? {}
              : { expectJson: predictor.smoke_test.expect_json }),
          },
        }),
    ...(spec.monitoring === null || spec.monitoring.model_type === null
      ? {}
      : { monitoring: { modelType: spec.monitoring.model_type, key: spec.monitoring.key } }),
  };
}
