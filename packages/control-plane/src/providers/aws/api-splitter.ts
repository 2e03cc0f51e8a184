/**
 * A TrafficSplitter on ECS: one listener rule on the cluster's load balancer, matching the
 * splitter's endpoint and forwarding to its APIs' target groups with their weights (ELBv2's
 * weighted forward action, https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-action-types.html#forward-actions).
 * The load balancer distributes requests by weight and promises no exact count over a window, so
 * the split holds on average, not per 100 requests as the local gateway's round robin does.
 *
 * The account is the record: the rule carries the splitter's name and its `name:weight` list as
 * tags, and sits at a priority from SPLITTER_PRIORITY_FLOOR up, where an API's own rule (the lowest
 * free priority from 1; at most 100 rules per load balancer) never goes — so the code that manages
 * an API's rule can tell a splitter's rule apart without reading tags. A change creates the new rule
 * first and then deletes the old one: the endpoint never answers 404 in between.
 */
import type { TrafficSplitterSpec } from "@axon/config";
import type { TrafficSplitterSummary } from "../../contract/index.js";
import type { Action, Rule } from "@aws-sdk/client-elastic-load-balancing-v2";
import { DomainError } from "../../errors.js";
import { findTargetGroupArn, isAwsError, listenerRules } from "./api-deploy.js";
import {
  API_TAGS,
  isSplitterRule,
  SPLITTER_PRIORITY_FLOOR,
  SPLITTER_TAGS,
  targetGroupName,
  type EcsApiDeps,
} from "./api-names.js";
import { readTargetGroupTotals } from "./api-metrics.js";
import { callAws } from "./cluster-stack.js";

/** An API a splitter names has no target group in the cluster (404). */
export const SPLITTER_API_NOT_ON_CLUSTER = "splitter.api_not_on_cluster";

const PRIORITY_ATTEMPTS = 5;

/** A splitter's rule as found on the listener. */
interface SplitterRule {
  spec: TrafficSplitterSpec;
  ruleArn: string;
  /** The target groups the rule forwards to, as the load balancer has them. */
  groupArns: string[];
}

/** The cluster's TrafficSplitters, read back from their rules' tags. */
export async function awsSplitters(deps: EcsApiDeps): Promise<TrafficSplitterSpec[]> {
  return (await splitterRules(deps)).map((rule) => rule.spec);
}

async function splitterRules(deps: EcsApiDeps): Promise<SplitterRule[]> {
  const rules = (await listenerRules(deps)).filter(isSplitterRule);
  const found: SplitterRule[] = [];
  // DescribeTags takes at most 20 ARNs a call
  // (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTags.html).
  for (let start = 0; start < rules.length; start += 20) {
    const arns = rules.slice(start, start + 20).flatMap((rule) => rule.RuleArn ?? []);
    const described = await callAws(deps, "elasticloadbalancing:DescribeTags", () =>
      deps.ports.elb.describeTags({ ResourceArns: arns }),
    );
    for (const description of described.TagDescriptions ?? []) {
      const tags = new Map((description.Tags ?? []).map((tag) => [tag.Key, tag.Value]));
      const name = tags.get(SPLITTER_TAGS.name);
      const apis = parseApisTag(tags.get(SPLITTER_TAGS.apis));
      const rule = rules.find((candidate) => candidate.RuleArn === description.ResourceArn);
      const endpoint = rule === undefined ? undefined : pathOf(rule);
      if (name === undefined || apis === undefined || endpoint === undefined) continue;
      if (description.ResourceArn === undefined) continue;
      const groupArns = (rule?.Actions ?? []).flatMap((action) => [
        ...(action.TargetGroupArn === undefined ? [] : [action.TargetGroupArn]),
        ...(action.ForwardConfig?.TargetGroups ?? []).flatMap((group) =>
          group.TargetGroupArn === undefined ? [] : [group.TargetGroupArn],
        ),
      ]);
      found.push({
        spec: { name, kind: "TrafficSplitter", endpoint, apis },
        ruleArn: description.ResourceArn,
        groupArns,
      });
    }
  }
  return found;
}

/** How far back `get --env` counts a splitter's traffic on ECS. */
export const SPLITTER_TRAFFIC_MINUTES = 60;

/**
 * The cluster's TrafficSplitters as `axon get --env` shows them: weights, and each API's share of
 * the requests and error rate over the last SPLITTER_TRAFFIC_MINUTES whole minutes, from its target
 * group's RequestCount and HTTPCode_Target_5XX_Count (one GetMetricData call for every splitter,
 * api-metrics.ts). The load balancer counts per target group, not per rule
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html):
 * an API's counts include the requests sent to its own endpoint, which `window` says.
 */
export async function describeAwsSplitters(
  deps: EcsApiDeps,
  now: Date,
): Promise<TrafficSplitterSummary[]> {
  const rules = await splitterRules(deps);
  if (rules.length === 0) return [];
  const groupOf = (rule: SplitterRule, api: string): string | undefined => {
    const name = targetGroupName(deps.refs.clusterName, api);
    return rule.groupArns.find((arn) => arn.split(":").slice(5).join(":").split("/")[1] === name);
  };
  const groups = [
    ...new Set(
      rules.flatMap((rule) => rule.spec.apis.flatMap((api) => groupOf(rule, api.name) ?? [])),
    ),
  ];
  const end = Math.floor(now.getTime() / 60_000) * 60_000;
  const start = end - SPLITTER_TRAFFIC_MINUTES * 60_000;
  const { totals, unavailable } = await readTargetGroupTotals(deps, groups, start, end);
  const window =
    unavailable === undefined
      ? `the last ${SPLITTER_TRAFFIC_MINUTES} minutes, every request each api's target group received (the load balancer counts per target group, so an api's own endpoint counts too)`
      : `not measured: ${unavailable}`;
  return rules.map((rule) => {
    const counted = rule.spec.apis.map((api) => {
      const arn = groupOf(rule, api.name);
      return { api, totals: arn === undefined ? undefined : totals.get(arn) };
    });
    const total = counted.reduce((sum, entry) => sum + (entry.totals?.requests ?? 0), 0);
    return {
      name: rule.spec.name,
      kind: "TrafficSplitter",
      endpoint: `http://${deps.refs.loadBalancerDnsName}${rule.spec.endpoint}`,
      lastUpdated: "",
      window,
      apis: counted.map(({ api, totals: measured }) => {
        if (measured === undefined) return { name: api.name, weight: api.weight };
        const { requests, errors5xx } = measured;
        return {
          name: api.name,
          weight: api.weight,
          requests,
          ...(total === 0 ? {} : { share: requests / total }),
          ...(requests === 0 ? {} : { errorRate: errors5xx / requests }),
        };
      }),
    };
  });
}

