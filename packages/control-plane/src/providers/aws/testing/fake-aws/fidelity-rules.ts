/**
 * Rules R21–R25 of RULES.md (beside this file): what AWS refuses in the GetMetricData, weighted
 * forward, paged listing, S3 object and Route 53 alias inputs Axon sends, as pure checks the fake
 * calls. Each returns why AWS refuses the input, or undefined when AWS accepts it.
 */
import type { GetMetricDataCommandInput } from "@aws-sdk/client-cloudwatch";
import type { Action } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { PutObjectCommandInput } from "@aws-sdk/client-s3";

/** R21: at most this many MetricDataQueries in one GetMetricData call. */
export const MAX_METRIC_QUERIES = 500;
/** R21: a query's Id. */
const METRIC_ID = /^[a-z][a-zA-Z0-9_]*$/;
/** R21: the periods shorter than a minute CloudWatch accepts (high-resolution metrics). */
const SUB_MINUTE_PERIODS = new Set([1, 5, 10, 20, 30]);

/** R21: why GetMetricData refuses `input`. */
export function metricDataRefusal(input: GetMetricDataCommandInput): string | undefined {
  const queries = input.MetricDataQueries ?? [];
  if (queries.length === 0) return "MetricDataQueries is required";
  if (queries.length > MAX_METRIC_QUERIES) {
    return `The collection MetricDataQueries must not have a size greater than ${MAX_METRIC_QUERIES}.`;
  }
  const ids = new Set<string>();
  for (const query of queries) {
    const id = query.Id ?? "";
    if (!METRIC_ID.test(id)) {
      return `Invalid metric data query id '${id}': the first character must be a lowercase letter, the rest letters, numbers and underscores`;
    }
    if (ids.has(id)) return `The value ${id} for field Id must be unique.`;
    ids.add(id);
    const period = query.MetricStat?.Period ?? query.Period;
    if (query.MetricStat !== undefined && period === undefined) {
      return `The parameter MetricStat.Period is required for ${id}`;
    }
    if (
      period !== undefined &&
      !SUB_MINUTE_PERIODS.has(period) &&
      !(period > 0 && period % 60 === 0)
    ) {
      return `The parameter Period of ${id} must be 1, 5, 10, 20, 30, 60 or a multiple of 60 (got ${period})`;
    }
  }
  const start = input.StartTime?.getTime();
  const end = input.EndTime?.getTime();
  if (start === undefined || end === undefined) return "StartTime and EndTime are required";
  if (!(start < end)) return "The parameter StartTime must be less than the parameter EndTime.";
  return undefined;
}

/** R22: target groups in one forward action on an Application Load Balancer (a fixed quota). */
export const MAX_TARGET_GROUPS_PER_ACTION = 5;
/** R22: a weighted target group's weight. */
export const MAX_TARGET_GROUP_WEIGHT = 999;
/** R22: a listener rule's priority. */
export const MAX_RULE_PRIORITY = 50_000;

/** R22: why CreateRule / ModifyRule refuses this priority (CreateRule only) and these actions. */
export function ruleRefusal(priority: number | undefined, actions: Action[]): string | undefined {
  if (
    priority !== undefined &&
    !(Number.isInteger(priority) && priority >= 1 && priority <= MAX_RULE_PRIORITY)
  ) {
    return `Priority '${priority}' must be between 1 and ${MAX_RULE_PRIORITY}`;
  }
  for (const action of actions) {
    const groups = action.ForwardConfig?.TargetGroups ?? [];
    if (groups.length > MAX_TARGET_GROUPS_PER_ACTION) {
      return `A forward action can have at most ${MAX_TARGET_GROUPS_PER_ACTION} target groups (got ${groups.length})`;
    }
    for (const group of groups) {
      const weight = group.Weight;
      if (
        weight !== undefined &&
        !(Number.isInteger(weight) && weight >= 0 && weight <= MAX_TARGET_GROUP_WEIGHT)
      ) {
        return `Target group weight '${weight}' must be between 0 and ${MAX_TARGET_GROUP_WEIGHT}`;
      }
    }
    const duration = action.ForwardConfig?.TargetGroupStickinessConfig?.DurationSeconds;
    if (duration !== undefined && !(duration >= 1 && duration <= 604_800)) {
      return `Target group stickiness duration '${duration}' must be between 1 and 604800 seconds`;
    }
  }
  return undefined;
}

/** R23: ListTaskDefinitions' and ListTaskDefinitionFamilies' page size. */
export const MAX_LIST_RESULTS = 100;

/** R23: why a List call refuses `maxResults`. */
export function maxResultsRefusal(maxResults: number | undefined): string | undefined {
  if (maxResults === undefined) return undefined;
  if (!(Number.isInteger(maxResults) && maxResults >= 1 && maxResults <= MAX_LIST_RESULTS)) {
    return `maxResults must be between 1 and ${MAX_LIST_RESULTS} (got ${maxResults})`;
  }
  return undefined;
}

/** R24: an object key's UTF-8 length, and user-defined metadata's (keys plus values). */
export const MAX_KEY_BYTES = 1024;
export const MAX_METADATA_BYTES = 2 * 1024;

/** R24: S3's error code and message for a PutObject it refuses. */
export function putObjectRefusal(
  input: PutObjectCommandInput,
): { code: string; message: string } | undefined {
  const utf8 = (text: string) => Buffer.byteLength(text, "utf8");
  if (utf8(input.Key ?? "") > MAX_KEY_BYTES) {
    return { code: "KeyTooLongError", message: "Your key is too long" };
  }
  const metadata = Object.entries(input.Metadata ?? {}).reduce(
    (sum, [key, value]) => sum + utf8(key) + utf8(value),
    0,
  );
  if (metadata > MAX_METADATA_BYTES) {
    return {
      code: "MetadataTooLarge",
      message: "Your metadata headers exceed the maximum allowed metadata size.",
    };
  }
  return undefined;
}

/**
 * R25: why Route 53 (through CloudFormation) refuses an `AWS::Route53::RecordSet` alias to the
 * load balancer: the alias's HostedZoneId must be the load balancer's own (its
 * CanonicalHostedZoneID), not the record's zone, EvaluateTargetHealth is required, and DNSName is
 * the load balancer's.
 */
export function aliasRecordRefusal(properties: Record<string, unknown>): string | undefined {
  const alias = properties["AliasTarget"] as Record<string, unknown> | undefined;
  if (alias === undefined) return undefined;
  if (typeof alias["EvaluateTargetHealth"] !== "boolean") {
    return "AliasTarget.EvaluateTargetHealth is required";
  }
  if (alias["DNSName"] === undefined) return "AliasTarget.DNSName is required";
  const zone = alias["HostedZoneId"];
  if (zone === undefined) return "AliasTarget.HostedZoneId is required";
  if (JSON.stringify(zone) === JSON.stringify(properties["HostedZoneId"])) {
    return "Tried to create an alias that targets the record's own hosted zone: AliasTarget.HostedZoneId must be the load balancer's canonical hosted zone ID";
  }
  // In a template the load balancer's zone is `Fn::GetAtt: [<LoadBalancer>, CanonicalHostedZoneID]`.
  const getAtt =
    typeof zone === "object" && zone !== null
      ? (zone as Record<string, unknown>)["Fn::GetAtt"]
      : undefined;
  if (
    typeof zone !== "string" &&
    !(Array.isArray(getAtt) && getAtt[1] === "CanonicalHostedZoneID")
  ) {
    return "AliasTarget.HostedZoneId must be the load balancer's CanonicalHostedZoneID";
  }
  return undefined;
}
