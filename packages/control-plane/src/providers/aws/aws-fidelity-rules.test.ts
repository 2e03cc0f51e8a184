/**
 * The AWS calls Axon makes whose rules moto does not enforce, against the AWS rules fake's R21–R25
 * (testing/fake-aws/RULES.md): GetMetricData's query limits and paging, ELBv2's weighted forward
 * and rule priorities, ListTaskDefinitions' pages, S3's key and metadata sizes and NoSuchKey, and
 * Route 53's alias to the load balancer. Each block shows the fake refuses what AWS refuses, then
 * drives Axon's own function against it. The fake is a test double: no AWS account is reachable here.
 */
import { readFileSync } from "node:fs";
import { parseApiConfig, parseClusterConfig } from "@axon/config";
import { describe, expect, it } from "vitest";
import { deleteApiResources } from "./api-delete.js";
import { deployApiResources } from "./api-deploy.js";
import { readAwsBaseline, baselineKey } from "./api-baseline.js";
import { apiKeysObjectKey, readApiKeys } from "./api-keys.js";
import {
  MAX_MINUTES,
  metricQueries,
  readAwsApiMetrics,
  readTargetGroupTotals,
} from "./api-metrics.js";
import { SPLITTER_PRIORITY_FLOOR, targetGroupName, type EcsApiDeps } from "./api-names.js";
import { applyAwsSplitter, SPLITTER_TRAFFIC_MINUTES } from "./api-splitter.js";
import { batchApiNames } from "./batch-api.js";
import { jobFailurePrefix, jobRecordKey } from "./batch-names.js";
import { readRecord } from "./batch-records.js";
import { generateClusterTemplate } from "./cluster-template.js";
import { fakeEcsDeps } from "./testing/fake-deps.js";
import { FakeAws } from "./testing/fake-aws/fake-aws.js";
import {
  aliasRecordRefusal,
  MAX_KEY_BYTES,
  MAX_RULE_PRIORITY,
} from "./testing/fake-aws/fidelity-rules.js";

const CLUSTER = "axon-demo";
const MINUTE = 60_000;
const NOW = new Date("2026-03-01T12:00:30Z");

function harness(fake = new FakeAws()): { fake: FakeAws; deps: EcsApiDeps } {
  return { fake, deps: fakeEcsDeps(fake, CLUSTER) };
}

/** The resource part of an ARN, as the TargetGroup dimension names it. */
function dimension(arn: string): string {
  return arn.split(":").slice(5).join(":");
}

async function rejection(promise: Promise<unknown>): Promise<{ name?: string; message?: string }> {
  return promise.then(
    () => ({ name: "resolved" }),
    (error: Error) => ({ name: error.name, message: error.message }),
  );
}

