/**
 * The deploy plan applied by the ECS engine, on a real moto server with a cluster stack made by
 * `cluster up`'s own code: the rules the local engine always had (an endpoint is one API's; a
 * change to an API still rolling out needs --force) now hold on ECS too, and knob warnings come
 * from the fields the user wrote, not a text search of the config.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { create } from "tar";
import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { BundleStore } from "../bundles/bundle-store.js";
import type { DeployRequest, ErrorBody } from "../contract/index.js";
import { DomainError, toErrorBody } from "../errors.js";
import {
  createMotoCluster,
  MOTO_IMAGE,
  type MotoCluster,
} from "../providers/aws/testing/moto-cluster.js";
import { motoAvailable, startMoto, type MotoServer } from "../providers/aws/testing/moto-server.js";
import { StateStore } from "../state/store.js";
import { PredictionRecorder } from "../replica/prediction-recorder.js";
import { predictionLine } from "../replica/prediction-lines.js";
import { ECS_REDRAW_MS, ROLLBACK_VERSION_INVALID } from "../services/aws-apis.js";
import { metricQueries } from "../providers/aws/api-metrics.js";
import { findTargetGroupArn } from "../providers/aws/api-deploy.js";
import { targetGroupName } from "../providers/aws/api-names.js";
import type { AwsPorts } from "../providers/aws/sdk.js";
import { API_UPDATING, CONFIG_ENDPOINT_TAKEN, planDeploy } from "../services/deploy-plan.js";
import type { ApiEngine } from "./api-engine.js";
import { parseApiConfig, specHash } from "@axon/config";
import type { EcsEngine } from "./ecs-engine.js";
import { jobStartedBy } from "../providers/aws/batch-names.js";
import { engineFor, type EngineContext } from "./engine-for.js";

const HAS_MOTO = motoAvailable();
let moto: MotoServer | undefined;
afterAll(async () => {
  await moto?.stop();
});
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Prod {
  cluster: MotoCluster;
  engine: ApiEngine;
  bundles: BundleStore;
  bundle: string;
}

/** A fresh moto cluster registered as environment `prod`, and its engine, with one bundle. */
async function prod(calls?: string[]): Promise<Prod> {
  moto ??= await startMoto();
  await moto.reset();
  const cluster = await createMotoCluster(moto);
  const home = tempDir("axon-ecs-engine-");
  const store = StateStore.open(path.join(home, "state.db"));
  cleanups.push(() => store.close());
  store.putEnvironment(
    {
      name: "prod",
      provider: "aws",
      region: "us-east-1",
      stackName: "axon-demo",
      clusterName: null,
      configFile: null,
      configYaml: null,
    },
    new Date(),
  );
  const bundles = new BundleStore(home, store);
  const project = tempDir("axon-ecs-project-");
  writeFileSync(
    path.join(project, "predictor.py"),
    "class PythonPredictor:\n    def __init__(self, config):\n        pass\n\n    def predict(self, payload):\n        return payload\n",
  );
  const archive = path.join(tempDir("axon-ecs-archive-"), "project.tar.gz");
  create({ gzip: true, file: archive, cwd: project, sync: true, portable: true }, ["predictor.py"]);
  const bytes = readFileSync(archive);
  const bundle = createHash("sha256").update(bytes).digest("hex");
  await bundles.receive(bundle, Readable.from([bytes]));
  // The local engine's parts are never reached for an AWS environment.
  const ports = calls === undefined ? cluster.ports : countedPorts(cluster.ports, calls);
  const context = { store, bundles, connect: () => Promise.resolve(ports) };
  const engine = engineFor(context as unknown as EngineContext, {
    headers: { "axon-env": "prod" },
  });
  return { cluster, engine, bundles, bundle };
}

/** `ports` recording the name of every AWS call made through them into `calls` (`ecs.describeServices`). */
function countedPorts(ports: AwsPorts, calls: string[]): AwsPorts {
  const counted: Record<string, unknown> = {};
  for (const [service, port] of Object.entries(ports)) {
    counted[service] =
      service === "target"
        ? port
        : new Proxy(port as object, {
            get(object, method, receiver) {
              const value: unknown = Reflect.get(object, method, receiver);
              if (typeof value !== "function") return value;
              return (...args: unknown[]) => {
                calls.push(`${service}.${String(method)}`);
                return (value as (...a: unknown[]) => unknown).apply(object, args);
              };
            },
          });
  }
  return counted as unknown as AwsPorts;
}

