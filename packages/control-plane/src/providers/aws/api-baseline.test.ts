/**
 * The monitoring baseline of an API on ECS, on a real moto server (shared/reference/moto.md): the
 * API is deployed by the real deploy, its replicas' prediction lines are put into the cluster's
 * log group under the awslogs stream names a replica task writes (`iris/replica/<task id>`), made
 * by the replica's own recorder and line writer; the baseline is pinned into and read back from
 * the cluster bucket, and the drift is computed against it as `get --env` would.
 */
import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { afterAll, describe, expect, it } from "vitest";
import { apiSpec } from "../../testing/specs.js";
import { DomainError } from "../../errors.js";
import {
  emptyTally,
  PredictionRecorder,
  type PredictionTally,
} from "../../replica/prediction-recorder.js";
import { predictionLine } from "../../replica/prediction-lines.js";
import {
  baselineKey,
  driftFromAwsBaseline,
  MONITORING_BASELINE_UNREADABLE,
  MONITORING_NO_PREDICTIONS,
  MONITORING_OFF,
  parseAwsBaseline,
  pinAwsBaseline,
  readAwsBaseline,
  readAwsRecentTally,
  recentTally,
} from "./api-baseline.js";
import { deleteApiResources } from "./api-delete.js";
import { deployApiResources } from "./api-deploy.js";
import type { EcsApiDeps } from "./api-names.js";
import { createMotoCluster, type MotoCluster } from "./testing/moto-cluster.js";
import { motoAvailable, startMoto, type MotoServer } from "./testing/moto-server.js";

const HAS_MOTO = motoAvailable();
let moto: MotoServer | undefined;
afterAll(async () => {
  await moto?.stop();
});

const MINUTE = 60_000;
const TASK = "3fa2c1d0e9b84f6a9c1d2e3f4a5b6c7d";
const MONITORED = "  monitoring:\n    model_type: classification\n";

