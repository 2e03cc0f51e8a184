/** AWS clusters: plan (costs), create, describe and delete, streamed as NDJSON. */
import type { ErrorBody } from "./errors.js";

export interface ClusterUpRequest {
  /** The YAML text of the cluster config. */
  config: string;
  /** Shown in diagnostics, e.g. `cluster.yaml`. */
  configFileName: string;
  /** The environment to register; default: the cluster's name. */
  env?: string;
}

/** One billable resource of the cluster, in US dollars. */
export interface ClusterCostLine {
  item: string;
  count: number;
  /** `hourly`: billed while it exists; `usage`: only by use (GB, requests); `free`. */
  pricing: "hourly" | "usage" | "free";
  perHour: number;
  perMonth: number;
  note: string;
}

export interface ClusterCostEstimate {
  lines: ClusterCostLine[];
  perHour: number;
  perMonth: number;
  /** Replicas are billed on top, per vCPU-hour and GB-hour. */
  replicaNote: string;
  /** Where the prices come from ("us-east-1 on-demand list prices, 2026; verify …"). */
  assumptions: string;
}

export interface ClusterPlanResponse {
  env: string;
  clusterName: string;
  region: string;
  stackName: string;
  /** The stack's status when it already exists (then `cluster up` creates nothing). */
  existingStatus?: string;
  costs: ClusterCostEstimate;
}

/** An AWS environment's cluster, as `cluster info --env NAME` shows it. */
export interface AwsClusterInfo {
  env: string;
  provider: "aws";
  region: string;
  stackName: string;
  /** CloudFormation's status, or null when the stack does not exist. */
  stackStatus: string | null;
  stackStatusReason?: string;
  clusterName?: string;
  loadBalancerUrl?: string;
  bucket?: string;
  image?: string;
  logGroup?: string;
  apis: number;
}

/** One resource's step while a stack is created or deleted. */
export interface ClusterResourceProgress {
  logicalId: string;
  resourceType: string;
  status: string;
  reason?: string;
}

export interface ClusterUpResponse {
  outcome: "created" | "updated" | "unchanged";
  message: string;
  cluster: AwsClusterInfo;
}

export interface ClusterDownResponse {
  outcome: "deleted" | "absent";
  message: string;
  /** Bundles removed from the bucket before the stack was deleted. */
  objectsDeleted: number;
}

/**
 * `POST /v1/clusters` and `DELETE /v1/environments/:name/cluster` stream one JSON object per line:
 * `resource` and `progress` lines while CloudFormation works, then one `result` or `error`.
 */
export type ClusterStreamLine<Result> =
  | { type: "resource"; resource: ClusterResourceProgress }
  | { type: "progress"; message: string }
  | { type: "result"; result: Result }
  | { type: "error"; status: number; error: ErrorBody };