describe("GetMetricData's limits and paging (R21)", () => {
  const query = (id: string, period = 60) => ({
    Id: id,
    MetricStat: {
      Metric: { Namespace: "AWS/ApplicationELB", MetricName: "RequestCount" },
      Period: period,
      Stat: "Sum",
    },
  });
  const window = { StartTime: new Date(NOW.getTime() - MINUTE), EndTime: NOW };

  it("Given 501 queries, a bad or repeated id, a 45 s period, or an empty window, When GetMetricData is called, Then the fake refuses each with ValidationError", async () => {
    // Given
    const cloudWatch = new FakeAws().ports().cloudWatch;
    const many = Array.from({ length: 501 }, (_, i) => query(`q${i}`));
    const bad = [
      { MetricDataQueries: many, ...window },
      { MetricDataQueries: [query("R0")], ...window },
      { MetricDataQueries: [query("0r")], ...window },
      { MetricDataQueries: [query("r0"), query("r0")], ...window },
      { MetricDataQueries: [query("r0", 45)], ...window },
      { MetricDataQueries: [query("r0")], StartTime: NOW, EndTime: NOW },
    ];
    // When
    const names = await Promise.all(bad.map((input) => rejection(cloudWatch.getMetricData(input))));
    // Then
    expect(names.map((n) => n.name)).toEqual(Array(6).fill("ValidationError"));
    expect(
      await cloudWatch.getMetricData({
        MetricDataQueries: [query("r0"), query("p_1", 30)],
        ...window,
      }),
    ).toMatchObject({ MetricDataResults: [{ Id: "r0" }, { Id: "p_1" }] });
  });

  it("Given 100 target groups (an ALB's most) and CloudWatch answering 7 datapoints a page, When a splitter's totals are read, Then the queries pass the limits and every page is summed", async () => {
    // Given
    const fake = new FakeAws({ metricPageSize: 7 });
    const { deps } = harness(fake);
    const groups = Array.from(
      { length: 100 },
      (_, i) => `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-${i}/${i}`,
    );
    const end = Math.floor(NOW.getTime() / MINUTE) * MINUTE;
    const start = end - SPLITTER_TRAFFIC_MINUTES * MINUTE;
    fake.addDatapoints(
      groups.slice(0, 3).flatMap((arn, i) =>
        Array.from({ length: 10 }, (_, m) => [
          {
            metricName: "RequestCount",
            targetGroup: dimension(arn),
            at: new Date(start + m * MINUTE),
            value: i + 1,
          },
          {
            metricName: "HTTPCode_Target_5XX_Count",
            targetGroup: dimension(arn),
            at: new Date(start + m * MINUTE),
            value: 1,
          },
        ]).flat(),
      ),
    );
    // When
    const { totals, unavailable } = await readTargetGroupTotals(deps, groups, start, end);
    // Then: 60 datapoints over 9 pages of 7, every one counted
    expect(unavailable).toBeUndefined();
    expect(fake.metricDataCalls).toHaveLength(9);
    expect(fake.metricDataCalls[0]?.MetricDataQueries).toHaveLength(200);
    expect([0, 1, 2, 3].map((i) => totals.get(groups[i] ?? ""))).toEqual([
      { requests: 10, errors5xx: 10 },
      { requests: 20, errors5xx: 10 },
      { requests: 30, errors5xx: 10 },
      { requests: 0, errors5xx: 0 },
    ]);
  });

  it("Given a deployed API with traffic and CloudWatch answering 2 datapoints a page, When its live metrics are read, Then every minute holds all its datapoints", async () => {
    // Given
    const fake = new FakeAws({ metricPageSize: 2 });
    const { deps } = harness(fake);
    const yaml = readFileSync(
      new URL("../../../../../examples/iris-sklearn/axon.yaml", import.meta.url),
      "utf8",
    );
    const [spec] = parseApiConfig(yaml, "axon.yaml").apis;
    if (spec === undefined) throw new Error("the example has no API");
    await deployApiResources(deps, {
      spec,
      bundleSha256: "d".repeat(64),
      readBundle: () => Promise.resolve(new Uint8Array([1])),
      configFile: "axon.yaml",
    });
    const group = fake
      .targetGroupArns()
      .find((arn) => arn.includes(targetGroupName(CLUSTER, spec.name)));
    if (group === undefined) throw new Error("no target group");
    const end = Math.floor(NOW.getTime() / MINUTE) * MINUTE;
    fake.addDatapoints(
      [3, 2, 1].flatMap((back) => [
        {
          metricName: "RequestCount",
          targetGroup: dimension(group),
          at: new Date(end - back * MINUTE),
          value: 60 * back,
        },
        {
          metricName: "HTTPCode_Target_5XX_Count",
          targetGroup: dimension(group),
          at: new Date(end - back * MINUTE),
          value: back,
        },
        {
          metricName: "TargetResponseTime",
          targetGroup: dimension(group),
          at: new Date(end - back * MINUTE),
          value: 0.05,
        },
      ]),
    );
    // When
    const metrics = await readAwsApiMetrics(deps, spec.name, { now: NOW, minutes: 3 });
    // Then
    expect(fake.metricDataCalls.length).toBeGreaterThan(1);
    expect(metrics.minutes.map((m) => [m.requests, m.errors5xx, m.p99Ms])).toEqual([
      [180, 3, 50],
      [120, 2, 50],
      [60, 1, 50],
    ]);
  });

  it("Given Axon's longest windows, When checked against CloudWatch's retention, Then one-minute periods still hold their data (15 days) and a canary's 6 queries fit", () => {
    // Given / When / Then: 60 s datapoints are kept 15 days; Axon reads at most MAX_MINUTES back.
    expect(MAX_MINUTES * MINUTE).toBeLessThanOrEqual(15 * 24 * 60 * MINUTE);
    expect(SPLITTER_TRAFFIC_MINUTES).toBeLessThanOrEqual(MAX_MINUTES);
    const ids = metricQueries("arn:x:x:x:x:loadbalancer/app/a/1", [
      "arn:x:x:x:x:targetgroup/a/1",
      "arn:x:x:x:x:targetgroup/b/2",
    ]).map((q) => q.Id);
    expect(ids).toEqual(["r0", "e0", "p0", "r1", "e1", "p1"]);
  });
});

