/**
 * What `axon get <api> --watch --env <aws env>` draws about an API's traffic and replicas on ECS:
 * requests per second, the 5xx error rate and p99 latency per minute from the load balancer's
 * CloudWatch metrics on the API's target group(s), and the replica counts of its service and
 * scalable target.
 *
 * Bounded calls: 3 per redraw, whatever the window — DescribeServices (the service's
 * counts and its target groups), DescribeScalableTargets (autoscaling's min and max), and ONE
 * GetMetricData with 3 metrics per target group (3, or 6 for a canary API with two groups), plus
 * a page more only when CloudWatch answers part of it (`PartialData` with a NextToken, R21 of
 * testing/fake-aws/RULES.md). At
 * CloudWatch's $0.01 per 1,000 metrics requested (https://aws.amazon.com/cloudwatch/pricing/) a
 * redraw costs $0.00003 (canary: $0.00006); docs/aws.md has the hourly figures.
 *
 * The metrics (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html):
 * namespace AWS/ApplicationELB, dimensions TargetGroup (`targetgroup/<name>/<id>`, the end of the
 * target group's ARN) and LoadBalancer (`app/<name>/<id>`, the end of the load balancer's ARN);
 * RequestCount and HTTPCode_Target_5XX_Count summed, TargetResponseTime (seconds) at p99. The load
 * balancer publishes them a minute at a time and only while requests flow, so a minute with no
 * datapoint is a minute with no request (0 requests/s, no error rate, no p99), not an error. The
 * minute in progress is left out: its sums are partial.
 *
 * The arithmetic (sum across two target groups, rate, ratio) is done here rather than in metric
 * math: it costs nothing, and an emulator need not implement expressions. Across two target groups
 * the p99 shown is the larger of the two (an upper bound: percentiles do not add).
 */
import type {
  GetMetricDataCommandInput,
  MetricDataQuery,
  MetricDataResult,
} from "@aws-sdk/client-cloudwatch";
import type { Service } from "@aws-sdk/client-ecs";
import { DomainError } from "../../errors.js";
import { AWS_ACCESS_DENIED } from "./aws-errors.js";
import { scalableResourceId, type EcsApiDeps } from "./api-names.js";
import { requireAwsApiService } from "./api-versions.js";
import { callAws } from "./cluster-stack.js";

/** One minute of an API's traffic, as the load balancer saw it. */
export interface AwsApiMetricsMinute {
  /** ISO start of the minute. */
  at: string;
  requests: number;
  requestsPerSecond: number;
  /** Responses with a 5xx status from the replicas. */
  errors5xx: number;
  /** errors5xx / requests, 0–1; null in a minute with no request. */
  errorRate: number | null;
  /** p99 of TargetResponseTime in milliseconds; null in a minute with no request. */
  p99Ms: number | null;
}

/** One redraw's worth of an API on ECS. */
export interface AwsApiMetrics {
  /** Oldest first, one entry for each whole minute of the window (zeros where nothing came). */
  minutes: AwsApiMetricsMinute[];
  /** The service's counts (ECS's). */
  replicas: { desired: number; running: number; pending: number };
  /** Application Auto Scaling's bounds for the desired count; absent when the API has none. */
  scaling?: { min: number; max: number };
  /** Why `minutes` is empty: AWS denied cloudwatch:GetMetricData to this identity (its message). */
  metricsUnavailable?: string;
}

export interface ReadAwsApiMetricsOptions {
  now: Date;
  /** Whole minutes back from the last complete one, 1–180 (clamped). */
  minutes: number;
}

const NAMESPACE = "AWS/ApplicationELB";
const PERIOD_SECONDS = 60;
const MINUTE_MS = 60_000;
/**
 * The longest window: 180 minutes × 6 metrics is far below GetMetricData's 100,800 datapoints per
 * call (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html),
 * so one call answers in one page.
 */
export const MAX_MINUTES = 180;
/**
 * A bound on the pages of one read (a redraw must not loop on a token that never ends): 180 minutes
 * of 6 metrics is 1,080 datapoints, one page at CloudWatch's default 100,800.
 */
const MAX_METRIC_PAGES = 20;

/**
 * The API's last `minutes` whole minutes of traffic and its replica counts, in 3 calls.
 *
 * @throws DomainError `api.not_found` (404) when the cluster has no ACTIVE service for the API.
 */
