/**
 * rollback, get --watch and monitor baseline with `--env` on ECS, end to end (issue 25): the built
 * CLI and a real daemon against a real moto server on 127.0.0.1, reached only through
 * AWS_ENDPOINT_URL and the standard AWS variables. moto starts no task and serves no traffic, so
 * what a running replica and the load balancer would write is put where AWS keeps it: prediction
 * lines into the cluster's log group (as the awslogs driver of a replica task would), and the
 * load balancer's datapoints into CloudWatch (PutMetricData, under ALB's namespace and dimensions).
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { DescribeServicesCommand, ECSClient } from "@aws-sdk/client-ecs";
import {
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterEach, describe, expect, test } from "vitest";
import type { ApiDetail } from "../packages/control-plane/src/contract/index.js";
import { metricQueries } from "../packages/control-plane/src/providers/aws/api-metrics.js";
import { clientConfig } from "../packages/control-plane/src/providers/aws/testing/leftovers.js";
import {
  motoAvailable,
  startMoto,
  type MotoServer,
} from "../packages/control-plane/src/providers/aws/testing/moto-server.js";
import { PredictionRecorder } from "../packages/control-plane/src/replica/prediction-recorder.js";
import { predictionLine } from "../packages/control-plane/src/replica/prediction-lines.js";
import { copyExample, makeTestCluster, type TestCluster } from "./helpers.js";

const HAS_MOTO = motoAvailable();
const IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0";
const API = "iris-classifier";
const MINUTE = 60_000;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function moto(): Promise<MotoServer> {
  const server = await startMoto();
  cleanups.push(() => server.stop());
  // The test's own SDK clients (to check and to put data) use the same variables.
  Object.assign(process.env, server.awsEnv());
  return server;
}

/** Prediction lines of `revision` answering `labels` (label → count), `minutesAgo` each. */
async function putPredictions(
  stream: string,
  revision: number,
  lines: Array<[number, Record<string, number>]>,
): Promise<void> {
  const logs = new CloudWatchLogsClient(clientConfig);
  const logStreamName = `${API}/replica/${stream}`;
  await logs.send(new CreateLogStreamCommand({ logGroupName: "/axon/demo", logStreamName }));
  const now = Date.now();
  await logs.send(
    new PutLogEventsCommand({
      logGroupName: "/axon/demo",
      logStreamName,
      logEvents: lines.map(([minutesAgo, labels]) => {
        const recorder = new PredictionRecorder({ modelType: "classification", key: null });
        for (const [label, count] of Object.entries(labels)) {
          for (let i = 0; i < count; i++) recorder.recordValue(label);
        }
        const tally = recorder.drain();
        if (tally === undefined) throw new Error("a line needs at least one prediction");
        const at = now - minutesAgo * MINUTE;
        const line = { api: API, task: stream, at: new Date(at).toISOString(), revision, tally };
        return { timestamp: at, message: predictionLine(line) };
      }),
    }),
  );
  logs.destroy();
}

/** The load balancer's count of `requests` (`errors` of them 5xx) for the API, in the minute `minutesAgo`. */
async function putTraffic(minutesAgo: number, requests: number, errors: number): Promise<void> {
  const ecs = new ECSClient(clientConfig);
  const services = await ecs.send(
    new DescribeServicesCommand({ cluster: "axon-demo", services: [API] }),
  );
  const group = services.services?.[0]?.loadBalancers?.[0]?.targetGroupArn ?? "";
  const elb = new ElasticLoadBalancingV2Client(clientConfig);
  const balancers = await elb.send(new DescribeLoadBalancersCommand({ Names: ["axon-demo"] }));
  const [query] = metricQueries(balancers.LoadBalancers?.[0]?.LoadBalancerArn ?? "", [group]);
  const minuteStart = Math.floor(Date.now() / MINUTE) * MINUTE - minutesAgo * MINUTE;
  const cloudWatch = new CloudWatchClient(clientConfig);
  await cloudWatch.send(
    new PutMetricDataCommand({
      Namespace: "AWS/ApplicationELB",
      MetricData: (
        [
          ["RequestCount", requests],
          ["HTTPCode_Target_5XX_Count", errors],
        ] as const
      ).map(([MetricName, Value]) => ({
        MetricName,
        Dimensions: query?.MetricStat?.Metric?.Dimensions ?? [],
        Timestamp: new Date(minuteStart + 5_000),
        Value,
      })),
    }),
  );
  for (const client of [ecs, elb, cloudWatch]) client.destroy();
}

async function serviceRevision(): Promise<string> {
  const ecs = new ECSClient(clientConfig);
  const services = await ecs.send(
    new DescribeServicesCommand({ cluster: "axon-demo", services: [API] }),
  );
  ecs.destroy();
  const arn = services.services?.[0]?.taskDefinition ?? "";
  return arn.slice(arn.lastIndexOf(":") + 1);
}

async function getJson(cluster: TestCluster, env: { env: NodeJS.ProcessEnv }): Promise<ApiDetail> {
  const got = await cluster.axon(["get", API, "--env", "demo", "-o", "json"], env);
  expect(got.code, got.stderr).toBe(0);
  return JSON.parse(got.stdout) as ApiDetail;
}