function api(name: string, extra = ""): string {
  return `- name: ${name}\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n${extra}`;
}

async function deploy(
  target: Prod,
  config: string,
  options: Partial<DeployRequest> = {},
): Promise<Awaited<ReturnType<ApiEngine["deploy"]>>> {
  const request: DeployRequest = {
    config,
    configFileName: "axon.yaml",
    bundle: target.bundle,
    ...options,
  };
  const plan = await planDeploy(target, target.engine, request);
  return target.engine.deploy(plan, { signal: AbortSignal.timeout(120_000) });
}

/**
 * Puts prediction lines `[minutes ago, revision, label → count]` into one replica stream of `api`,
 * as a replica task's awslogs driver would (made by the replica's own recorder and line writer).
 */
async function putPredictions(
  target: Prod,
  api: string,
  stream: string,
  lines: Array<[number, number, Record<string, number>]>,
): Promise<void> {
  const client = new CloudWatchLogsClient({
    region: "us-east-1",
    endpoint: moto?.url ?? "",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    maxAttempts: 1,
  });
  const logGroupName = target.cluster.refs.logGroupName;
  const logStreamName = `${api}/replica/${stream}`;
  await client.send(new CreateLogStreamCommand({ logGroupName, logStreamName }));
  const now = Date.now();
  await client.send(
    new PutLogEventsCommand({
      logGroupName,
      logStreamName,
      logEvents: lines.map(([minutesAgo, revision, labels]) => {
        const recorder = new PredictionRecorder({ modelType: "classification", key: null });
        for (const [label, count] of Object.entries(labels)) {
          for (let i = 0; i < count; i++) recorder.recordValue(label);
        }
        const tally = recorder.drain();
        if (tally === undefined) throw new Error("a line needs at least one prediction");
        const at = now - minutesAgo * 60_000;
        return {
          timestamp: at,
          message: predictionLine({
            api,
            task: stream,
            at: new Date(at).toISOString(),
            revision,
            tally,
          }),
        };
      }),
    }),
  );
  client.destroy();
}

async function refusal(work: Promise<unknown>): Promise<ErrorBody & { status: number }> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DomainError);
  const { status, body } = toErrorBody(error);
  return { ...body, status };
}