/**
 * Routes `spec`'s endpoint to its APIs' target groups with its weights; `unchanged` when the rule
 * already says so (no mutating call).
 */
export async function applyAwsSplitter(
  deps: EcsApiDeps,
  spec: TrafficSplitterSpec,
): Promise<"created" | "updated" | "unchanged"> {
  const existing = (await splitterRules(deps)).find((rule) => rule.spec.name === spec.name);
  if (existing !== undefined && JSON.stringify(existing.spec) === JSON.stringify(spec)) {
    return "unchanged";
  }
  const action = await forwardAction(deps, spec);
  for (let attempt = 1; ; attempt += 1) {
    const used = new Set((await listenerRules(deps)).map((rule) => Number(rule.Priority)));
    let priority = SPLITTER_PRIORITY_FLOOR;
    while (used.has(priority)) priority += 1;
    try {
      await callAws(deps, "elasticloadbalancing:CreateRule", () =>
        deps.ports.elb.createRule({
          ListenerArn: deps.refs.listenerArn,
          Priority: priority,
          Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: [spec.endpoint] } }],
          Actions: [action],
          Tags: [
            { Key: API_TAGS.cluster, Value: deps.refs.clusterName.replace(/^axon-/, "") },
            { Key: API_TAGS.env, Value: deps.refs.envName },
            { Key: SPLITTER_TAGS.name, Value: spec.name },
            { Key: SPLITTER_TAGS.apis, Value: apisTag(spec) },
          ],
        }),
      );
      break;
    } catch (error) {
      // A concurrent deploy took the priority: look again.
      if (
        attempt < PRIORITY_ATTEMPTS &&
        isAwsError(error, "PriorityInUseException", "PriorityInUse")
      )
        continue;
      throw error;
    }
  }
  deps.onProgress?.(
    `routed ${spec.endpoint} to ${spec.apis.map((api) => `${api.name} (${api.weight}%)`).join(", ")}`,
  );
  if (existing !== undefined) await deleteRule(deps, existing.ruleArn);
  return existing === undefined ? "created" : "updated";
}

/** Deletes splitter `name`'s rule; false when there was none. */
export async function deleteAwsSplitter(deps: EcsApiDeps, name: string): Promise<boolean> {
  const existing = (await splitterRules(deps)).filter((rule) => rule.spec.name === name);
  for (const rule of existing) await deleteRule(deps, rule.ruleArn);
  return existing.length > 0;
}

/**
 * The weighted forward action: each API's target group with its weight. ELBv2 takes at most 5
 * target groups per action and weights 0–999
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html,
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetGroupTuple.html;
 * RULES.md R22): the deploy plan refuses a splitter of more than MAX_SPLITTER_APIS_ON_ECS APIs on
 * ECS, and a splitter's weights are percentages.
 */
async function forwardAction(deps: EcsApiDeps, spec: TrafficSplitterSpec): Promise<Action> {
  const groups = [];
  for (const api of spec.apis) {
    const arn = await findTargetGroupArn(deps, targetGroupName(deps.refs.clusterName, api.name));
    if (arn === undefined) {
      throw new DomainError(
        SPLITTER_API_NOT_ON_CLUSTER,
        `traffic splitter ${spec.name}: api ${api.name} has no target group on environment ${deps.refs.envName}`,
        {
          status: 404,
          hint: `deploy ${api.name} to --env ${deps.refs.envName} first (axon get --env ${deps.refs.envName} lists what runs)`,
        },
      );
    }
    groups.push({ TargetGroupArn: arn, Weight: api.weight });
  }
  return { Type: "forward", ForwardConfig: { TargetGroups: groups } };
}

async function deleteRule(deps: EcsApiDeps, ruleArn: string): Promise<void> {
  await callAws(deps, "elasticloadbalancing:DeleteRule", () =>
    deps.ports.elb.deleteRule({ RuleArn: ruleArn }),
  );
}

function apisTag(spec: TrafficSplitterSpec): string {
  return spec.apis.map((api) => `${api.name}:${api.weight}`).join(",");
}

function parseApisTag(value: string | undefined): TrafficSplitterSpec["apis"] | undefined {
  if (value === undefined || value === "") return undefined;
  const apis = value.split(",").map((entry) => {
    const at = entry.lastIndexOf(":");
    return { name: entry.slice(0, at), weight: Number(entry.slice(at + 1)) };
  });
  return apis.every((api) => api.name !== "" && Number.isInteger(api.weight)) ? apis : undefined;
}

function pathOf(rule: Rule): string | undefined {
  for (const condition of rule.Conditions ?? []) {
    if (condition.Field !== "path-pattern") continue;
    return (condition.PathPatternConfig?.Values ?? condition.Values ?? [])[0];
  }
  return undefined;
}