describe("ELBv2 weighted forward and rule priorities (R22)", () => {
  const forward = (weights: number[]) => ({
    Type: "forward" as const,
    ForwardConfig: {
      TargetGroups: weights.map((Weight, i) => ({ TargetGroupArn: `arn:tg/${i}`, Weight })),
    },
  });

  it("Given 6 target groups, a weight of 1000, or a priority of 0 or 50001, When a rule is created or modified, Then the fake refuses each with ValidationError", async () => {
    // Given
    const fake = new FakeAws();
    const elb = fake.ports().elb;
    const rule = (Priority: number, weights: number[]) =>
      elb.createRule({
        ListenerArn: fake.listenerArn,
        Priority,
        Conditions: [],
        Actions: [forward(weights)],
      });
    // When
    const refused = await Promise.all([
      rejection(rule(1, [1, 1, 1, 1, 1, 1])),
      rejection(rule(2, [1000])),
      rejection(rule(0, [1])),
      rejection(rule(MAX_RULE_PRIORITY + 1, [1])),
    ]);
    const created = await rule(MAX_RULE_PRIORITY, [999, 0, 0, 0, 0]);
    const modified = await rejection(
      elb.modifyRule({ RuleArn: created.Rules?.[0]?.RuleArn ?? "", Actions: [forward([-1, 1])] }),
    );
    // Then
    expect(refused.map((r) => r.name)).toEqual(Array(4).fill("ValidationError"));
    expect(modified.name).toBe("ValidationError");
  });

  it("Given a splitter of 5 APIs (the most a plan lets through on ECS) with one at weight 0, When it is applied, Then ELBv2's rule accepts it above the splitter floor", async () => {
    // Given
    const { fake, deps } = harness();
    const apis = ["a", "b", "c", "d", "e"].map((name, i) => ({ name, weight: i === 4 ? 0 : 25 }));
    for (const api of apis) {
      await deps.ports.elb.createTargetGroup({ Name: targetGroupName(CLUSTER, api.name) });
    }
    // When
    const outcome = await applyAwsSplitter(deps, {
      name: "ab",
      kind: "TrafficSplitter",
      endpoint: "/ab",
      apis,
    });
    // Then
    expect(outcome).toBe("created");
    const [rule] = fake.listenerRules();
    expect(Number(rule?.Priority)).toBe(SPLITTER_PRIORITY_FLOOR);
    expect(SPLITTER_PRIORITY_FLOOR).toBeLessThanOrEqual(MAX_RULE_PRIORITY);
    expect(rule?.Actions?.[0]?.ForwardConfig?.TargetGroups?.map((g) => g.Weight)).toEqual([
      25, 25, 25, 25, 0,
    ]);
  });
});

