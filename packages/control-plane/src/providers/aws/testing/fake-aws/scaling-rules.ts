/**
 * RULES.md R13 and R14: what CloudWatch's PutMetricAlarm and Application Auto Scaling's
 * PutScalingPolicy (step scaling) refuse, which moto accepts. Each returns the refusal's message,
 * or undefined when AWS would accept the input; fake-aws.ts throws them as `ValidationException`.
 */
import type { PutScalingPolicyCommandInput } from "@aws-sdk/client-application-auto-scaling";
import type { PutMetricAlarmCommandInput } from "@aws-sdk/client-cloudwatch";

/** R13: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html */
export function alarmRefusal(input: PutMetricAlarmCommandInput): string | undefined {
  const metrics = input.Metrics ?? [];
  if (metrics.length > 0) {
    const single = ["Namespace", "MetricName", "Dimensions", "Period", "Statistic"] as const;
    const mixed = single.filter((field) => input[field] !== undefined);
    if (mixed.length > 0) {
      return `Metrics cannot be combined with ${mixed.join(", ")} in the same alarm`;
    }
    const returned = metrics.filter((query) => query.ReturnData !== false);
    if (returned.length !== 1) {
      return `exactly one item of Metrics must have ReturnData true (got ${returned.length})`;
    }
  }
  const periods = [
    input.Period,
    ...metrics.map((query) => query.MetricStat?.Period ?? query.Period),
  ].filter((period): period is number => period !== undefined);
  const evaluations = input.EvaluationPeriods ?? 0;
  for (const period of periods) {
    if (![10, 20, 30].includes(period) && (period <= 0 || period % 60 !== 0)) {
      return `Period ${period} is not valid: 10, 20, 30 or a multiple of 60`;
    }
    const limit = period < 3600 ? 86_400 : 604_800;
    if (period * evaluations > limit) {
      return `Period ${period} × EvaluationPeriods ${evaluations} is more than ${limit} seconds`;
    }
  }
  if (evaluations < 1) return "EvaluationPeriods must be at least 1";
  const datapoints = input.DatapointsToAlarm;
  if (datapoints !== undefined && (datapoints < 1 || datapoints > evaluations)) {
    return `DatapointsToAlarm ${datapoints} must be 1 to EvaluationPeriods (${evaluations})`;
  }
  const missing = input.TreatMissingData;
  if (
    missing !== undefined &&
    !["breaching", "notBreaching", "ignore", "missing"].includes(missing)
  ) {
    return `TreatMissingData ${missing} is not one of breaching, notBreaching, ignore, missing`;
  }
  return undefined;
}

/** R14: https://docs.aws.amazon.com/autoscaling/application/APIReference/API_StepAdjustment.html */
export function stepPolicyRefusal(input: PutScalingPolicyCommandInput): string | undefined {
  if (input.PolicyType !== "StepScaling") return undefined;
  const config = input.StepScalingPolicyConfiguration;
  const steps = config?.StepAdjustments ?? [];
  if (steps.length === 0) return "a step scaling policy needs at least one step adjustment";
  const intervals = steps.map((step) => ({
    lower: step.MetricIntervalLowerBound ?? Number.NEGATIVE_INFINITY,
    upper: step.MetricIntervalUpperBound ?? Number.POSITIVE_INFINITY,
    adjustment: step.ScalingAdjustment ?? 0,
  }));
  if (
    intervals.some(
      (i) => i.lower === Number.NEGATIVE_INFINITY && i.upper === Number.POSITIVE_INFINITY,
    )
  ) {
    return "the upper and lower bound can't be null in the same step adjustment";
  }
  if (intervals.filter((i) => i.lower === Number.NEGATIVE_INFINITY).length > 1) {
    return "at most one step adjustment can have a null lower bound";
  }
  if (intervals.filter((i) => i.upper === Number.POSITIVE_INFINITY).length > 1) {
    return "at most one step adjustment can have a null upper bound";
  }
  if (intervals.some((i) => i.lower >= i.upper)) {
    return "a step adjustment's lower bound must be below its upper bound";
  }
  const sorted = [...intervals].sort((a, b) => a.lower - b.lower);
  for (let index = 1; index < sorted.length; index++) {
    const previous = sorted[index - 1];
    const current = sorted[index];
    if (previous === undefined || current === undefined) continue;
    if (previous.upper !== current.lower) {
      return "the ranges of the step adjustments can't overlap or have a gap";
    }
  }
  const first = sorted[0];
  const last = sorted.at(-1);
  if (first !== undefined && first.lower < 0 && first.lower !== Number.NEGATIVE_INFINITY) {
    return "a negative lower bound needs a step adjustment with a null lower bound";
  }
  if (last !== undefined && last.upper > 0 && last.upper !== Number.POSITIVE_INFINITY) {
    return "a positive upper bound needs a step adjustment with a null upper bound";
  }
  if (config?.AdjustmentType === "ExactCapacity" && intervals.some((i) => i.adjustment < 0)) {
    return "for exact capacity, ScalingAdjustment must be non-negative";
  }
  return undefined;
}