describe.skipIf(!HAS_MOTO)(
  "the deploy plan on ECS (moto; skipped when python3 has no moto)",
  () => {
    test("a change to an API still rolling out is refused without --force, and goes through with it", async () => {
      // Given iris deployed to prod, its first rollout not complete (moto runs no task)
      const target = await prod();
      expect((await deploy(target, api("iris"))).results[0]?.outcome).toBe("created");
      expect((await target.engine.deployed()).map((d) => [d.name, d.rollingOut])).toEqual([
        ["iris", true],
      ]);

      // When a changed config is deployed without --force
      const changed = api("iris", "  compute:\n    cpu: 2\n");
      const refused = await refusal(deploy(target, changed));
      // Then it is refused as locally (deployToAws used to ignore force and replace the rollout)
      expect(refused).toMatchObject({ status: 409, code: API_UPDATING });
      expect(refused.message).toMatch(
        /^iris is updating \(override with --force\): its version revision 1 is still rolling out/,
      );

      // And an unchanged deploy is never refused, and --force replaces the rollout
      expect((await deploy(target, api("iris"))).results[0]?.outcome).toBe("unchanged");
      expect((await deploy(target, changed, { force: true })).results[0]?.outcome).toBe("updated");
    }, 120_000);

    test("an endpoint another API of the environment serves is refused, naming that API", async () => {
      // Given iris serving /iris on prod
      const target = await prod();
      await deploy(target, api("iris"));

      // When another API asks for the same endpoint
      const refused = await refusal(
        deploy(target, api("other", "  networking:\n    endpoint: /iris/\n")),
      );
      // Then the plan refuses it (ensureRule used to take the next priority: two rules, one lost)
      expect(refused).toMatchObject({ status: 400, code: CONFIG_ENDPOINT_TAKEN });
      expect(refused.message).toBe(
        "axon.yaml: other: networking.endpoint /iris is already used by api iris in environment prod",
      );
      expect(refused.hint).toContain("axon delete iris --env prod");
      expect((await target.engine.list()).apis.map((summary) => summary.name)).toEqual(["iris"]);
    }, 120_000);

    test("knob warnings name only the autoscaling fields the user wrote, not words in the text", async () => {
      // Given a config whose comment and endpoint say "window", and that sets max_upscale_factor
      const target = await prod();
      const config = `# the window of this API is the default\n${api(
        "iris",
        "  networking:\n    endpoint: /window\n  autoscaling:\n    max_upscale_factor: 3\n",
      )}`;

      // When it is deployed
      const { warnings } = await deploy(target, config);

      // Then only the knob it set is warned about (a text search also found `window`), and the
      // API without auth on the public load balancer is named (issue 29)
      expect(warnings.map((warning) => warning.path)).toEqual([
        "iris.autoscaling.max_upscale_factor",
        "iris.networking.auth",
      ]);
      expect(warnings[0]?.message).toMatch(/^max_upscale_factor /);
      expect(warnings[1]?.message).toMatch(
        /^is none on a public load balancer: anyone who finds http:\/\/\S+\/window can call it/,
      );

      // And get shows the same one knob note (not the five defaults), and the runtime ECS runs
      const detail = await target.engine.describe("iris", {});
      expect(detail.notes?.filter((note) => / has no AWS setting/.test(note))).toEqual([
        expect.stringMatching(/^max_upscale_factor 3 has no AWS setting/),
      ]);
      expect(detail.runtime).toEqual({
        engine: "ecs",
        image: MOTO_IMAGE,
        fargate: { vcpu: 0.25, memoryGb: 0.5 },
        taskDefinitionRevision: 1,
        // moto keeps no default capacity provider strategy from the stack (AWS does)
        capacityProviders: [],
      });
      expect(detail.versions.map((version) => [version.id, version.current])).toEqual([
        ["revision 1", true],
      ]);
      // And what a roll will do, in words
      expect(detail.notes?.filter((note) => note.startsWith("next rollout:"))).toEqual([
        "next rollout: a roll starts up to 1 new task before stopping an old one (at 1 replica; larger steps with more)",
      ]);
    }, 120_000);

    test("rollback goes back a revision (by `revision N` or `N`), and get and versions say so", async () => {
      // Given iris at revision 2 (the change forced: moto never finishes a rollout)
      const target = await prod();
      await deploy(target, api("iris"));
      await deploy(target, api("iris", "  compute:\n    cpu: 2\n"), { force: true });
      const before = await target.engine.versions("iris");
      expect(before.map((version) => [version.id, version.current])).toEqual([
        ["revision 2", true],
        ["revision 1", false],
      ]);
      expect(before.every((version) => /^[0-9a-f]{64}$/.test(version.specHash))).toBe(true);
      expect(before.every((version) => version.bundle === target.bundle)).toBe(true);

      // When it is rolled back with no version
      const rolled = await target.engine.rollback("iris", undefined);
      // Then the service runs revision 1 again
      expect(rolled).toEqual({
        message: "rolling back iris from revision 2 to revision 1 on prod: ECS rolls it out",
        versionId: "revision 1",
      });
      const detail = await target.engine.describe("iris", {});
      expect(detail.runtime).toMatchObject({ engine: "ecs", taskDefinitionRevision: 1 });
      expect(detail.versions.map((version) => [version.id, version.current])).toEqual([
        ["revision 2", false],
        ["revision 1", true],
      ]);

      // And forward again by number, then an unchanged one by its id as get lists it
      expect((await target.engine.rollback("iris", "2")).versionId).toBe("revision 2");
      expect(await target.engine.rollback("iris", "revision 2")).toEqual({
        message: "iris already runs revision 2 on prod",
        versionId: "revision 2",
      });

      // And a version that is not a revision is refused before any AWS call, saying what to give
      const refused = await refusal(target.engine.rollback("iris", "v1"));
      expect(refused).toMatchObject({ status: 400, code: ROLLBACK_VERSION_INVALID });
      expect(refused.hint).toBe(
        'give one as axon get iris --env prod lists it: "revision 3", or just 3',
      );
    }, 120_000);

    test("monitor baseline pins the last hour into the bucket, and get measures drift against it", async () => {
      // Given a monitored iris with an hour of mixed predictions
      const target = await prod();
      await deploy(target, api("iris", "  monitoring:\n    model_type: classification\n"));
      await putPredictions(target, "iris", "task-a", [
        [30, 1, { setosa: 400, versicolor: 400, virginica: 400 }],
      ]);
      const unpinned = await target.engine.describe("iris", {
        since: new Date(Date.now() - 3_600_000),
      });
      expect(unpinned.monitoring?.drift.baseline).toBe("first 1000 predictions of revision 1");

      // When the baseline is pinned
      const pinned = await target.engine.pinBaseline("iris");
      // Then it holds the hour's predictions
      expect(pinned).toEqual({
        message: "pinned 1200 predictions of iris (the last hour of revision 1) as its baseline",
        predictions: 1200,
      });

      // When the API then answers only virginica
      await putPredictions(target, "iris", "task-b", [[5, 1, { virginica: 3000 }]]);
      const detail = await target.engine.describe("iris", {});
      // Then get compares the last hour with the pinned baseline, and sees the shift
      expect(detail.monitoring?.drift.baseline).toMatch(/^pinned \S+ from revision 1$/);
      expect(detail.monitoring?.drift.shifted).toBe(true);
    }, 120_000);

    test("get with traffic adds the load balancer's minutes and the task counts, for a live view every 10 s", async () => {
      // Given iris on prod with 120 requests (6 of them 5xx) in the minute before last
      const calls: string[] = [];
      const target = await prod(calls);
      await deploy(
        target,
        api("iris", "  autoscaling:\n    min_replicas: 1\n    max_replicas: 4\n"),
      );
      const deps = {
        ports: target.cluster.ports,
        refs: target.cluster.refs,
        target: target.cluster.ports.target,
        signal: AbortSignal.timeout(30_000),
      };
      const group = await findTargetGroupArn(
        deps,
        targetGroupName(target.cluster.refs.clusterName, "iris"),
      );
      const [query] = metricQueries(target.cluster.refs.loadBalancerArn, [group ?? ""]);
      const now = new Date();
      const minuteBeforeLast = Math.floor(now.getTime() / 60_000) * 60_000 - 2 * 60_000;
      const cloudWatch = new CloudWatchClient({
        region: "us-east-1",
        endpoint: moto?.url ?? "",
        credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
        maxAttempts: 1,
      });
      await cloudWatch.send(
        new PutMetricDataCommand({
          Namespace: "AWS/ApplicationELB",
          MetricData: [
            ["RequestCount", 120],
            ["HTTPCode_Target_5XX_Count", 6],
          ].map(([MetricName, Value]) => ({
            MetricName: String(MetricName),
            Dimensions: query?.MetricStat?.Metric?.Dimensions ?? [],
            Timestamp: new Date(minuteBeforeLast + 10_000),
            Value: Number(Value),
          })),
        }),
      );
      cloudWatch.destroy();

      // When it is described with 5 minutes of traffic, and without
      calls.length = 0;
      const detail = await target.engine.describe("iris", { now, traffic: { minutes: 5 } });
      const redraw = [...calls];
      const plain = await target.engine.describe("iris", { now });

      // Then the minutes, the counts and the redraw are there, only when asked
      expect(detail.traffic?.redrawMs).toBe(ECS_REDRAW_MS);
      expect(detail.traffic?.minutes.map((minute) => minute.requests)).toEqual([0, 0, 0, 120, 0]);
      expect(detail.traffic?.minutes[3]).toMatchObject({ requestsPerSecond: 2, errorRate: 0.05 });
      expect(detail.traffic?.replicas).toEqual({ desired: 1, running: 0, pending: 1 });
      expect(detail.traffic?.scaling).toEqual({ min: 1, max: 4 });
      expect(plain.traffic).toBeUndefined();
      // And one redraw's AWS calls (docs/aws.md states them): get's without its cost (a redraw
      // shows no dollars; the cost is 6 calls: the API count, the cluster's strategy and an hour
      // of the load balancer's metrics), plus 3 for the traffic
      const plainCalls = calls.length - redraw.length;
      expect(plain.cost).toBeDefined();
      expect(detail.cost).toBeUndefined();
      expect(redraw.length - (plainCalls - 6)).toBe(3);
      expect(redraw).toMatchInlineSnapshot(`
        [
          "cloudFormation.describeStacks",
          "ecs.describeServices",
          "ecs.describeTaskDefinition",
          "ecs.listServiceDeployments",
          "ecs.listTasks",
          "ecs.describeTaskDefinition",
          "ecs.describeClusters",
          "ecs.describeServices",
          "autoScaling.describeScalableTargets",
          "cloudWatch.getMetricData",
          "ecs.describeServices",
          "ecs.listAllTaskDefinitionArns",
          "ecs.describeTaskDefinition",
        ]
      `);
      // And the list, whose every look costs calls too, asks for the same pace
      expect((await target.engine.list()).redrawMs).toBe(ECS_REDRAW_MS);
    }, 120_000);
  },
);

