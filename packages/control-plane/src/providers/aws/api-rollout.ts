/**
 * How ECS replaces an API's tasks on an update: `update_strategy` → the service's
 * `deploymentConfiguration`, and, for a canary, the CloudWatch alarm that rolls it back.
 *
 * Rolling (the default): ECS takes percentages of the running count and rounds `maximumPercent`
 * DOWN and `minimumHealthyPercent` UP ("This value is rounded down" / "rounded up",
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html). A plain
 * 125/75 therefore lets 1–3 tasks neither start nor stop one: the deployment hangs IN_PROGRESS and
 * the circuit breaker never trips, since no task fails (issue 26 finding 1). So `max_surge` and
 * `max_unavailable` are first turned into task counts the way Kubernetes does (surge rounded up,
 * unavailable rounded down; both 0 → one unavailable), at the SMALLEST count autoscaling may run
 * (`min_replicas`), then into the percentages that give at least those counts at every count from
 * `min_replicas` to `max_replicas` (`maximumPercent` reaches 200 and beyond when that is what one
 * task takes). Counts stay counts: `max_surge: 1` is one task, not a share of `init_replicas`.
 * The deployment circuit breaker rolls back tasks that never become healthy.
 *
 * Canary (`update_strategy.canary`, ECS's native CANARY strategy): ECS starts the new revision in
 * the API's idle target group, shifts `traffic_percent` of the listener rule's weight to it for
 * `bake_time` (`canaryBakeTimeInMinutes`), then the rest. It rolls back when the alarm below fires:
 * the API's 5xx answers above 1% of its requests in any minute, in either target group (the taller
 * of the two rates, so a canary at 5% of the traffic failing every request trips it), missing data
 * not breaching. `deploymentConfiguration.bakeTimeInMinutes` (how long the old revision is kept
 * after the full shift) is left at ECS's default. ECS needs an IAM role to move the rule's weights
 * (`AwsClusterRefs.ecsInfrastructureRoleArn`); without one, a canary is refused before any call.
 */
import type { PutMetricAlarmCommandInput } from "@aws-sdk/client-cloudwatch";
import type { DeploymentConfiguration } from "@aws-sdk/client-ecs";
import { parseDuration, type ApiSpec } from "@axon/config";
import { DomainError } from "../../errors.js";
import { rolloutAlarmName, type AwsClusterRefs, type EcsApiDeps } from "./api-names.js";
import { apiTags } from "./api-task-definition.js";
import { callAws } from "./cluster-stack.js";

/** A canary on a cluster with no role for ECS to shift traffic with (400). */
export const API_CANARY_UNAVAILABLE = "api.canary_unavailable";

/** The 5xx share of requests (percent, per minute) above which a canary is rolled back. */
export const CANARY_5XX_PERCENT = 1;

/**
 * Refuses rollout settings this cluster cannot carry out, before any AWS call.
 *
 * @throws DomainError `api.canary_unavailable` (409) for a canary on a cluster without the ECS
 *   infrastructure role.
 */
export function checkRollout(spec: ApiSpec, refs: AwsClusterRefs): void {
  if (spec.update_strategy.canary === undefined) return;
  if (refs.ecsInfrastructureRoleArn === undefined || refs.ecsInfrastructureRoleArn === "") {
    throw new DomainError(
      API_CANARY_UNAVAILABLE,
      `${spec.name}.update_strategy.canary needs an IAM role that lets ECS shift the load balancer's traffic, and cluster ${refs.clusterName} (${refs.envName}) has none`,
      {
        status: 409,
        hint: "remove update_strategy.canary to roll out replica by replica, or update the cluster with axon cluster up (a cluster made by this version carries the role)",
      },
    );
  }
}

/** The service's deploymentConfiguration for the spec's update strategy. */
export function deploymentConfiguration(
  spec: ApiSpec,
  refs: AwsClusterRefs,
): DeploymentConfiguration {
  const { update_strategy: strategy } = spec;
  const percents = rollingPercents(spec);
  const base: DeploymentConfiguration = {
    ...percents,
    deploymentCircuitBreaker: { enable: true, rollback: true },
  };
  if (strategy.canary === undefined) return { ...base, strategy: "ROLLING" };
  return {
    ...base,
    strategy: "CANARY",
    canaryConfiguration: {
      canaryPercent: strategy.canary.traffic_percent,
      canaryBakeTimeInMinutes: Math.round(parseDuration(strategy.canary.bake_time) / 60_000),
    },
    alarms: {
      alarmNames: [rolloutAlarmName(refs.clusterName, spec.name)],
      rollback: true,
      enable: true,
    },
  };
}

