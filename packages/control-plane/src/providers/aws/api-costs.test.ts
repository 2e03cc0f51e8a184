import { describe, expect, test } from "vitest";
import { estimateApiCost, splitBySpot } from "./api-costs.js";

/**
 * The prices of shared/reference/aws-prices.md (us-east-1, 2026), written out again here so a
 * change of the data file that does not match the table fails this test.
 */
const VCPU_HOUR = 0.04048;
const GB_HOUR = 0.004445;
const ALB_FLOOR_HOUR = 0.0225 + 0.008;

const onDemandOnly = [{ capacityProvider: "FARGATE", weight: 1 }];

describe("estimateApiCost: Fargate arithmetic against the price table", () => {
  test.each([
    // The reference's worked examples: ≈ $9, $36 and $42 a month for one task around the clock.
    { vcpu: 0.25, memoryGb: 0.5, monthly: 9 },
    { vcpu: 1, memoryGb: 2, monthly: 36 },
    { vcpu: 1, memoryGb: 4, monthly: 42 },
  ])("$vcpu vCPU / $memoryGb GB: vCPU-hours + GB-hours per task", ({ vcpu, memoryGb, monthly }) => {
    // Given two running tasks of that size on FARGATE, alone on the load balancer
    const cost = estimateApiCost({
      vcpu,
      memoryGb,
      running: 2,
      strategy: onDemandOnly,
      apisOnLoadBalancer: 1,
      region: "us-east-1",
    });

    // Then Fargate is 2 × (vCPU × $/vCPU-h + GB × $/GB-h), plus the whole load balancer floor
    const taskHour = vcpu * VCPU_HOUR + memoryGb * GB_HOUR;
    expect(cost.breakdown.fargateOnDemand.usd).toBeCloseTo(2 * taskHour, 6);
    expect(cost.breakdown.fargateSpot.usd).toBe(0);
    expect(cost.breakdown.loadBalancerShare.usd).toBeCloseTo(ALB_FLOOR_HOUR, 6);
    expect(cost.perHour).toEqual({
      usd: expect.closeTo(2 * taskHour + ALB_FLOOR_HOUR, 6),
      unit: "USD/hour",
    });
    // And one task a month is the reference's worked example, to the dollar
    expect(Math.floor(taskHour * 730)).toBe(monthly);
    expect(cost.prices).toMatchObject({ region: "us-east-1", asOf: "2026" });
  });

  test("a Spot mix: base tasks on FARGATE first, the rest by weight, Spot at 30% of on-demand", () => {
    // Given 5 running 1 vCPU / 2 GB tasks, a strategy FARGATE base 1 weight 1 + FARGATE_SPOT weight 3,
    // and three APIs sharing the load balancer
    const strategy = [
      { capacityProvider: "FARGATE", weight: 1, base: 1 },
      { capacityProvider: "FARGATE_SPOT", weight: 3 },
    ];
    const cost = estimateApiCost({
      vcpu: 1,
      memoryGb: 2,
      running: 5,
      strategy,
      apisOnLoadBalancer: 3,
      requestsLastHour: 120_000,
      region: "eu-west-1",
    });

    // Then 1 (base) + 1 (a quarter of the other 4) run on demand and 3 on Spot
    expect(cost.tasks).toEqual({ onDemand: 2, spot: 3, vcpu: 1, memoryGb: 2 });
    const taskHour = VCPU_HOUR + 2 * GB_HOUR;
    const perHour = 2 * taskHour + 3 * taskHour * 0.3 + ALB_FLOOR_HOUR / 3;
    expect(cost.breakdown.fargateSpot.usd).toBeCloseTo(3 * taskHour * 0.3, 6);
    expect(cost.perHour.usd).toBeCloseTo(perHour, 6);
    // And per 1,000 predictions is the hour's cost over the hour's requests
    expect(cost.perThousandPredictions).toEqual({
      usd: expect.closeTo((perHour * 1000) / 120_000, 6),
      unit: "USD/1k",
    });
    // And the figures say which region's prices they are and that Spot is an assumption
    expect(cost.prices.note).toContain("eu-west-1 is typically 10–30% higher");
    expect(cost.prices.spot).toContain("30% of on-demand");
  });

  test("no request in the last hour: no price per prediction", () => {
    const cost = estimateApiCost({
      vcpu: 0.25,
      memoryGb: 0.5,
      running: 1,
      strategy: [],
      apisOnLoadBalancer: 1,
      requestsLastHour: 0,
      region: "us-east-1",
    });
    expect(cost.requestsLastHour).toBe(0);
    expect(cost.perThousandPredictions).toBeUndefined();
  });
});

describe("splitBySpot", () => {
  test("bases are filled before weights, and never beyond the running count", () => {
    const strategy = [
      { capacityProvider: "FARGATE_SPOT", weight: 1, base: 2 },
      { capacityProvider: "FARGATE", weight: 1 },
    ];
    expect(splitBySpot(1, strategy)).toEqual({ onDemand: 0, spot: 1 });
    expect(splitBySpot(6, strategy)).toEqual({ onDemand: 2, spot: 4 });
    expect(splitBySpot(0, strategy)).toEqual({ onDemand: 0, spot: 0 });
    expect(splitBySpot(3, [])).toEqual({ onDemand: 3, spot: 0 });
  });
});
