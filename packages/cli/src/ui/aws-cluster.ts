/**
 * Plain renderings for AWS environments and clusters: the cost table `cluster up` shows before it
 * creates anything, one line per stack resource step, `cluster info --env`, and `env list`.
 */
import type {
  AwsClusterInfo,
  ClusterPlanResponse,
  EnvironmentListResponse,
} from "@axon/control-plane/api";
import type { ClusterProgressLine } from "../client/api-client.js";
import { renderTable } from "../output.js";

const dollars = (value: number, digits: number): string => `$${value.toFixed(digits)}`;

/** The resources `cluster up` will create, what each costs, and the assumptions. */
export function renderCostTable(plan: ClusterPlanResponse): string {
  const rows = plan.costs.lines.map((line) => [
    line.count === 1 ? line.item : `${line.item} ×${line.count}`,
    line.pricing === "hourly" ? dollars(line.perHour, 4) : line.pricing,
    line.pricing === "hourly" ? dollars(line.perMonth, 2) : line.pricing,
    line.note,
  ]);
  rows.push([
    "total before replicas",
    dollars(plan.costs.perHour, 4),
    dollars(plan.costs.perMonth, 2),
    "",
  ]);
  return [
    `cluster ${plan.clusterName} → stack ${plan.stackName} in ${plan.region} (environment ${plan.env})`,
    "",
    renderTable(["resource", "$/hour", "$/month", "note"], rows),
    "",
    plan.costs.replicaNote,
    `Prices: ${plan.costs.assumptions}.`,
  ].join("\n");
}

/** One progress line: `LoadBalancer (AWS::ElasticLoadBalancingV2::LoadBalancer) CREATE_COMPLETE`. */
export function renderClusterProgress(line: ClusterProgressLine): string {
  if (line.type === "progress") return line.message;
  const { logicalId, resourceType, status, reason } = line.resource;
  const mark = status.endsWith("_FAILED") ? "✗" : status.endsWith("_COMPLETE") ? "✓" : "…";
  return `  ${mark} ${logicalId} (${resourceType}) ${status}${reason === undefined ? "" : `: ${reason}`}`;
}

export function renderAwsClusterInfo(info: AwsClusterInfo): string {
  const rows: Array<[string, string]> = [
    ["environment", `${info.env} (aws, ${info.region})`],
    ["stack", `${info.stackName}: ${info.stackStatus ?? "does not exist"}`],
  ];
  if (info.stackStatusReason !== undefined) rows.push(["reason", info.stackStatusReason]);
  if (info.clusterName !== undefined) rows.push(["ecs cluster", info.clusterName]);
  if (info.loadBalancerUrl !== undefined) rows.push(["load balancer", info.loadBalancerUrl]);
  if (info.bucket !== undefined) rows.push(["bundle bucket", info.bucket]);
  if (info.logGroup !== undefined) rows.push(["log group", info.logGroup]);
  if (info.image !== undefined) rows.push(["replica image", info.image]);
  rows.push(["apis", String(info.apis)]);
  const width = Math.max(...rows.map(([key]) => key.length));
  return rows.map(([key, value]) => `${key.padEnd(width)}   ${value}`).join("\n");
}

export function renderEnvironmentList(list: EnvironmentListResponse): string {
  return renderTable(
    ["", "env", "provider", "region", "stack"],
    list.environments.map((env) => [
      env.isDefault ? "*" : "",
      env.name,
      env.provider,
      env.region ?? "-",
      env.stackName ?? "-",
    ]),
  );
}