/** The tasks a roll may add and take away at `replicas` running, as Kubernetes counts them. */
export function rollingSteps(
  spec: ApiSpec,
  replicas: number,
): { surge: number; unavailable: number } {
  const { max_surge: surge, max_unavailable: unavailable } = spec.update_strategy;
  const count = (value: string, round: (x: number) => number): number => {
    const amount = Number.parseInt(value, 10);
    return value.endsWith("%") ? round((replicas * amount) / 100) : amount;
  };
  const steps = { surge: count(surge, Math.ceil), unavailable: count(unavailable, Math.floor) };
  // Kubernetes: when both resolve to 0, one replica may be unavailable (the roll must move).
  if (steps.surge === 0 && steps.unavailable === 0) steps.unavailable = 1;
  return steps;
}

/**
 * `maximumPercent` / `minimumHealthyPercent` that let ECS start `surge` and stop `unavailable`
 * tasks at every running count from `min_replicas` up, after ECS's rounding (maximum down,
 * minimum up). With M = 100 + ceil(100·s/n₀) and n ≥ n₀: floor(n·M/100) ≥ n + s. With
 * m = floor(100 − 100·u/n₀): ceil(n·m/100) ≤ n − u. A percentage setting also keeps its own
 * share at larger counts (25% of 8 is 2).
 */
export function rollingPercents(spec: ApiSpec): {
  maximumPercent: number;
  minimumHealthyPercent: number;
} {
  const smallest = Math.max(1, spec.autoscaling.min_replicas);
  const { surge, unavailable } = rollingSteps(spec, smallest);
  const share = (value: string): number => (value.endsWith("%") ? Number.parseInt(value, 10) : 0);
  const surgePercent = Math.max(
    share(spec.update_strategy.max_surge),
    Math.ceil((100 * surge) / smallest),
  );
  const unavailablePercent = Math.max(
    share(spec.update_strategy.max_unavailable),
    Math.ceil((100 * unavailable) / smallest),
  );
  return {
    maximumPercent: 100 + surgePercent,
    minimumHealthyPercent: Math.max(0, 100 - unavailablePercent),
  };
}

/**
 * What a roll of this API does, in words, for `get`: "a roll starts up to 1 new task before
 * stopping an old one (at 1 replica; larger steps with more)".
 */
export function describeRolling(spec: ApiSpec): string {
  if (spec.update_strategy.canary !== undefined) {
    const canary = spec.update_strategy.canary;
    return `a roll sends ${canary.traffic_percent}% of requests to the new version for ${canary.bake_time}, then the rest, and rolls back above ${CANARY_5XX_PERCENT}% 5xx`;
  }
  const smallest = Math.max(1, spec.autoscaling.min_replicas);
  const { maximumPercent, minimumHealthyPercent } = rollingPercents(spec);
  const start = Math.floor((smallest * maximumPercent) / 100) - smallest;
  const stop = smallest - Math.ceil((smallest * minimumHealthyPercent) / 100);
  const tasks = (n: number, what: string): string => `${n} ${what} task${n === 1 ? "" : "s"}`;
  const step =
    stop === 0
      ? `a roll starts up to ${tasks(start, "new")} before stopping an old one`
      : start === 0
        ? `a roll stops up to ${tasks(stop, "old")} before starting new ones`
        : `a roll starts up to ${tasks(start, "new")} and stops up to ${tasks(stop, "old")} at a time`;
  const range =
    spec.autoscaling.max_replicas > smallest
      ? ` (at ${smallest} replica${smallest === 1 ? "" : "s"}; larger steps with more)`
      : "";
  return `${step}${range}`;
}

/** A short description of the rollout for progress lines: "rolling, max 200% / min 100%". */
export function describeRollout(config: DeploymentConfiguration): string {
  if (config.strategy === "CANARY") {
    const canary = config.canaryConfiguration;
    return `canary, ${canary?.canaryPercent ?? 5}% for ${canary?.canaryBakeTimeInMinutes ?? 10}m, rolled back above ${CANARY_5XX_PERCENT}% 5xx`;
  }
  return `rolling, max ${config.maximumPercent ?? 200}% / min ${config.minimumHealthyPercent ?? 100}%`;
}