async function freshCluster(): Promise<{ cluster: MotoCluster; deps: EcsApiDeps }> {
  moto ??= await startMoto();
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

async function deploy(deps: EcsApiDeps, extra: string, sha = "a".repeat(64)): Promise<void> {
  await deployApiResources(deps, {
    spec: apiSpec("iris", extra),
    bundleSha256: sha,
    readBundle: () => Promise.resolve(new Uint8Array(1024)),
    configFile: "axon.yaml",
  });
}

/** A classifier's tally of `labels` (label → how many), made by the replica's own recorder. */
function tallyOf(labels: Record<string, number>): PredictionTally {
  const recorder = new PredictionRecorder({ modelType: "classification", key: null });
  for (const [label, count] of Object.entries(labels)) {
    for (let i = 0; i < count; i++) recorder.recordValue(label);
  }
  // An empty recorder drains nothing: the empty tally stands for a quiet hour.
  return recorder.drain() ?? emptyTally("classification");
}

/** Puts prediction lines `[time, revision, labels]` into one replica stream of iris. */
async function putLines(
  cluster: MotoCluster,
  lines: Array<[number, number, Record<string, number>]>,
): Promise<void> {
  const client = new CloudWatchLogsClient({
    region: "us-east-1",
    endpoint: moto?.url ?? "",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    disableHostPrefix: true,
    maxAttempts: 1,
  });
  const logStreamName = `iris/replica/${TASK}`;
  await client.send(
    new CreateLogStreamCommand({ logGroupName: cluster.refs.logGroupName, logStreamName }),
  );
  await client.send(
    new PutLogEventsCommand({
      logGroupName: cluster.refs.logGroupName,
      logStreamName,
      logEvents: lines.map(([at, revision, labels]) => ({
        timestamp: at,
        message: predictionLine({
          api: "iris",
          task: TASK,
          at: new Date(at).toISOString(),
          revision,
          tally: tallyOf(labels),
        }),
      })),
    }),
  );
  client.destroy();
}

describe.skipIf(!HAS_MOTO)(
  "the monitoring baseline of an API on ECS (skipped when python3 has no moto)",
  () => {
    it("Given iris at revision 2 with prediction lines of revisions 1 and 2, some older than an hour, When its baseline is pinned, Then the bucket holds revision 2's last hour beside the bundles, read back the same", async () => {
      // Given
      const { deps, cluster } = await freshCluster();
      await deploy(deps, MONITORED);
      await deploy(deps, MONITORED, "b".repeat(64));
      const now = new Date();
      const t = now.getTime();
      await putLines(cluster, [
        [t - 90 * MINUTE, 2, { setosa: 500 }],
        [t - 30 * MINUTE, 1, { versicolor: 70 }],
        [t - 20 * MINUTE, 2, { setosa: 30, virginica: 10 }],
        [t - 5 * MINUTE, 2, { setosa: 10 }],
      ]);
      // When
      const recent = await readAwsRecentTally(deps, "iris", now);
      const pinned = await pinAwsBaseline(deps, "iris", recent);
      // Then
      expect(recent).toMatchObject({
        revision: 2,
        from: new Date(t - 60 * MINUTE).toISOString(),
        until: now.toISOString(),
      });
      expect(recent.tally).toMatchObject({ count: 50, classes: { setosa: 40, virginica: 10 } });
      expect(pinned).toMatchObject({ api: "iris", revision: 2, pinnedAt: now.toISOString() });
      const listed = await cluster.ports.s3.listObjectsV2({ Bucket: cluster.refs.bucketName });
      expect((listed.Contents ?? []).map((object) => object.Key ?? "").sort()).toEqual([
        "baselines/iris.json",
        `bundles/${"a".repeat(64)}.tar.gz`,
        `bundles/${"b".repeat(64)}.tar.gz`,
      ]);
      expect(await readAwsBaseline(deps, "iris")).toEqual(pinned);
    });

    it("Given iris with a pinned baseline beside another API's, When iris is deleted, Then its baseline object goes with it and the other stays", async () => {
      // Given iris and other deployed, each with a baseline object in the bucket
      const { deps, cluster } = await freshCluster();
      await deploy(deps, MONITORED);
      await deployApiResources(deps, {
        spec: apiSpec("other", MONITORED),
        bundleSha256: "c".repeat(64),
        readBundle: () => Promise.resolve(new Uint8Array(1024)),
        configFile: "axon.yaml",
      });
      for (const name of ["iris", "other"]) {
        await cluster.ports.s3.putObject({
          Bucket: cluster.refs.bucketName,
          Key: baselineKey(name),
          Body: JSON.stringify({ api: name }),
        });
      }
      // When iris is deleted
      expect(await deleteApiResources(deps, "iris")).toBe("deleted");
      // Then its baseline is gone (a later API of that name starts without it); other's stays
      const listed = await cluster.ports.s3.listObjectsV2({ Bucket: cluster.refs.bucketName });
      expect((listed.Contents ?? []).map((object) => object.Key ?? "").sort()).toEqual([
        "baselines/other.json",
        `bundles/${"c".repeat(64)}.tar.gz`,
      ]);
    });

    it("Given iris with no baseline pinned, When it is read, Then there is none", async () => {
      const { deps } = await freshCluster();
      await deploy(deps, MONITORED);
      expect(await readAwsBaseline(deps, "iris")).toBeUndefined();
    });

    it("Given iris with no prediction in the last hour, When its baseline is pinned, Then it is refused and nothing is written", async () => {
      // Given
      const { deps, cluster } = await freshCluster();
      await deploy(deps, MONITORED);
      const now = new Date();
      await putLines(cluster, [[now.getTime() - 2 * 60 * MINUTE, 1, { setosa: 5 }]]);
      // When
      const recent = await readAwsRecentTally(deps, "iris", now);
      const refused = await pinAwsBaseline(deps, "iris", recent).catch((error: unknown) => error);
      // Then
      expect(refused).toBeInstanceOf(DomainError);
      expect(refused).toMatchObject({ code: MONITORING_NO_PREDICTIONS });
      expect(await readAwsBaseline(deps, "iris")).toBeUndefined();
    });

    it("Given iris deployed without monitoring, When its recent tally is read, Then the answer is monitoring.off with what to add", async () => {
      const { deps } = await freshCluster();
      await deploy(deps, "");
      await expect(readAwsRecentTally(deps, "iris", new Date())).rejects.toMatchObject({
        code: MONITORING_OFF,
        message: "iris has no monitoring to pin a baseline for",
      });
    });

    it("Given a baseline object that axon did not write, When it is read, Then the error names the object and how to replace it", async () => {
      // Given
      const { deps, cluster } = await freshCluster();
      await deploy(deps, MONITORED);
      await cluster.ports.s3.putObject({
        Bucket: cluster.refs.bucketName,
        Key: baselineKey("iris"),
        Body: "{not json",
      });
      // When
      const refused = await readAwsBaseline(deps, "iris").catch((error: unknown) => error);
      // Then
      expect(refused).toMatchObject({
        code: MONITORING_BASELINE_UNREADABLE,
        message: `s3://${cluster.refs.bucketName}/baselines/iris.json is not a baseline axon wrote for iris`,
        hint: "pin it again: axon monitor baseline iris --env prod",
      });
    });
  },
);

describe("drift against a pinned baseline on ECS", () => {
  const baseline = {
    api: "iris",
    revision: 2,
    pinnedAt: "2026-12-07T10:00:00.000Z",
    tally: tallyOf({ setosa: 300, versicolor: 300, virginica: 400 }),
  };

  it("Given the recent hour's lines of the current and a previous revision, When the recent tally is taken, Then only the current revision's lines within the hour count", () => {
    const now = new Date("2026-12-07T12:00:00Z");
    const line = (
      minutesAgo: number,
      revision: number | undefined,
      labels: Record<string, number>,
    ) => ({
      api: "iris",
      task: TASK,
      at: new Date(now.getTime() - minutesAgo * MINUTE).toISOString(),
      ...(revision === undefined ? {} : { revision }),
      tally: tallyOf(labels),
    });
    const tally = recentTally(
      [
        line(61, 3, { setosa: 9 }),
        line(30, 2, { setosa: 9 }),
        line(20, 3, { virginica: 4 }),
        line(10, undefined, { setosa: 1 }),
      ],
      { revision: 3, modelType: "classification", now },
    );
    expect(tally).toMatchObject({ count: 5, classes: { virginica: 4, setosa: 1 } });
  });

  it("Given a baseline pinned from revision 2, When the recent hour is the same mix and then all setosa, Then the first is stable and the second shifted, both labelled with the pin", () => {
    const stable = driftFromAwsBaseline(
      baseline,
      tallyOf({ setosa: 30, versicolor: 30, virginica: 40 }),
    );
    const shifted = driftFromAwsBaseline(baseline, tallyOf({ setosa: 100 }));
    expect(stable).toEqual({
      message: "stable (PSI 0)",
      psi: 0,
      shifted: false,
      baseline: "pinned 2026-12-07T10:00:00.000Z from revision 2",
    });
    expect(shifted.shifted).toBe(true);
    expect(shifted.message).toMatch(/^shifted: setosa 30% → 100% \(PSI /);
  });

  it("Given a baseline and a quiet hour, When drift is computed, Then it says there is nothing to compare", () => {
    expect(driftFromAwsBaseline(baseline, tallyOf({})).message).toBe(
      "no prediction in the last hour to compare with the 1000 pinned",
    );
  });

  it("Given stored JSON with a missing field or a bad tally, When parsed, Then it is refused", () => {
    expect(parseAwsBaseline(JSON.stringify(baseline))).toEqual(baseline);
    expect(parseAwsBaseline(JSON.stringify({ ...baseline, revision: "2" }))).toBeUndefined();
    expect(parseAwsBaseline(JSON.stringify({ ...baseline, tally: { count: 3 } }))).toBeUndefined();
    expect(parseAwsBaseline("[]")).toBeUndefined();
  });
});