describe.skipIf(!HAS_MOTO)("scale to zero on the ECS engine (moto)", () => {
  test("min_replicas 0: deploy --plan says when it goes to zero and what wakes it; the deploy makes its alarms, the delete removes them", async () => {
    // Given prod and a config whose API may idle at zero after 30 minutes
    const target = await prod();
    const config = api(
      "sleepy",
      "  autoscaling:\n    min_replicas: 0\n    scale_to_zero_after: 30m\n",
    );
    const plan = await planDeploy(target, target.engine, {
      config,
      configFileName: "axon.yaml",
      bundle: target.bundle,
    });
    // When it is planned, Then the plan shows the scale-to-zero setting and its cost to callers
    const preview = await target.engine.preview(plan);
    expect(preview.apis[0]?.scaleToZero).toMatch(
      /^to 0 tasks after 30m0s without a request .* the first callers get the load balancer's 503 \(no Retry-After\)/,
    );
    // When it is deployed, Then the idle and wake alarms exist
    await deploy(target, config);
    const alarmNames = ["axon-demo-sleepy-idle", "axon-demo-sleepy-wake"];
    const { cloudWatch } = target.cluster.ports;
    const alarms = await cloudWatch.describeAlarms({ AlarmNames: alarmNames });
    expect(new Set(alarms.MetricAlarms?.map((alarm) => alarm.AlarmName))).toEqual(
      new Set(alarmNames),
    );
    expect(
      alarms.MetricAlarms?.find((a) => a.AlarmName?.endsWith("-idle"))?.EvaluationPeriods,
    ).toBe(30);
    // When it is deleted, Then they are gone with it
    await target.engine.remove("sleepy");
    expect((await cloudWatch.describeAlarms({ AlarmNames: alarmNames })).MetricAlarms).toEqual([]);
  }, 120_000);
});