/** CloudWatch's `TargetGroup` dimension: `targetgroup/<name>/<id>` from the ARN. */
function targetGroupDimension(arn: string): string {
  const index = arn.indexOf("targetgroup/");
  return index === -1 ? arn : arn.slice(index);
}

/** CloudWatch's `LoadBalancer` dimension: `app/<name>/<id>` from the ARN. */
function loadBalancerDimension(arn: string): string {
  const index = arn.indexOf("loadbalancer/");
  return index === -1 ? arn : arn.slice(index + "loadbalancer/".length);
}

/** The canary alarm's PutMetricAlarm input over the API's two target groups. */
export function rolloutAlarmInput(
  spec: ApiSpec,
  refs: AwsClusterRefs,
  targetGroupArns: readonly string[],
): PutMetricAlarmCommandInput {
  const loadBalancer = loadBalancerDimension(refs.loadBalancerArn);
  const metric = (id: string, name: string, targetGroupArn: string) => ({
    Id: id,
    ReturnData: false,
    MetricStat: {
      Metric: {
        Namespace: "AWS/ApplicationELB",
        MetricName: name,
        Dimensions: [
          { Name: "TargetGroup", Value: targetGroupDimension(targetGroupArn) },
          { Name: "LoadBalancer", Value: loadBalancer },
        ],
      },
      Period: 60,
      Stat: "Sum",
    },
  });
  const perGroup = targetGroupArns.flatMap((arn, index) => [
    metric(`errors${index}`, "HTTPCode_Target_5XX_Count", arn),
    metric(`requests${index}`, "RequestCount", arn),
    {
      Id: `rate${index}`,
      ReturnData: false,
      Expression: `IF(FILL(requests${index}, 0) > 0, 100 * FILL(errors${index}, 0) / FILL(requests${index}, 0), 0)`,
      Label: `5xx % of target group ${index + 1}`,
    },
  ]);
  const rates = targetGroupArns.map((_, index) => `rate${index}`).join(", ");
  return {
    AlarmName: rolloutAlarmName(refs.clusterName, spec.name),
    AlarmDescription: `Rolls back a canary rollout of ${spec.name} (axon): its 5xx answers above ${CANARY_5XX_PERCENT}% of its requests in a minute`,
    ActionsEnabled: false,
    ComparisonOperator: "GreaterThanThreshold",
    Threshold: CANARY_5XX_PERCENT,
    EvaluationPeriods: 1,
    DatapointsToAlarm: 1,
    TreatMissingData: "notBreaching",
    Metrics: [
      ...perGroup,
      {
        Id: "rate",
        ReturnData: true,
        Expression: targetGroupArns.length === 1 ? "rate0" : `MAX([${rates}])`,
        Label: "5xx % of requests",
      },
    ],
    Tags: Object.entries(apiTags(refs, spec.name)).map(([Key, Value]) => ({ Key, Value })),
  };
}

/** Creates or updates the canary alarm (PutMetricAlarm replaces an alarm of the same name). */
export async function putRolloutAlarm(
  deps: EcsApiDeps,
  spec: ApiSpec,
  targetGroupArns: readonly string[],
): Promise<void> {
  const input = rolloutAlarmInput(spec, deps.refs, targetGroupArns);
  await callAws(deps, "cloudwatch:PutMetricAlarm", () =>
    deps.ports.cloudWatch.putMetricAlarm(input),
  );
}

/** Deletes the API's canary alarm when it exists. */
export async function deleteRolloutAlarm(
  deps: EcsApiDeps,
  apiName: string,
): Promise<"deleted" | "absent"> {
  const name = rolloutAlarmName(deps.refs.clusterName, apiName);
  const found = await callAws(deps, "cloudwatch:DescribeAlarms", () =>
    deps.ports.cloudWatch.describeAlarms({ AlarmNames: [name] }),
  );
  const exists = [...(found.MetricAlarms ?? []), ...(found.CompositeAlarms ?? [])].some(
    (alarm) => alarm.AlarmName === name,
  );
  if (!exists) return "absent";
  await callAws(deps, "cloudwatch:DeleteAlarms", () =>
    deps.ports.cloudWatch.deleteAlarms({ AlarmNames: [name] }),
  );
  return "deleted";
}
