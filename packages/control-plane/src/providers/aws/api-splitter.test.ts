/**
 * A TrafficSplitter on a real moto server: the listener rule it makes is described back with the
 * APIs' target groups and weights, a redeploy of an API it uses leaves it alone, a weight change
 * replaces it, and an unchanged one makes no mutating call.
 */
import { readFileSync } from "node:fs";
import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { parseApiConfig, type ApiSpec, type TrafficSplitterSpec } from "@axon/config";
import { afterAll, describe, expect, it } from "vitest";
import { deployApiResources } from "./api-deploy.js";
import { SPLITTER_PRIORITY_FLOOR, targetGroupName, type EcsApiDeps } from "./api-names.js";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { findTargetGroupArn } from "./api-deploy.js";
import { metricQueries } from "./api-metrics.js";
import {
  applyAwsSplitter,
  awsSplitters,
  deleteAwsSplitter,
  describeAwsSplitters,
} from "./api-splitter.js";
import { createMotoCluster, type MotoCluster } from "./testing/moto-cluster.js";
import { motoAvailable, startMoto, type MotoServer } from "./testing/moto-server.js";

const HAS_MOTO = motoAvailable();
let moto: MotoServer | undefined;
afterAll(async () => {
  await moto?.stop();
});

const IRIS_YAML = readFileSync(
  new URL("../../../../../examples/iris-sklearn/axon.yaml", import.meta.url),
  "utf8",
);
const MUTATING = /:(Create|Register|Update|Put|Modify|Delete|Deregister|Tag)/;

function exampleSpec(name: string, extra = ""): ApiSpec {
  const yaml = `${IRIS_YAML.replace("name: iris-classifier", `name: ${name}`).trimEnd()}\n${extra}`;
  const [spec] = parseApiConfig(yaml, "axon.yaml").apis;
  if (spec === undefined) throw new Error("the example has no API");
  return spec;
}

function splitter(a: number): TrafficSplitterSpec {
  return {
    name: "iris",
    kind: "TrafficSplitter",
    endpoint: "/iris",
    apis: [
      { name: "iris-a", weight: a },
      { name: "iris-b", weight: 100 - a },
    ],
  };
}

async function clusterWithTwoApis(): Promise<{ cluster: MotoCluster; deps: EcsApiDeps }> {
  moto ??= await startMoto();
  await moto.reset();
  const cluster = await createMotoCluster(moto);
  const deps: EcsApiDeps = {
    ports: cluster.ports,
    refs: cluster.refs,
    target: cluster.ports.target,
    signal: new AbortController().signal,
    pollMs: 20,
  };
  for (const name of ["iris-a", "iris-b"]) await deployApiResources(deps, request(name));
  return { cluster, deps };
}

function request(name: string, extra = "") {
  return {
    spec: exampleSpec(name, extra),
    bundleSha256: "a".repeat(64),
    readBundle: () => Promise.resolve(new Uint8Array(1024)),
    configFile: "axon.yaml",
  };
}

/** The listener's rules for `/iris`, as a plain SDK client describes them. */
async function irisRules(cluster: MotoCluster) {
  const server = moto;
  if (server === undefined) throw new Error("moto is not running");
  const elb = new ElasticLoadBalancingV2Client({
    region: "us-east-1",
    endpoint: server.url,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    maxAttempts: 1,
  });
  const { Rules = [] } = await elb.send(
    new DescribeRulesCommand({ ListenerArn: cluster.refs.listenerArn }),
  );
  return Rules.filter((rule) =>
    (rule.Conditions ?? []).some((c) => (c.PathPatternConfig?.Values ?? []).includes("/iris")),
  );
}

