/**
 * An API's live metrics on a real moto server (shared/reference/moto.md): the API is deployed and
 * scaled by the real deploy code, the load balancer's datapoints are put into moto's CloudWatch
 * with PutMetricData under the namespace and dimensions ALB publishes them with, and read back
 * through `readAwsApiMetrics` in one GetMetricData. moto computes no percentile statistics (its
 * GetMetricData knows Sum, Average, Minimum, Maximum and SampleCount only), so p99 is checked on the
 * fold of GetMetricData results below, as AWS answers them.
 */
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { afterAll, describe, expect, it } from "vitest";
import { apiSpec } from "../../testing/specs.js";
import { deployApiResources, findTargetGroupArn } from "./api-deploy.js";
import {
  foldMinutes,
  metricQueries,
  readAwsApiMetrics,
  type AwsApiMetricsMinute,
} from "./api-metrics.js";
import { targetGroupName, type EcsApiDeps } from "./api-names.js";
import { applyApiScaling } from "./api-scaling.js";
import { createMotoCluster, type MotoCluster } from "./testing/moto-cluster.js";
import { motoAvailable, startMoto, type MotoServer } from "./testing/moto-server.js";

const HAS_MOTO = motoAvailable();
let moto: MotoServer | undefined;
afterAll(async () => {
  await moto?.stop();
});

const MINUTE = 60_000;

async function freshCluster(): Promise<{ cluster: MotoCluster; deps: EcsApiDeps }> {
  moto ??= await startMoto({ MOTO_ECS_SERVICE_RUNNING: "1" });
  await moto.reset();
  const cluster = await createMotoCluster(moto);
  return {
    cluster,
    deps: {
      ports: cluster.ports,
      refs: cluster.refs,
      target: cluster.ports.target,
      signal: new AbortController().signal,
      pollMs: 20,
    },
  };
}

/** Deploys and scales `name` as `deploy --env` does; returns its target group's ARN. */
async function deployed(deps: EcsApiDeps, name: string): Promise<string> {
  const spec = apiSpec(name, "  autoscaling:\n    min_replicas: 1\n    max_replicas: 4\n");
  await deployApiResources(deps, {
    spec,
    bundleSha256: "a".repeat(64),
    readBundle: () => Promise.resolve(new Uint8Array(1024)),
    configFile: "axon.yaml",
  });
  await applyApiScaling(deps, spec);
  return (await findTargetGroupArn(deps, targetGroupName(deps.refs.clusterName, name))) ?? "";
}

/** Puts ALB datapoints for one target group: `[metric, time, value]`. */
async function putAlbData(
  deps: EcsApiDeps,
  groupArn: string,
  points: Array<[string, number, number]>,
): Promise<void> {
  const client = new CloudWatchClient({
    region: "us-east-1",
    endpoint: moto?.url ?? "",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    maxAttempts: 1,
  });
  const [query] = metricQueries(deps.refs.loadBalancerArn, [groupArn]);
  const dimensions = query?.MetricStat?.Metric?.Dimensions ?? [];
  await client.send(
    new PutMetricDataCommand({
      Namespace: "AWS/ApplicationELB",
      MetricData: points.map(([MetricName, at, Value]) => ({
        MetricName,
        Dimensions: dimensions,
        Timestamp: new Date(at),
        Value,
      })),
    }),
  );
  client.destroy();
}