export async function readAwsApiMetrics(
  ecs: EcsApiDeps,
  name: string,
  options: ReadAwsApiMetricsOptions,
): Promise<AwsApiMetrics> {
  const minutes = Math.min(MAX_MINUTES, Math.max(1, Math.floor(options.minutes)));
  const end = Math.floor(options.now.getTime() / MINUTE_MS) * MINUTE_MS;
  const start = end - minutes * MINUTE_MS;
  const service = await requireAwsApiService(ecs, name);
  const groups = targetGroupsOf(service);
  const [scaling, metrics] = await Promise.all([
    readScaling(ecs, name),
    readMinutes(ecs, groups, start, end),
  ]);
  return {
    minutes: metrics.minutes,
    replicas: {
      desired: service.desiredCount ?? 0,
      running: service.runningCount ?? 0,
      pending: service.pendingCount ?? 0,
    },
    ...(scaling === undefined ? {} : { scaling }),
    ...(metrics.unavailable === undefined ? {} : { metricsUnavailable: metrics.unavailable }),
  };
}

/** The target groups the service's tasks are registered in (a canary's two). */
function targetGroupsOf(service: Service): string[] {
  return (service.loadBalancers ?? []).flatMap((balancer) =>
    [balancer.targetGroupArn, balancer.advancedConfiguration?.alternateTargetGroupArn].filter(
      (arn): arn is string => arn !== undefined && arn !== "",
    ),
  );
}

async function readScaling(
  ecs: EcsApiDeps,
  name: string,
): Promise<{ min: number; max: number } | undefined> {
  const resourceId = scalableResourceId(ecs.refs.clusterName, name);
  const output = await callAws(ecs, "application-autoscaling:DescribeScalableTargets", () =>
    ecs.ports.autoScaling.describeScalableTargets({
      ServiceNamespace: "ecs",
      ResourceIds: [resourceId],
      ScalableDimension: "ecs:service:DesiredCount",
    }),
  );
  const target = output.ScalableTargets?.find((found) => found.ResourceId === resourceId);
  return target === undefined
    ? undefined
    : { min: target.MinCapacity ?? 0, max: target.MaxCapacity ?? 0 };
}

/**
 * The three queries of each target group, ids `r<i>`, `e<i>`, `p<i>`: CloudWatch wants each id
 * unique in the call and starting with a lowercase letter, and at most 500 queries a call
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataQuery.html,
 * API_GetMetricData.html; RULES.md R21) — an ALB has at most 100 target groups, 300 queries.
 */