describe("ListTaskDefinitions and ListTaskDefinitionFamilies pages (R23)", () => {
  it("Given maxResults 0 or 101, When listed, Then the fake refuses it; Given 250 revisions, Then pages hold at most 100", async () => {
    // Given
    const fake = new FakeAws();
    fake.addTaskDefinitionRevisions(`${CLUSTER}-iris`, 250);
    const ecs = fake.ports().ecs;
    // When
    const refused = await Promise.all([
      rejection(ecs.listTaskDefinitions({ maxResults: 0 })),
      rejection(ecs.listTaskDefinitions({ maxResults: 101 })),
    ]);
    const first = await ecs.listTaskDefinitions({ familyPrefix: `${CLUSTER}-iris` });
    // Then
    expect(refused.map((r) => r.name)).toEqual([
      "InvalidParameterException",
      "InvalidParameterException",
    ]);
    expect(first.taskDefinitionArns).toHaveLength(100);
    expect(first.nextToken).toBeDefined();
  });

  it("Given an API with 250 ACTIVE revisions, When it is deleted, Then every revision is deregistered (Axon follows nextToken)", async () => {
    // Given
    const { fake, deps } = harness();
    const family = `${CLUSTER}-iris`;
    fake.addTaskDefinitionRevisions(family, 250);
    // When
    await deleteApiResources(deps, "iris");
    // Then
    const listCalls = fake.calls.filter((c) => c === "ecs:ListTaskDefinitions");
    expect(listCalls).toHaveLength(3);
    const arn = (revision: number) =>
      `arn:aws:ecs:us-east-1:123456789012:task-definition/${family}:${revision}`;
    expect([1, 100, 101, 250].map((r) => fake.taskDefinitionActive(arn(r)))).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it("Given 150 task definition families in the cluster, When BatchAPIs are listed, Then both pages of families are read", async () => {
    // Given
    const { fake, deps } = harness();
    for (let i = 0; i < 150; i += 1) fake.addTaskDefinitionRevisions(`${CLUSTER}-api${i}`, 1);
    // When
    await batchApiNames(deps);
    // Then: one DescribeTaskDefinition per family found, so all 150 were listed
    expect(fake.calls.filter((c) => c === "ecs:ListTaskDefinitionFamilies")).toHaveLength(2);
    expect(fake.calls.filter((c) => c === "ecs:DescribeTaskDefinition")).toHaveLength(150);
  });
});

describe("S3 keys, metadata and missing objects (R24)", () => {
  it("Given a 1025-byte key or 3 KB of metadata, When put, Then the fake refuses with S3's codes; a missing key is NoSuchKey", async () => {
    // Given
    const s3 = new FakeAws().ports().s3;
    // When
    const refused = await Promise.all([
      rejection(s3.putObject({ Bucket: "b", Key: "é".repeat(513), Body: "x" })),
      rejection(
        s3.putObject({ Bucket: "b", Key: "k", Body: "x", Metadata: { m: "v".repeat(3000) } }),
      ),
      rejection(s3.getObjectBytes({ Bucket: "b", Key: "nothing" })),
    ]);
    // Then
    expect(refused.map((r) => r.name)).toEqual([
      "KeyTooLongError",
      "MetadataTooLarge",
      "NoSuchKey",
    ]);
    await expect(
      s3.putObject({ Bucket: "b", Key: "k".repeat(MAX_KEY_BYTES), Body: "x" }),
    ).resolves.toBeDefined();
  });

  it("Given nothing stored, When Axon reads an API's keys, baseline and a job record, Then each read is empty rather than an error; and its longest keys fit 1024 bytes", async () => {
    // Given
    const { deps } = harness();
    const longest = "a".repeat(42); // an API name's maxLength (schemas/axon.schema.json)
    // When
    const keys = await readApiKeys(deps.ports.s3, deps.refs.bucketName, "iris");
    const baseline = await readAwsBaseline(deps, "iris");
    const record = await readRecord(deps, "iris", "0123456789abcdef");
    // Then
    expect([keys, baseline, record]).toEqual([[], undefined, undefined]);
    for (const key of [
      apiKeysObjectKey(longest),
      baselineKey(longest),
      jobRecordKey(longest, "0123456789abcdef"),
      `${jobFailurePrefix(longest, "0123456789abcdef")}${"b".repeat(64)}.json`,
    ]) {
      expect(Buffer.byteLength(key, "utf8")).toBeLessThanOrEqual(MAX_KEY_BYTES);
    }
  });
});

describe("Route 53's alias to the load balancer (R25)", () => {
  const config = parseClusterConfig(
    `cluster_name: web
image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0
load_balancer:
  certificate_arn: arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789
  domain: api.example.com
  hosted_zone_id: Z0123456789ABCDEFGHIJ
`,
    "cluster.yaml",
  );
  type Template = {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
  const template = () =>
    generateClusterTemplate({
      config,
      envName: "prod",
      defaultVpc: { vpcId: "vpc-1", subnetIds: ["subnet-1", "subnet-2"] },
    }) as unknown as Template;

  it("Given the generated template with a domain, When the fake creates it, Then the alias names the load balancer's zone and is accepted; the user's zone or no EvaluateTargetHealth is refused", async () => {
    // Given
    const generated = template();
    const record = generated.Resources["DomainRecord"]?.Properties ?? {};
    const alias = record["AliasTarget"] as Record<string, unknown>;
    const { EvaluateTargetHealth: _dropped, ...withoutHealth } = alias;
    // When
    const fake = new FakeAws();
    await fake.ports().cloudFormation.createStack({
      StackName: "axon-web",
      TemplateBody: JSON.stringify(generated),
    });
    // Then
    expect(fake.stack("axon-web")?.status).toBe("CREATE_COMPLETE");
    expect(aliasRecordRefusal(record)).toBeUndefined();
    expect(
      aliasRecordRefusal({
        ...record,
        AliasTarget: { ...alias, HostedZoneId: "Z0123456789ABCDEFGHIJ" },
      }),
    ).toMatch(/record's own hosted zone/);
    expect(aliasRecordRefusal({ ...record, AliasTarget: withoutHealth })).toMatch(
      /EvaluateTargetHealth is required/,
    );
  });
});