describe.skipIf(!HAS_MOTO)(
  "an API's live metrics on ECS (skipped when python3 has no moto)",
  () => {
    it("Given iris and another API with ALB datapoints in moto's CloudWatch, When the last 5 minutes are read, Then each minute has iris's requests/s and 5xx rate, summed within the minute, quiet minutes are zeros, the minute in progress is left out, and it took 3 calls", async () => {
      // Given
      const { deps, cluster } = await freshCluster();
      const iris = await deployed(deps, "iris");
      const other = await deployed(deps, "other");
      const now = new Date();
      const thisMinute = Math.floor(now.getTime() / MINUTE) * MINUTE;
      await putAlbData(deps, iris, [
        ["RequestCount", thisMinute - 4 * MINUTE + 5_000, 60],
        ["RequestCount", thisMinute - 4 * MINUTE + 35_000, 60],
        ["HTTPCode_Target_5XX_Count", thisMinute - 4 * MINUTE + 35_000, 6],
        ["RequestCount", thisMinute - 2 * MINUTE + 1_000, 30],
        // The minute in progress: partial, left out.
        ["RequestCount", thisMinute + 1, 999],
      ]);
      await putAlbData(deps, other, [["RequestCount", thisMinute - 4 * MINUTE + 5_000, 500]]);
      cluster.calls.length = 0;
      // When
      const metrics = await readAwsApiMetrics(deps, "iris", { now, minutes: 5 });
      // Then
      expect(
        metrics.minutes.map((m) => [m.at, m.requests, m.requestsPerSecond, m.errorRate]),
      ).toEqual([
        [new Date(thisMinute - 5 * MINUTE).toISOString(), 0, 0, null],
        [new Date(thisMinute - 4 * MINUTE).toISOString(), 120, 2, 0.05],
        [new Date(thisMinute - 3 * MINUTE).toISOString(), 0, 0, null],
        [new Date(thisMinute - 2 * MINUTE).toISOString(), 30, 0.5, 0],
        [new Date(thisMinute - 1 * MINUTE).toISOString(), 0, 0, null],
      ]);
      expect(metrics.replicas).toEqual({ desired: 1, running: 1, pending: 0 });
      expect(metrics.scaling).toEqual({ min: 1, max: 4 });
      expect(metrics.metricsUnavailable).toBeUndefined();
      expect([...cluster.calls].sort()).toEqual([
        "application-autoscaling:DescribeScalableTargets",
        "cloudwatch:GetMetricData",
        "ecs:DescribeServices",
      ]);
    });

    it("Given an identity AWS denies cloudwatch:GetMetricData, When the metrics are read, Then the replicas are still there and the denial is said instead of the minutes", async () => {
      // Given: moto grants everything, so the denial comes from a hand-written CloudWatch port that
      // rejects the way the SDK does (an error named AccessDeniedException); ECS and AAS are moto's.
      const { deps } = await freshCluster();
      await deployed(deps, "iris");
      const denied = Object.assign(
        new Error("User is not authorized to perform cloudwatch:GetMetricData"),
        {
          name: "AccessDeniedException",
        },
      );
      const ports = {
        ...deps.ports,
        cloudWatch: { ...deps.ports.cloudWatch, getMetricData: () => Promise.reject(denied) },
      };
      // When
      const metrics = await readAwsApiMetrics({ ...deps, ports }, "iris", {
        now: new Date(),
        minutes: 3,
      });
      // Then
      expect(metrics.minutes).toEqual([]);
      expect(metrics.replicas.desired).toBe(1);
      expect(metrics.metricsUnavailable).toMatch(
        /^AWS denied cloudwatch:GetMetricData \(access keys from the environment, region us-east-1\): User is not authorized/,
      );
    });

    it("Given no API named nope, When its metrics are read, Then the answer is api.not_found", async () => {
      const { deps } = await freshCluster();
      await expect(
        readAwsApiMetrics(deps, "nope", { now: new Date(), minutes: 5 }),
      ).rejects.toMatchObject({ code: "api.not_found", status: 404 });
    });
  },
);

describe("the GetMetricData queries and their fold", () => {
  const LB =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/axon-demo/50dc6c495c0c9188";
  const TG1 =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/axon-a/73e2d6bc24d8a067";
  const TG2 =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/axon-b/0123456789abcdef";

  it("Given a canary API's two target groups, When the queries are built, Then there are 3 per group with ALB's dimension forms", () => {
    const queries = metricQueries(LB, [TG1, TG2]);
    expect(
      queries.map((q) => [q.Id, q.MetricStat?.Metric?.MetricName, q.MetricStat?.Stat]),
    ).toEqual([
      ["r0", "RequestCount", "Sum"],
      ["e0", "HTTPCode_Target_5XX_Count", "Sum"],
      ["p0", "TargetResponseTime", "p99"],
      ["r1", "RequestCount", "Sum"],
      ["e1", "HTTPCode_Target_5XX_Count", "Sum"],
      ["p1", "TargetResponseTime", "p99"],
    ]);
    expect(queries[4]?.MetricStat?.Metric?.Dimensions).toEqual([
      { Name: "TargetGroup", Value: "targetgroup/axon-b/0123456789abcdef" },
      { Name: "LoadBalancer", Value: "app/axon-demo/50dc6c495c0c9188" },
    ]);
    expect(queries.every((q) => q.MetricStat?.Period === 60)).toBe(true);
  });

  it("Given both groups' datapoints for a minute (AWS's answer shape), When folded, Then requests and errors add up and p99 is the larger one in ms", () => {
    const t0 = Date.UTC(2026, 11, 7, 12, 0, 0);
    const minutes: AwsApiMetricsMinute[] = [0, 1].map((k) => ({
      at: new Date(t0 + k * MINUTE).toISOString(),
      requests: 0,
      requestsPerSecond: 0,
      errors5xx: 0,
      errorRate: null,
      p99Ms: null,
    }));
    const at = [new Date(t0)];
    const folded = foldMinutes(minutes, [
      { Id: "r0", Timestamps: at, Values: [90] },
      { Id: "r1", Timestamps: at, Values: [30] },
      { Id: "e1", Timestamps: at, Values: [3] },
      { Id: "p0", Timestamps: at, Values: [0.0421] },
      { Id: "p1", Timestamps: at, Values: [0.2505] },
    ]);
    expect(folded).toEqual([
      {
        at: new Date(t0).toISOString(),
        requests: 120,
        requestsPerSecond: 2,
        errors5xx: 3,
        errorRate: 0.025,
        p99Ms: 250.5,
      },
      {
        at: new Date(t0 + MINUTE).toISOString(),
        requests: 0,
        requestsPerSecond: 0,
        errors5xx: 0,
        errorRate: null,
        p99Ms: null,
      },
    ]);
  });
});