export function metricQueries(loadBalancerArn: string, groupArns: string[]): MetricDataQuery[] {
  const loadBalancer = arnResource(loadBalancerArn).replace(/^loadbalancer\//, "");
  return groupArns.flatMap((groupArn, index) => {
    const dimensions = [
      { Name: "TargetGroup", Value: arnResource(groupArn) },
      { Name: "LoadBalancer", Value: loadBalancer },
    ];
    const query = (id: string, metricName: string, stat: string): MetricDataQuery => ({
      Id: `${id}${index}`,
      MetricStat: {
        Metric: { Namespace: NAMESPACE, MetricName: metricName, Dimensions: dimensions },
        Period: PERIOD_SECONDS,
        Stat: stat,
      },
      ReturnData: true,
    });
    return [
      query("r", "RequestCount", "Sum"),
      query("e", "HTTPCode_Target_5XX_Count", "Sum"),
      // Percentile statistics: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html
      query("p", "TargetResponseTime", "p99"),
    ];
  });
}

/** Requests and 5xx answers of one target group over a window (the load balancer's counts). */
export interface TargetGroupTotals {
  requests: number;
  errors5xx: number;
}

/**
 * Each target group's RequestCount and HTTPCode_Target_5XX_Count summed over [start, end) (whole
 * minutes, ≤ MAX_MINUTES), in ONE GetMetricData call of 2 metrics per group; `unavailable` (and
 * no totals) when AWS denies cloudwatch:GetMetricData to this identity. A group with no datapoint
 * had no request: its totals are 0.
 */
export async function readTargetGroupTotals(
  ecs: EcsApiDeps,
  groupArns: readonly string[],
  start: number,
  end: number,
): Promise<{ totals: Map<string, TargetGroupTotals>; unavailable?: string }> {
  const totals = new Map(groupArns.map((arn) => [arn, { requests: 0, errors5xx: 0 }]));
  if (groupArns.length === 0) return { totals };
  const queries = metricQueries(ecs.refs.loadBalancerArn, [...groupArns]).filter(
    (query) => !(query.Id ?? "").startsWith("p"),
  );
  let results: MetricDataResult[];
  try {
    results = await getAllMetricData(ecs, {
      MetricDataQueries: queries,
      StartTime: new Date(start),
      EndTime: new Date(end),
    });
  } catch (error) {
    if (error instanceof DomainError && error.code === AWS_ACCESS_DENIED) {
      return { totals: new Map(), unavailable: error.message };
    }
    throw error;
  }
  for (const result of results) {
    const id = result.Id ?? "";
    const arn = groupArns[Number(id.slice(1))];
    const group = arn === undefined ? undefined : totals.get(arn);
    if (group === undefined) continue;
    const sum = (result.Values ?? []).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
    if (id.startsWith("r")) group.requests += sum;
    else if (id.startsWith("e")) group.errors5xx += sum;
  }
  return { totals };
}

/**
 * Every page of one GetMetricData query: the results of each page, in order. Axon sizes its
 * queries to fit one page (MAX_MINUTES), but CloudWatch may still answer part of them — "PartialData
 * means that an incomplete set of data points were returned. You can use the NextToken value that
 * was returned and repeat your request to get more data points"
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataResult.html) —
 * so the token is followed (testing/fake-aws/RULES.md R21). The callers add datapoints by id, so
 * one id spread over pages folds the same as one page.
 */
async function getAllMetricData(
  ecs: EcsApiDeps,
  input: Omit<GetMetricDataCommandInput, "NextToken">,
): Promise<MetricDataResult[]> {
  const results: MetricDataResult[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_METRIC_PAGES; page += 1) {
    const output = await callAws(ecs, "cloudwatch:GetMetricData", () =>
      ecs.ports.cloudWatch.getMetricData({
        ...input,
        ...(nextToken === undefined ? {} : { NextToken: nextToken }),
      }),
    );
    results.push(...(output.MetricDataResults ?? []));
    nextToken = output.NextToken === "" ? undefined : output.NextToken;
    if (nextToken === undefined) break;
  }
  return results;
}

/** The resource part of an ARN (after its fifth colon): `targetgroup/axon-x/0123`, `loadbalancer/app/axon/0123`. */
function arnResource(arn: string): string {
  return arn.split(":").slice(5).join(":");
}

async function readMinutes(
  ecs: EcsApiDeps,
  groups: string[],
  start: number,
  end: number,
): Promise<{ minutes: AwsApiMetricsMinute[]; unavailable?: string }> {
  const empty = emptyMinutes(start, end);
  if (groups.length === 0) return { minutes: empty };
  let results: MetricDataResult[];
  try {
    results = await getAllMetricData(ecs, {
      MetricDataQueries: metricQueries(ecs.refs.loadBalancerArn, groups),
      StartTime: new Date(start),
      EndTime: new Date(end),
      ScanBy: "TimestampAscending",
    });
  } catch (error) {
    // An identity may run ECS without reading CloudWatch: the live view keeps drawing the
    // replicas and says why the traffic is missing. Anything else fails the redraw.
    if (error instanceof DomainError && error.code === AWS_ACCESS_DENIED) {
      return { minutes: [], unavailable: error.message };
    }
    throw error;
  }
  return { minutes: foldMinutes(empty, results) };
}

function emptyMinutes(start: number, end: number): AwsApiMetricsMinute[] {
  const minutes: AwsApiMetricsMinute[] = [];
  for (let at = start; at < end; at += MINUTE_MS) {
    minutes.push({
      at: new Date(at).toISOString(),
      requests: 0,
      requestsPerSecond: 0,
      errors5xx: 0,
      errorRate: null,
      p99Ms: null,
    });
  }
  return minutes;
}

/** Adds each result's datapoints into its minute: sums for counts, the largest p99. */
export function foldMinutes(
  minutes: AwsApiMetricsMinute[],
  results: MetricDataResult[],
): AwsApiMetricsMinute[] {
  const byStart = new Map(minutes.map((minute) => [Date.parse(minute.at), minute]));
  for (const result of results) {
    const kind = (result.Id ?? "").charAt(0);
    const timestamps = result.Timestamps ?? [];
    const values = result.Values ?? [];
    timestamps.forEach((timestamp, index) => {
      const value = values[index];
      const minute = byStart.get(Math.floor(timestamp.getTime() / MINUTE_MS) * MINUTE_MS);
      if (minute === undefined || value === undefined || !Number.isFinite(value)) return;
      if (kind === "r") minute.requests += value;
      else if (kind === "e") minute.errors5xx += value;
      else if (kind === "p") minute.p99Ms = Math.max(minute.p99Ms ?? 0, value * 1000);
    });
  }
  for (const minute of minutes) {
    minute.requestsPerSecond = round3(minute.requests / PERIOD_SECONDS);
    minute.errorRate = minute.requests === 0 ? null : round3(minute.errors5xx / minute.requests);
    if (minute.requests === 0) minute.p99Ms = null;
    else if (minute.p99Ms !== null) minute.p99Ms = round3(minute.p99Ms);
  }
  return minutes;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
