/** Reads for `axon get <api>`: summary, resolved spec, versions and events. */
import { specToYaml } from "@axon/config";
import type { ApiAutoscaling, ApiDetail, LocalApiCost } from "../contract/index.js";
import { DomainError } from "../errors.js";
import type { MonitoringLoop } from "../monitoring/monitoring-loop.js";
import type { Provider, ReplicaUsage } from "../providers/provider.js";
import { summarizeApi } from "../reconcile/status.js";
import type { ApiRecord, StateStore } from "../state/store.js";
import { exampleCurl } from "./example-curl.js";
import { API_NOT_FOUND } from "../errors.js";
export { API_NOT_FOUND } from "../errors.js";

export interface DescribeDeps {
  store: StateStore;
  provider: Provider;
  /** The autoscaler's view of an API, when the control plane autoscales it. */
  autoscaling?: (apiName: string) => ApiAutoscaling | undefined;
  /** Prediction monitoring, when the engine records predictions. */
  monitoring?: Pick<MonitoringLoop, "summary">;
}

export interface DescribeOptions {
  /** Start of the monitoring range (default: when the current version went live). */
  since?: Date;
  now?: Date;
}

export function requireApi(context: Pick<DescribeDeps, "store">, name: string): ApiRecord {
  const api = context.store.getApi(name);
  if (api === undefined) {
    const known = context.store.listApis().map((a) => a.name);
    throw new DomainError(API_NOT_FOUND, `api ${name} is not deployed`, {
      status: 404,
      hint:
        known.length > 0
          ? `deployed apis: ${known.join(", ")}`
          : "no apis are deployed; run `axon deploy`",
    });
  }
  return api;
}

export function describeApi(
  context: DescribeDeps,
  name: string,
  options: DescribeOptions = {},
): ApiDetail {
  const api = requireApi(context, name);
  const summary = summarizeApi(api, context.provider);
  const spec = api.currentVersion.spec;
  const detail: ApiDetail = {
    ...summary,
    spec: { ...spec },
    specYaml: specToYaml(spec),
    exampleCurl: exampleCurl(summary.endpoint, api.currentVersion.projectPath, {
      // Older stored specs have no `auth`.
      requiresKey: (spec.networking as { auth?: string }).auth === "api_key",
    }),
    runtime: {
      engine: "local",
      python: context.provider.describeArtifact(api.currentVersion.artifact),
    },
    versions: context.store.listVersions(api.name).map((v) => ({
      id: v.id,
      createdAt: v.createdAt,
      specHash: v.specHash,
      bundle: v.bundle,
      liveAt: v.liveAt,
      current: v.id === api.currentVersion.id,
    })),
    events: context.store.listEvents(api.name),
  };
  const notes = context.provider.checkSpec(spec, api.currentVersion.artifact).notes;
  if (notes.length > 0) detail.notes = notes;
  const autoscaling = context.autoscaling?.(api.name);
  if (autoscaling !== undefined) detail.autoscaling = autoscaling;
  const monitoring = context.monitoring?.summary(api, options.now ?? new Date(), options.since);
  if (monitoring !== undefined) detail.monitoring = monitoring;
  if (api.currentVersion.projectPath !== null) detail.projectPath = api.currentVersion.projectPath;
  const usage = context.provider.resourceUsage?.(api.name);
  if (usage !== undefined && usage.replicas > 0) detail.cost = localCost(usage);
  return detail;
}

/** The local cost of `get <api>`: CPU per 1,000 predictions and peak memory per replica. */
function localCost(usage: ReplicaUsage): LocalApiCost {
  const round = (n: number): number => Math.round(n * 1000) / 1000;
  return {
    engine: "local",
    replicas: usage.replicas,
    predictions: usage.predictions,
    cpu: { seconds: round(usage.cpuSeconds), unit: "CPU-seconds" },
    ...(usage.predictions === 0
      ? {}
      : {
          cpuPerThousandPredictions: {
            seconds: round((usage.cpuSeconds * 1000) / usage.predictions),
            unit: "CPU-seconds/1k",
          },
        }),
    peakMemoryPerReplica: { bytes: usage.peakReplicaBytes, unit: "bytes" },
    note: "measured from the running replicas' worker processes since they started (model loading included); on Fargate, 1 vCPU for an hour is 3,600 CPU-seconds",
  };
}