describe.skipIf(!HAS_MOTO)("TrafficSplitter on the ECS engine (moto)", () => {
  const splitter = (apis: string[], weights: number[]): string =>
    `- name: split\n  kind: TrafficSplitter\n  endpoint: /split\n  apis:\n${apis
      .map((name, index) => `    - name: ${name}\n      weight: ${weights[index] ?? 0}\n`)
      .join("")}`;

  test("a Cortex 0.20 config of two APIs and a 70/30 splitter deploys unchanged; get lists it; the APIs it uses cannot be deleted until it is", async () => {
    // Given prod, When the config is deployed
    const target = await prod();
    const config = `${api("iris-a")}${api("iris-b")}${splitter(["iris-a", "iris-b"], [70, 30])}`;
    const { results } = await deploy(target, config);
    // Then the splitter comes after its APIs
    expect(results.map((r) => [r.api, r.kind, r.outcome])).toEqual([
      ["iris-a", "RealtimeAPI", "created"],
      ["iris-b", "RealtimeAPI", "created"],
      ["split", "TrafficSplitter", "created"],
    ]);
    expect(results[2]?.endpoint).toMatch(/^http:\/\/.+\/split$/);
    // And get lists it with its weights, read back from the account, and each API's requests
    // of the last hour from its target group (none yet: no share, no error rate)
    expect((await target.engine.list()).trafficSplitters?.map((s) => [s.name, s.apis])).toEqual([
      [
        "split",
        [
          { name: "iris-a", weight: 70, requests: 0 },
          { name: "iris-b", weight: 30, requests: 0 },
        ],
      ],
    ]);
    // And describing it as an api is a 404, which `axon get split` answers from this list
    const notAnApi = await refusal(target.engine.describe("split", {}));
    expect([notAnApi.status, notAnApi.code]).toEqual([404, "api.not_found"]);
    // And a redeploy of the same config changes nothing
    expect((await deploy(target, config)).results.map((r) => r.outcome)).toEqual([
      "unchanged",
      "unchanged",
      "unchanged",
    ]);
    // And deploy --plan of other weights says only the splitter updates (its rule, no task)
    const reweighted = `${api("iris-a")}${api("iris-b")}${splitter(["iris-a", "iris-b"], [50, 50])}`;
    const plan = await planDeploy(target, target.engine, {
      config: reweighted,
      configFileName: "axon.yaml",
      bundle: target.bundle,
    });
    const preview = await target.engine.preview(plan);
    expect(preview.apis.map((p) => [p.api, p.kind, p.outcome, p.replicas])).toEqual([
      ["iris-a", "RealtimeAPI", "unchanged", "none"],
      ["iris-b", "RealtimeAPI", "unchanged", "none"],
      ["split", "TrafficSplitter", "updated", "none"],
    ]);
    expect(preview.changes).toBe(true);

    // When an API it uses is deleted, Then it is refused with Cortex's message
    const refused = await refusal(target.engine.remove("iris-a"));
    expect(refused).toMatchObject({ status: 409, code: "api.used_by_splitter" });
    expect(refused.message).toBe(
      "cannot delete api because it is used by the following TrafficSplitter: split",
    );
    // When the splitter is deleted, Then the API can be
    await target.engine.remove("split");
    await target.engine.remove("iris-a");
    expect((await target.engine.list()).trafficSplitters).toBeUndefined();
  }, 180_000);

  test("a splitter over 6 APIs is refused at plan: one ALB rule forwards to at most 5 target groups", async () => {
    const target = await prod();
    const names = ["a1", "a2", "a3", "a4", "a5", "a6"];
    const config = `${names.map((name) => api(name)).join("")}${splitter(names, [50, 10, 10, 10, 10, 10])}`;
    const refused = await refusal(deploy(target, config));
    expect(refused).toMatchObject({ code: "splitter.too_many_apis" });
    expect(refused.message).toContain(
      "an ECS environment routes a TrafficSplitter to at most 5 APIs",
    );
    // Nothing was deployed
    expect((await target.engine.list()).apis).toEqual([]);
  }, 120_000);
});

