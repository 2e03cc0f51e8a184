/**
 * Reads what `estimateApiCost` (providers/aws/api-costs.ts) needs for `get` on an AWS environment:
 * the cluster's default capacity provider strategy (the services set none of their own, so it
 * places every API's tasks), how many APIs share the load balancer, and — for one API — the last
 * hour's request count from the load balancer (`readAwsApiMetrics`, CloudWatch RequestCount).
 */
import type { ApiSpec } from "@axon/config";
import type { AwsApiCost, ReplicaCounts } from "../contract/index.js";
import type { EcsApiDeps } from "../providers/aws/api-names.js";
import type { StrategyItem } from "../providers/aws/api-costs.js";

/**
 * The cluster's default capacity provider strategy: "when you call the CreateService … APIs with no
 * capacity provider strategy or launch type specified, the default capacity provider strategy for
 * the cluster is used" (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PutClusterCapacityProviders.html).
 */
export async function clusterStrategy(ecs: EcsApiDeps): Promise<StrategyItem[]> {
  const { callAws } = await import("../providers/aws/cluster-stack.js");
  const output = await callAws(ecs, "ecs:DescribeClusters", () =>
    ecs.ports.ecs.describeClusters({ clusters: [ecs.refs.clusterName] }),
  );
  return (output.clusters?.[0]?.defaultCapacityProviderStrategy ?? []).flatMap((item) =>
    item.capacityProvider === undefined
      ? []
      : [
          {
            capacityProvider: item.capacityProvider,
            ...(item.weight === undefined ? {} : { weight: item.weight }),
            ...(item.base === undefined ? {} : { base: item.base }),
          },
        ],
  );
}

export interface CostContext {
  strategy: StrategyItem[];
  apisOnLoadBalancer: number;
  region: string;
}

/** What the API costs now; `name` set: with $/1k predictions from the last hour's requests. */
export async function awsApiCost(
  ecs: EcsApiDeps,
  context: CostContext,
  spec: ApiSpec,
  replicas: ReplicaCounts,
  options: { name?: string; now?: Date } = {},
): Promise<AwsApiCost> {
  const { fargateSize } = await import("../providers/aws/api-task-definition.js");
  const { estimateApiCost } = await import("../providers/aws/api-costs.js");
  const size = fargateSize(spec);
  let requestsLastHour: number | undefined;
  if (options.name !== undefined) {
    const { readAwsApiMetrics } = await import("../providers/aws/api-metrics.js");
    const metrics = await readAwsApiMetrics(ecs, options.name, {
      now: options.now ?? new Date(),
      minutes: 60,
    });
    // Metrics denied to this identity: the hourly cost stands, the per-prediction one is not said.
    if (metrics.metricsUnavailable === undefined) {
      requestsLastHour = metrics.minutes.reduce((sum, minute) => sum + minute.requests, 0);
    }
  }
  return estimateApiCost({
    vcpu: size.cpu / 1024,
    memoryGb: size.memory / 1024,
    // Every running task is billed, the old deployment's during a roll too.
    running: replicas.upToDate + replicas.stale,
    strategy: context.strategy,
    apisOnLoadBalancer: context.apisOnLoadBalancer,
    region: context.region,
    ...(requestsLastHour === undefined ? {} : { requestsLastHour }),
  });
}
