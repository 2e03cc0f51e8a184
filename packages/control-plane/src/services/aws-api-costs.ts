/**
 * Reads what `estimateApiCost` (providers/aws/api-costs.ts) needs for `get` on an AWS environment:
 * the cluster's default capacity provider strategy (the services set none of their own, so it
 * places every API's tasks), how many APIs share the load balancer, and — for one API — the last
 * hour's request count from the load balancer (`readAwsApiMetrics`, CloudWatch RequestCount).
 */
import type { ApiSpec } from "@axon/config";
import type { AwsApiCost, Money, ReplicaCounts } from "../contract/index.js";
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

/** One API's $/hour before and after a deploy, for `deploy --plan` on ECS. */
export interface PlannedCost {
  api: string;
  before?: Money;
  after: Money;
  prices: string;
}

/**
 * $/hour of each API of a deploy plan now and after it: the same Fargate size × tasks + load
 * balancer share as `get`, at the tasks running now (a new API: `init_replicas`), kept within the
 * new spec's autoscaling limits.
 */
export async function plannedCosts(
  ecs: EcsApiDeps,
  region: string,
  apis: ReadonlyArray<{ spec: ApiSpec; deployedSpec: ApiSpec | undefined }>,
): Promise<PlannedCost[]> {
  const { fargateSize } = await import("../providers/aws/api-task-definition.js");
  const { estimateApiCost } = await import("../providers/aws/api-costs.js");
  const { describeAwsApis, listAwsApiNames } = await import("../providers/aws/api-status.js");
  const names = await listAwsApiNames(ecs);
  const states = names.length === 0 ? [] : await describeAwsApis(ecs, names);
  const running = new Map(states.map((s) => [s.name, s.replicas.upToDate + s.replicas.stale]));
  const strategy = await clusterStrategy(ecs);
  const after = new Set([...names, ...apis.map((api) => api.spec.name)]).size;
  const hourly = (spec: ApiSpec, tasks: number, apisOnLoadBalancer: number): AwsApiCost => {
    const size = fargateSize(spec);
    return estimateApiCost({
      vcpu: size.cpu / 1024,
      memoryGb: size.memory / 1024,
      running: tasks,
      strategy,
      apisOnLoadBalancer,
      region,
    });
  };
  return apis.map(({ spec, deployedSpec }) => {
    const now = running.get(spec.name);
    const { min_replicas: min, max_replicas: max, init_replicas: init } = spec.autoscaling;
    const tasksAfter = now === undefined ? init : Math.min(max, Math.max(min, now));
    const next = hourly(spec, tasksAfter, after);
    return {
      api: spec.name,
      ...(deployedSpec === undefined || now === undefined
        ? {}
        : { before: hourly(deployedSpec, now, Math.max(1, names.length)).perHour }),
      after: next.perHour,
      prices: `at ${tasksAfter} task(s); ${next.prices.note}; ${next.prices.spot}`,
    };
  });
}