describe.skipIf(!HAS_MOTO)("BatchAPI jobs through the ECS engine (moto)", () => {
  test("the five batch verbs answer on ECS: submit, get, list (with the API in the environment's list), logs of the job's workers, stop; delete of the API leaves no queue", async () => {
    // Given prod with a BatchAPI deployed (the kind is not parsed on this branch yet: the plan's
    // batchApis are handed to the engine directly, as deploy() will once plans carry them)
    const target = await prod();
    const { refs, ports } = target.cluster;
    const [spec] = parseApiConfig(api("scorer"), "axon.yaml").apis;
    if (spec === undefined) throw new Error("no API");
    const engine = target.engine as EcsEngine;
    const run = { signal: AbortSignal.timeout(60_000) };
    expect(await engine.deployBatchApis([{ spec }], target.bundle, run)).toEqual([
      {
        api: "scorer",
        kind: "BatchAPI",
        outcome: "created",
        message: "created scorer (BatchAPI) on prod: jobs submitted from now on run it",
        endpoint: "/v1/apis/scorer/jobs",
      },
    ]);
    expect((await engine.deployBatchApis([{ spec }], target.bundle, run))[0]?.outcome).toBe(
      "unchanged",
    );
    expect(await engine.deployedBatchApis()).toEqual([
      {
        name: "scorer",
        endpoint: "/scorer",
        specHash: specHash(spec),
        bundle: target.bundle,
        version: "revision 1",
        rollingOut: false,
        kind: "BatchAPI",
      },
    ]);

    // When a job is submitted, read back and listed
    const job = await target.engine.submitJob("scorer", {
      workers: 2,
      item_list: { items: [1, 2, 3, 4], batch_size: 2 },
    });
    const status = await target.engine.getJob("scorer", job.job_id);
    const jobs = await target.engine.listJobs("scorer");
    const list = await target.engine.list();

    // Then
    expect(status.job_status).toMatchObject({ status: "status_running", batches_in_queue: 2 });
    expect(jobs.jobs.map((one) => one.job_id)).toEqual([job.job_id]);
    expect(list.apis).toEqual([]);
    expect(list.batchApis).toMatchObject([
      { name: "scorer", runningJobs: 1, latestJobId: job.job_id },
    ]);

    // And its workers' lines are the job's log
    const [task = ""] =
      (
        await ports.ecs.listTasks({
          cluster: refs.clusterName,
          startedBy: jobStartedBy(job.job_id),
        })
      ).taskArns ?? [];
    const logs = new CloudWatchLogsClient({
      region: "us-east-1",
      endpoint: moto?.url ?? "",
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
      maxAttempts: 1,
    });
    const logStreamName = `scorer/replica/${task.split("/").at(-1) ?? ""}`;
    await logs.send(new CreateLogStreamCommand({ logGroupName: refs.logGroupName, logStreamName }));
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: refs.logGroupName,
        logStreamName,
        logEvents: [{ timestamp: Date.now(), message: "batch 0 done" }],
      }),
    );
    logs.destroy();
    const stream = await target.engine.jobLogs("scorer", job.job_id);
    const tail = await stream.source.tail("scorer", 10);
    expect(tail.text).toMatch(
      new RegExp(
        `^\\S+ \\S+ INFO \\[scorer ${(task.split("/").at(-1) ?? "").slice(0, 8)} ${job.job_id}\\] batch 0 done\\n$`,
      ),
    );

    // When it is stopped, and the API deleted
    expect(await target.engine.stopJob("scorer", job.job_id)).toEqual({
      message: `stopped job ${job.job_id}`,
    });
    expect((await target.engine.getJob("scorer", job.job_id)).job_status.status).toBe(
      "status_stopped",
    );
    await target.engine.remove("scorer");

    // Then nothing of it is left
    expect(await ports.sqs.listAllQueueUrls({ QueueNamePrefix: refs.clusterName })).toEqual([]);
    expect((await target.engine.list()).batchApis).toBeUndefined();
  }, 120_000);
});

