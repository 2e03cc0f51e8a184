/**
 * What one API costs on ECS (issue 30), as `get` shows it: Fargate vCPU-hours and GB-hours of its
 * running tasks, the Spot share priced as Spot, plus its share of the environment's load balancer,
 * and per 1,000 predictions from the last hour's request count. Pure arithmetic over
 * `AWS_PRICES` (aws-prices.ts, dated, one region): every figure carries its unit and the prices'
 * date, region and the Spot assumption, so the number is never shown without what it rests on.
 */
import type { AwsApiCost } from "../../contract/index.js";
import { AWS_PRICES } from "./aws-prices.js";

/** One entry of a capacity provider strategy (ECS's `CapacityProviderStrategyItem`). */
export interface StrategyItem {
  capacityProvider: string;
  weight?: number;
  base?: number;
}

/**
 * How `running` tasks split between FARGATE and FARGATE_SPOT under `strategy`: `base` tasks go to
 * their provider first, the rest by `weight` — "base: how many tasks, at a minimum, should use the
 * specified capacity provider"; "weight: the relative percentage of the total number of tasks
 * launched that should use the specified capacity provider … after the base value, if defined, is
 * satisfied" (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html).
 * The split is the strategy's intent; Spot capacity that AWS cannot supply makes it approximate.
 * An empty strategy places every task on FARGATE.
 */
export function splitBySpot(
  running: number,
  strategy: readonly StrategyItem[],
): { onDemand: number; spot: number } {
  if (strategy.length === 0 || running <= 0) return { onDemand: Math.max(0, running), spot: 0 };
  const isSpot = (item: StrategyItem): boolean => item.capacityProvider === "FARGATE_SPOT";
  let left = running;
  let spot = 0;
  for (const item of strategy) {
    const base = Math.min(left, item.base ?? 0);
    if (isSpot(item)) spot += base;
    left -= base;
  }
  const totalWeight = strategy.reduce((sum, item) => sum + (item.weight ?? 0), 0);
  if (left > 0 && totalWeight > 0) {
    const spotWeight = strategy.filter(isSpot).reduce((sum, item) => sum + (item.weight ?? 0), 0);
    spot += Math.round((left * spotWeight) / totalWeight);
  }
  return { onDemand: running - spot, spot };
}

export interface ApiCostInput {
  /** The Fargate task size of each replica. */
  vcpu: number;
  memoryGb: number;
  /** Tasks running now. */
  running: number;
  /** The capacity provider strategy the service's tasks are placed by. */
  strategy: readonly StrategyItem[];
  /** APIs of the environment: the load balancer's idle floor is shared equally among them. */
  apisOnLoadBalancer: number;
  /** Requests the load balancer counted for the API in the last hour (undefined: not read). */
  requestsLastHour?: number;
  /** The environment's region (prices are `AWS_PRICES.region`'s; another one is said). */
  region: string;
}

/** The API's cost per hour now, and per 1,000 predictions at the last hour's traffic. */
export function estimateApiCost(input: ApiCostInput): AwsApiCost {
  const prices = AWS_PRICES;
  const { onDemand, spot } = splitBySpot(input.running, input.strategy);
  const taskHour = input.vcpu * prices.fargateVcpuHour + input.memoryGb * prices.fargateGbHour;
  const fargateOnDemand = onDemand * taskHour;
  const fargateSpot = spot * taskHour * prices.fargateSpotFraction;
  const loadBalancerShare =
    (prices.albHour + prices.albLcuHour) / Math.max(1, input.apisOnLoadBalancer);
  const perHour = fargateOnDemand + fargateSpot + loadBalancerShare;
  const requests = input.requestsLastHour;
  return {
    engine: "ecs",
    perHour: { usd: round(perHour), unit: "USD/hour" },
    breakdown: {
      fargateOnDemand: { usd: round(fargateOnDemand), unit: "USD/hour" },
      fargateSpot: { usd: round(fargateSpot), unit: "USD/hour" },
      loadBalancerShare: { usd: round(loadBalancerShare), unit: "USD/hour" },
    },
    tasks: { onDemand, spot, vcpu: input.vcpu, memoryGb: input.memoryGb },
    ...(requests === undefined
      ? {}
      : {
          requestsLastHour: requests,
          // No traffic in the hour: a price per prediction would divide by zero, so none is said.
          ...(requests > 0
            ? {
                perThousandPredictions: { usd: round((perHour * 1000) / requests), unit: "USD/1k" },
              }
            : {}),
        }),
    prices: {
      region: prices.region,
      asOf: prices.asOf,
      note:
        input.region === prices.region
          ? prices.note
          : `${prices.region} prices (${prices.asOf}); ${input.region} is typically 10–30% higher`,
      spot: `Spot priced at ${prices.fargateSpotFraction * 100}% of on-demand (${prices.fargateSpotDiscount}; the real Spot price varies)`,
      loadBalancer: `the load balancer's idle floor ($${prices.albHour}/h + one LCU-hour) shared by the environment's ${Math.max(1, input.apisOnLoadBalancer)} API(s)`,
    },
  };
}

/** Dollars to 6 decimals: a 0.25 vCPU task costs about a cent an hour. */
function round(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}
