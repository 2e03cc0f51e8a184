/** RULES.md R13 (alarm periods and ranges) and R14 (step adjustments) through the fake's ports. */
import { describe, expect, test } from "vitest";
import { FakeAws } from "./fake-aws.js";

const alarm = {
  AlarmName: "a",
  Namespace: "AWS/ApplicationELB",
  MetricName: "RequestCount",
  Statistic: "Sum" as const,
  ComparisonOperator: "LessThanThreshold" as const,
  Threshold: 1,
};

const stepPolicy = (
  steps: Array<{ lower?: number; upper?: number; by: number }>,
  exact = false,
) => ({
  PolicyName: "p",
  ServiceNamespace: "ecs" as const,
  ResourceId: "service/c/s",
  ScalableDimension: "ecs:service:DesiredCount" as const,
  PolicyType: "StepScaling" as const,
  StepScalingPolicyConfiguration: {
    AdjustmentType: exact ? ("ExactCapacity" as const) : ("ChangeInCapacity" as const),
    StepAdjustments: steps.map((step) => ({
      ...(step.lower === undefined ? {} : { MetricIntervalLowerBound: step.lower }),
      ...(step.upper === undefined ? {} : { MetricIntervalUpperBound: step.upper }),
      ScalingAdjustment: step.by,
    })),
  },
});

describe("R13: PutMetricAlarm's periods", () => {
  test.each([
    [{ Period: 60, EvaluationPeriods: 1440 }, undefined],
    [
      { Period: 60, EvaluationPeriods: 1441 },
      "Period 60 × EvaluationPeriods 1441 is more than 86400 seconds",
    ],
    [{ Period: 3600, EvaluationPeriods: 168 }, undefined],
    [
      { Period: 3600, EvaluationPeriods: 169 },
      "Period 3600 × EvaluationPeriods 169 is more than 604800 seconds",
    ],
    [
      { Period: 45, EvaluationPeriods: 1 },
      "Period 45 is not valid: 10, 20, 30 or a multiple of 60",
    ],
    [
      { Period: 60, EvaluationPeriods: 3, DatapointsToAlarm: 4 },
      "DatapointsToAlarm 4 must be 1 to EvaluationPeriods (3)",
    ],
  ])("%j → %s", async (fields, refusal) => {
    const { cloudWatch } = new FakeAws().ports();
    const put = cloudWatch.putMetricAlarm({ ...alarm, ...fields });
    if (refusal === undefined) await expect(put).resolves.toBeDefined();
    else await expect(put).rejects.toMatchObject({ name: "ValidationError", message: refusal });
  });

  test("a metric-math alarm returns exactly one series, and its metrics' periods are checked too", async () => {
    const { cloudWatch } = new FakeAws().ports();
    const stat = (id: string, period: number) => ({
      Id: id,
      MetricStat: {
        Metric: { Namespace: "AWS/ApplicationELB", MetricName: "RequestCount" },
        Period: period,
        Stat: "Sum",
      },
      ReturnData: false,
    });
    const base = { AlarmName: "m", ComparisonOperator: "LessThanThreshold" as const, Threshold: 1 };
    await expect(
      cloudWatch.putMetricAlarm({
        ...base,
        EvaluationPeriods: 2000,
        Metrics: [stat("a", 60), { Id: "e", Expression: "a", ReturnData: true }],
      }),
    ).rejects.toMatchObject({
      message: "Period 60 × EvaluationPeriods 2000 is more than 86400 seconds",
    });
    await expect(
      cloudWatch.putMetricAlarm({
        ...base,
        EvaluationPeriods: 1,
        Metrics: [
          { ...stat("a", 60), ReturnData: true },
          { Id: "e", Expression: "a" },
        ],
      }),
    ).rejects.toMatchObject({
      message: "exactly one item of Metrics must have ReturnData true (got 2)",
    });
  });
});

describe("R14: step adjustments", () => {
  test.each([
    [[{ upper: 0, by: 0 }], true, undefined],
    [[{ lower: 0, by: 1 }], false, undefined],
    [
      [
        { lower: 0, upper: 10, by: 1 },
        { lower: 10, by: 3 },
      ],
      false,
      undefined,
    ],
    [[{ by: 1 }], false, "the upper and lower bound can't be null in the same step adjustment"],
    [
      [
        { lower: 0, upper: 10, by: 1 },
        { lower: 20, by: 3 },
      ],
      false,
      "the ranges of the step adjustments can't overlap or have a gap",
    ],
    [
      [{ lower: 0, upper: 10, by: 1 }],
      false,
      "a positive upper bound needs a step adjustment with a null upper bound",
    ],
    [[{ upper: 0, by: -1 }], true, "for exact capacity, ScalingAdjustment must be non-negative"],
  ])("%j (exact %s) → %s", async (steps, exact, refusal) => {
    const { autoScaling } = new FakeAws().ports();
    const put = autoScaling.putScalingPolicy(stepPolicy(steps, exact));
    if (refusal === undefined) await expect(put).resolves.toBeDefined();
    else await expect(put).rejects.toMatchObject({ name: "ValidationException", message: refusal });
  });
});