describe.skipIf(!HAS_MOTO)("rollback, watch and baseline on ECS (skipped without moto)", () => {
  test("deploy twice, rollback to revision 1, watch the load balancer's numbers as NDJSON, pin a baseline and see drift against it, delete takes the baseline", async () => {
    // Given a cluster `demo` on moto and the iris example with monitoring, deployed twice
    const server = await moto();
    const cluster = await makeTestCluster();
    const aws = { env: server.awsEnv() };
    const project = copyExample("iris-sklearn");
    const clusterYaml = path.join(project, "cluster.yaml");
    writeFileSync(clusterYaml, `cluster_name: demo\nregion: us-east-1\nimage: ${IMAGE}\n`);
    const up = await cluster.axon(
      ["cluster", "up", "--provider", "aws", "--config", clusterYaml, "--yes", "-o", "json"],
      aws,
    );
    expect(up.code, up.stderr).toBe(0);
    const config = path.join(project, "axon.yaml");
    const monitored = `${readFileSync(config, "utf8")}  monitoring:\n    model_type: classification\n`;
    writeFileSync(config, monitored);
    const first = await cluster.axon(["deploy", project, "--env", "demo", "--no-wait"], aws);
    expect(first.code, first.stderr).toBe(0);
    // (moto never finishes a rollout: the change is forced)
    writeFileSync(config, `${monitored}  compute:\n    cpu: 1\n`);
    const second = await cluster.axon(
      ["deploy", project, "--env", "demo", "--no-wait", "--force", "-o", "json"],
      aws,
    );
    expect(second.code, second.stderr).toBe(0);
    expect(await serviceRevision()).toBe("2");

    // When it is rolled back
    const rolled = await cluster.axon(["rollback", API, "--env", "demo", "-o", "json"], aws);
    // Then the service runs task definition revision 1 again, and get says so
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(JSON.parse(rolled.stdout)).toEqual({
      message: `rolling back ${API} from revision 2 to revision 1 on demo: ECS rolls it out`,
      versionId: "revision 1",
    });
    expect(await serviceRevision()).toBe("1");
    const detail = await getJson(cluster, aws);
    expect(detail.runtime).toMatchObject({ engine: "ecs", taskDefinitionRevision: 1 });
    expect(detail.versions.map((version) => [version.id, version.current])).toEqual([
      ["revision 2", false],
      ["revision 1", true],
    ]);
    const text = await cluster.axon(["get", API, "--env", "demo"], aws);
    expect(text.stdout).toMatch(/revision 1 .* current/);
    expect(text.stdout).toContain("next rollout: a roll starts up to 1 new task");

    // When the load balancer counted traffic and the API is watched as JSON (ended by the test)
    await putTraffic(2, 600, 30);
    const watched = await cluster.axon(["get", API, "--env", "demo", "--watch", "-o", "json"], {
      ...aws,
      timeoutMs: 14_000,
    });
    // Then each line is one ApiDetail with the minutes, and the daemon asked for a 10 s redraw
    const looks = watched.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as ApiDetail);
    expect(looks.length, watched.stderr).toBeGreaterThanOrEqual(1);
    expect(looks.length).toBeLessThanOrEqual(2);
    const traffic = looks[0]?.traffic;
    expect(traffic?.redrawMs).toBe(10_000);
    expect(traffic?.minutes).toHaveLength(30);
    // (the minute it was put in, wherever the window's end has moved since)
    expect(traffic?.minutes.filter((minute) => minute.requests > 0)).toEqual([
      expect.objectContaining({ requests: 600, requestsPerSecond: 10, errorRate: 0.05 }),
    ]);
    expect(traffic?.replicas.desired).toBe(1);

    // When revision 1 made predictions in the last hour and the baseline is pinned
    await putPredictions("0123456789abcdef", 1, [[20, { setosa: 300, versicolor: 300 }]]);
    const pinned = await cluster.axon(
      ["monitor", "baseline", API, "--env", "demo", "-o", "json"],
      aws,
    );
    // Then it holds them, in the cluster bucket
    expect(pinned.code, pinned.stderr).toBe(0);
    expect(JSON.parse(pinned.stdout)).toEqual({
      message: `pinned 600 predictions of ${API} (the last hour of revision 1) as its baseline`,
      predictions: 600,
    });
    const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
    const keys = async (): Promise<string[]> => {
      const listed = await s3.send(
        new ListObjectsV2Command({ Bucket: bucketOf(up.stdout), Prefix: "baselines/" }),
      );
      return (listed.Contents ?? []).map((object) => object.Key ?? "");
    };
    expect(await keys()).toEqual([`baselines/${API}.json`]);

    // When the API then answers only virginica, Then get measures the drift against the pin
    await putPredictions("fedcba9876543210", 1, [[2, { virginica: 2000 }]]);
    const drifted = await getJson(cluster, aws);
    expect(drifted.monitoring?.drift.baseline).toMatch(/^pinned \S+ from revision 1$/);
    expect(drifted.monitoring?.drift.shifted).toBe(true);

    // When it is deleted, Then its baseline goes with it
    const deleted = await cluster.axon(["delete", API, "--env", "demo", "--yes"], aws);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(await keys()).toEqual([]);
    s3.destroy();
    await cluster.axon(["cluster", "down", "--env", "demo", "--yes"], aws);
  }, 300_000);
});

/** The cluster bucket's name, from `cluster up -o json`. */
function bucketOf(upJson: string): string {
  return (JSON.parse(upJson) as { cluster: { bucket: string } }).cluster.bucket;
}