describe.skipIf(!HAS_MOTO)("TrafficSplitter on ECS (moto)", () => {
  it("Given two APIs on the cluster, When a 70/30 splitter is applied, Then one rule forwards /iris to their target groups with those weights", async () => {
    // Given
    const { cluster, deps } = await clusterWithTwoApis();
    // When
    expect(await applyAwsSplitter(deps, splitter(70))).toBe("created");
    // Then the rule, described back, forwards to each API's target group with its weight
    const rules = await irisRules(cluster);
    expect(rules).toHaveLength(1);
    expect(Number(rules[0]?.Priority)).toBeGreaterThanOrEqual(SPLITTER_PRIORITY_FLOOR);
    const groups = rules[0]?.Actions?.[0]?.ForwardConfig?.TargetGroups ?? [];
    const groupName = (arn: string | undefined): string => arn?.split("/").at(-2) ?? "";
    expect(groups.map((g) => [groupName(g.TargetGroupArn), g.Weight])).toEqual([
      [targetGroupName(cluster.refs.clusterName, "iris-a"), 70],
      [targetGroupName(cluster.refs.clusterName, "iris-b"), 30],
    ]);
    // And the splitter is read back from the account alone
    expect(await awsSplitters(deps)).toEqual([splitter(70)]);
  });

  it("Given a splitter, When applied unchanged, Then no mutating call is made; When an API it uses is redeployed, Then its rule stays", async () => {
    // Given
    const { cluster, deps } = await clusterWithTwoApis();
    await applyAwsSplitter(deps, splitter(70));
    cluster.calls.length = 0;
    // When applied again unchanged
    expect(await applyAwsSplitter(deps, splitter(70))).toBe("unchanged");
    // Then
    expect(cluster.calls.filter((call) => MUTATING.test(call))).toEqual([]);
    // When iris-a is redeployed with a change (its own rule is re-checked)
    await deployApiResources(deps, request("iris-a", "    env: {V: '2'}"));
    // Then the splitter's rule is still there, unchanged
    expect(await awsSplitters(deps)).toEqual([splitter(70)]);
  });

  it("Given a 70/30 splitter, When its weights become 10/90, Then one rule says 10/90; When deleted, Then no rule is left", async () => {
    const { cluster, deps } = await clusterWithTwoApis();
    await applyAwsSplitter(deps, splitter(70));
    // When
    expect(await applyAwsSplitter(deps, splitter(10))).toBe("updated");
    // Then
    const rules = await irisRules(cluster);
    expect(rules).toHaveLength(1);
    expect(
      (rules[0]?.Actions?.[0]?.ForwardConfig?.TargetGroups ?? []).map((g) => g.Weight),
    ).toEqual([10, 90]);
    // When deleted
    expect(await deleteAwsSplitter(deps, "iris")).toBe(true);
    expect(await irisRules(cluster)).toEqual([]);
    expect(await awsSplitters(deps)).toEqual([]);
  });

  it("Given a splitter naming an API with no target group, When applied, Then it is refused naming the API and nothing is created", async () => {
    const { cluster, deps } = await clusterWithTwoApis();
    const spec: TrafficSplitterSpec = {
      ...splitter(70),
      apis: [
        { name: "iris-a", weight: 70 },
        { name: "iris-c", weight: 30 },
      ],
    };
    await expect(applyAwsSplitter(deps, spec)).rejects.toThrow(
      "traffic splitter iris: api iris-c has no target group on environment prod",
    );
    expect(await irisRules(cluster)).toEqual([]);
  });

  it("Given a 70/30 splitter and its APIs' target groups' counts in CloudWatch, When described, Then each API's share and error rate come from the last hour's RequestCount and HTTPCode_Target_5XX_Count, in one GetMetricData", async () => {
    // Given the load balancer's counts (put under the namespace and dimensions ALB publishes
    // them with): iris-a 140 requests, 7 of them 5xx; iris-b 60; and older ones outside the hour
    const { cluster, deps } = await clusterWithTwoApis();
    await applyAwsSplitter(deps, splitter(70));
    const now = new Date();
    const minute = Math.floor(now.getTime() / 60_000) * 60_000;
    const client = new CloudWatchClient({
      region: "us-east-1",
      endpoint: moto?.url ?? "",
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
      maxAttempts: 1,
    });
    const put = async (api: string, points: Array<[string, number, number]>) => {
      const arn = await findTargetGroupArn(deps, targetGroupName(deps.refs.clusterName, api));
      const [query] = metricQueries(deps.refs.loadBalancerArn, [arn ?? ""]);
      await client.send(
        new PutMetricDataCommand({
          Namespace: "AWS/ApplicationELB",
          MetricData: points.map(([MetricName, at, Value]) => ({
            MetricName,
            Dimensions: query?.MetricStat?.Metric?.Dimensions ?? [],
            Timestamp: new Date(at),
            Value,
          })),
        }),
      );
    };
    await put("iris-a", [
      ["RequestCount", minute - 30 * 60_000, 100],
      ["RequestCount", minute - 5 * 60_000, 40],
      ["HTTPCode_Target_5XX_Count", minute - 5 * 60_000, 7],
      ["RequestCount", minute - 90 * 60_000, 1_000],
    ]);
    await put("iris-b", [["RequestCount", minute - 10 * 60_000, 60]]);
    client.destroy();
    cluster.calls.length = 0;

    // When
    const [described] = await describeAwsSplitters(deps, now);

    // Then
    expect(described?.apis).toEqual([
      { name: "iris-a", weight: 70, requests: 140, share: 0.7, errorRate: 0.05 },
      { name: "iris-b", weight: 30, requests: 60, share: 0.3, errorRate: 0 },
    ]);
    expect(described?.window).toMatch(
      /^the last 60 minutes, every request each api's target group received/,
    );
    expect(cluster.calls.filter((call) => call === "cloudwatch:GetMetricData")).toHaveLength(1);
  });
});