describe.skipIf(!HAS_MOTO)("a BatchAPI planned and deployed on the ECS engine (moto)", () => {
  test("deploy --plan says a BatchAPI is created with no task; the deploy applies it from the plan; planned again it is unchanged", async () => {
    // Given prod and a config with one BatchAPI
    const target = await prod();
    const config = api("scorer").replace("kind: RealtimeAPI", "kind: BatchAPI");
    const request = { config, configFileName: "axon.yaml", bundle: target.bundle };

    // When it is planned, Then it is created and no task starts
    const first = await target.engine.preview(await planDeploy(target, target.engine, request));
    expect(first.apis).toMatchObject([
      { api: "scorer", kind: "BatchAPI", outcome: "created", replicas: "none" },
    ]);
    expect(first.apis[0]?.replicasReason).toMatch(/runs no task: each job starts its own/);

    // When it is deployed from the plan, Then its task definition is registered and no service
    const deployed = await deploy(target, config);
    expect(deployed.results).toMatchObject([
      { api: "scorer", kind: "BatchAPI", outcome: "created" },
    ]);
    expect((await target.engine.list()).batchApis).toMatchObject([{ name: "scorer" }]);

    // When planned again, Then nothing changes
    const again = await target.engine.preview(await planDeploy(target, target.engine, request));
    expect(again.apis).toMatchObject([{ api: "scorer", outcome: "unchanged" }]);
    expect(again.changes).toBe(false);
  }, 120_000);
});
