/**
 * Concurrent changes to an API's keys on ECS (issue 29): the set in the bucket is changed with S3
 * conditional writes and retried when another change came first. The race runs on the rules fake
 * (R12: check and store in one step, as S3 does; moto checks without a lock, see RULES.md); the
 * wire protocol (moto's 412 to a stale ETag, and the retry) runs on a real moto server.
 */
import { readFileSync } from "node:fs";
import { parseApiConfig } from "@axon/config";
import { describe, expect, test } from "vitest";
import { DomainError } from "../../errors.js";
import { API_KEY_NOT_FOUND } from "../../keys/api-keys.js";
import { type ApiKeyRecord, createApiKey } from "../../replica/api-keys.js";
import {
  API_KEYS_CONFLICT,
  CHANGE_ATTEMPTS,
  apiKeysObjectKey,
  changeApiKeys,
  keyUsageObjectKey,
  type KeyUsageReport,
  readApiKeys,
  readKeyUsage,
  FOLD_AFTER_MS,
} from "./api-keys.js";
import { deleteApiResources } from "./api-delete.js";
import { deployApiResources } from "./api-deploy.js";
import type { EcsApiDeps } from "./api-names.js";
import { connectAws, type S3Port } from "./sdk.js";
import { fakeEcsDeps } from "./testing/fake-deps.js";
import { FakeAws } from "./testing/fake-aws/fake-aws.js";
import { motoAvailable, startMoto } from "./testing/moto-server.js";

const BUCKET = "axon-demo-bundlebucket";
const API = "iris-classifier";

function newRecord(): ApiKeyRecord {
  const made = createApiKey();
  return {
    id: made.id,
    name: null,
    hash: made.hash,
    createdAt: new Date().toISOString(),
    expiresAt: null,
    ratePerSecond: null,
  };
}

async function rejection(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected a rejection");
}

describe("changing an API's keys against concurrent changes (rules fake, R12)", () => {
  test("twenty concurrent creates make twenty keys; the losers of each race re-read and retry", async () => {
    // Given an API without keys in the fake's bucket
    const fake = new FakeAws();
    const s3 = fake.ports().s3;
    const made = Array.from({ length: 20 }, () => newRecord());

    // When twenty `keys create` add one key each, all at once
    await Promise.all(
      made.map((record) => changeApiKeys(s3, BUCKET, API, (keys) => [...keys, record])),
    );

    // Then every key is in the set
    const stored = await readApiKeys(s3, BUCKET, API);
    expect(stored.map((key) => key.id).sort()).toEqual(made.map((key) => key.id).sort());
    // And the race happened: more puts than keys (the refused ones stored nothing)
    expect(fake.calls.filter((call) => call === "s3:PutObject").length).toBeGreaterThan(20);
  });

  test("creates and revokes racing keep exactly the keys not revoked", async () => {
    // Given ten keys
    const fake = new FakeAws();
    const s3 = fake.ports().s3;
    const first = Array.from({ length: 10 }, () => newRecord());
    await changeApiKeys(s3, BUCKET, API, () => first);
    const added = Array.from({ length: 5 }, () => newRecord());
    const revoked = first.slice(0, 5).map((key) => key.id);

    // When five creates and five revokes run at once
    await Promise.all([
      ...added.map((record) => changeApiKeys(s3, BUCKET, API, (keys) => [...keys, record])),
      ...revoked.map((id) =>
        changeApiKeys(s3, BUCKET, API, (keys) => keys.filter((key) => key.id !== id)),
      ),
    ]);

    // Then the set is the five kept and the five added
    const expected = [...first.slice(5), ...added].map((key) => key.id).sort();
    expect((await readApiKeys(s3, BUCKET, API)).map((key) => key.id).sort()).toEqual(expected);
  });

  test("a change that throws (an unknown id) writes nothing; one that always loses gives up with a conflict", async () => {
    // Given a set with one key
    const fake = new FakeAws();
    const s3 = fake.ports().s3;
    await changeApiKeys(s3, BUCKET, API, () => [newRecord()]);
    const puts = fake.calls.filter((call) => call === "s3:PutObject").length;

    // When a revoke names a key that is not there, then its error comes out and nothing is put
    const unknown = await rejection(
      changeApiKeys(s3, BUCKET, API, () => {
        throw new DomainError(API_KEY_NOT_FOUND, "api iris-classifier has no key nope");
      }),
    );
    expect(unknown.code).toBe(API_KEY_NOT_FOUND);
    expect(fake.calls.filter((call) => call === "s3:PutObject").length).toBe(puts);

    // When every put finds the set changed since it was read (someone writes in between, always)
    const sleeps: number[] = [];
    const losing: Pick<S3Port, "getObjectWithEtag" | "putObject"> = {
      getObjectWithEtag: (input) => s3.getObjectWithEtag(input),
      putObject: async (input) => {
        const body = JSON.stringify({ api: API, keys: [newRecord()] }); // a new ETag each time
        await s3.putObject({ Bucket: BUCKET, Key: apiKeysObjectKey(API), Body: body });
        return s3.putObject(input);
      },
    };
    const conflict = await rejection(
      changeApiKeys(losing, BUCKET, API, (keys) => [...keys, newRecord()], {
        sleep: (ms) => {
          sleeps.push(ms);
          return Promise.resolve();
        },
        random: () => 0.5,
      }),
    );
    // Then it gives up after CHANGE_ATTEMPTS tries, with backoffs that grow to their cap
    expect(conflict.code).toBe(API_KEYS_CONFLICT);
    expect(conflict.status).toBe(409);
    expect(sleeps).toHaveLength(CHANGE_ATTEMPTS - 1);
    expect(sleeps.slice(0, 3)).toEqual([25, 50, 100]);
    expect(Math.max(...sleeps)).toBe(500);
  });
});

describe.skipIf(!motoAvailable())(
  "conditional writes of the key set on moto (skipped without moto)",
  () => {
    test("a put with a stale ETag is refused by moto (412) and the change is retried on the new set", async () => {
      // Given a moto bucket with one key in the API's set
      const moto = await startMoto();
      try {
        const ports = await connectAws("us-east-1", moto.awsEnv());
        const { S3Client, CreateBucketCommand } = await import("@aws-sdk/client-s3");
        const client = new S3Client({
          region: "us-east-1",
          endpoint: moto.url,
          forcePathStyle: true,
          credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
        });
        await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
        client.destroy();
        const s3 = ports.s3;
        const first = newRecord();
        await changeApiKeys(s3, BUCKET, API, () => [first]);

        // When another change lands between this change's read and its put
        const other = newRecord();
        const mine = newRecord();
        const refusals: string[] = [];
        let interleaved = false;
        const racing: Pick<S3Port, "getObjectWithEtag" | "putObject"> = {
          getObjectWithEtag: (input) => s3.getObjectWithEtag(input),
          putObject: async (input) => {
            if (!interleaved) {
              interleaved = true;
              await changeApiKeys(s3, BUCKET, API, (keys) => [...keys, other]);
            }
            return s3.putObject(input).catch((error: Error) => {
              refusals.push(error.name);
              throw error;
            });
          },
        };
        await changeApiKeys(racing, BUCKET, API, (keys) => [...keys, mine]);

        // Then moto refused the stale put, and the retry kept all three keys
        expect(refusals).toEqual(["PreconditionFailed"]);
        const ids = (await readApiKeys(s3, BUCKET, API)).map((key) => key.id).sort();
        expect(ids).toEqual([first.id, other.id, mine.id].sort());
        // And a first write when the set exists already is refused too (If-None-Match: *)
        const created = await s3
          .putObject({ Bucket: BUCKET, Key: apiKeysObjectKey(API), Body: "{}", IfNoneMatch: "*" })
          .then(
            () => "stored",
            (error: Error) => error.name,
          );
        expect(created).toBe("PreconditionFailed");
      } finally {
        await moto.stop();
      }
    });
  },
);

function report(taskId: string, extra: Partial<KeyUsageReport>): KeyUsageReport {
  return {
    api: API,
    taskId,
    startedAt: "2026-12-07T10:00:00.000Z",
    reportedAt: "2026-12-07T10:05:00.000Z",
    unauthorized: 0,
    keys: [],
    ...extra,
  };
}

describe("keys list --env: the counts ECS tasks reported", () => {
  test("each key's requests, refusals and last use are summed over the tasks' reports; others are ignored", async () => {
    // Given the reports of two tasks of an API (say one is stopped: its last report stays)
    const s3 = new FakeAws().ports().s3;
    const used = newRecord();
    const put = (key: string, body: unknown) =>
      s3.putObject({ Bucket: BUCKET, Key: key, Body: JSON.stringify(body) });
    await put(
      keyUsageObjectKey(API, "task-a"),
      report("task-a", {
        unauthorized: 2,
        keys: [{ id: used.id, requests: 40, refused: 1, lastUsedAt: "2026-12-07T10:04:00.000Z" }],
      }),
    );
    await put(
      keyUsageObjectKey(API, "task-b"),
      report("task-b", {
        unauthorized: 1,
        keys: [{ id: used.id, requests: 2, refused: 0, lastUsedAt: "2026-12-07T10:04:30.000Z" }],
      }),
    );
    // and an object there that no task wrote, one naming another API, and the key set itself
    await put(`api-keys/${API}/usage/stray.json`, { hello: "world" });
    await put(
      keyUsageObjectKey(API, "task-c"),
      report("task-c", { api: "other", unauthorized: 9 }),
    );
    await changeApiKeys(s3, BUCKET, API, () => [used]);

    // When the engine reads them
    const usage = await readKeyUsage(s3, BUCKET, API);

    // Then the counts are the two tasks' sums, and the last use is the latest
    expect(usage.tasks).toBe(2);
    expect(usage.unauthorized).toBe(3);
    expect(usage.keys.get(used.id)).toEqual({
      requests: 42,
      refused: 1,
      lastUsedAt: "2026-12-07T10:04:30.000Z",
    });
  });
});

/** The iris API deployed on the rules fake (as api-rules.test.ts deploys it). */
async function deployedOnFake(): Promise<EcsApiDeps> {
  const yaml = readFileSync(
    new URL("../../../../../examples/iris-sklearn/axon.yaml", import.meta.url),
    "utf8",
  );
  const [spec] = parseApiConfig(yaml, "axon.yaml").apis;
  if (spec === undefined) throw new Error("the example has no API");
  const fake = new FakeAws();
  const deps = fakeEcsDeps(fake, "axon-demo", { bucketName: BUCKET });
  await deployApiResources(deps, {
    spec,
    bundleSha256: "d".repeat(64),
    readBundle: () => Promise.resolve(new Uint8Array([1, 2, 3])),
    configFile: "axon.yaml",
  });
  return deps;
}

describe("delete --env and the API's keys", () => {
  test("deleting an API deletes its key set and its tasks' reports: a new API of that name accepts none of the old keys", async () => {
    // Given a deployed API with a key and a task's report, and another API's key set
    const deps = await deployedOnFake();
    const s3 = deps.ports.s3;
    await changeApiKeys(s3, BUCKET, API, () => [newRecord()]);
    await changeApiKeys(s3, BUCKET, "other-api", () => [newRecord()]);
    await s3.putObject({
      Bucket: BUCKET,
      Key: keyUsageObjectKey(API, "task-a"),
      Body: JSON.stringify(report("task-a", { unauthorized: 1 })),
    });

    // When it is deleted
    await deleteApiResources(deps, API);

    // Then its keys and reports are gone, and the other API's keys are not
    expect(await readApiKeys(s3, BUCKET, API)).toEqual([]);
    expect((await readKeyUsage(s3, BUCKET, API)).tasks).toBe(0);
    expect(await readApiKeys(s3, BUCKET, "other-api")).toHaveLength(1);
  });
});

describe("folding the reports of stopped tasks", () => {
  const at = (iso: string) => new Date(iso);
  const NOW = at("2026-12-07T12:00:00.000Z");
  const HOUR_AGO = "2026-12-07T11:00:00.000Z";
  const MINUTE_AGO = "2026-12-07T11:59:00.000Z";

  async function threeTasks(s3: S3Port, keyId: string): Promise<void> {
    const put = (taskId: string, reportedAt: string, requests: number) =>
      s3.putObject({
        Bucket: BUCKET,
        Key: keyUsageObjectKey(API, taskId),
        Body: JSON.stringify(
          report(taskId, {
            reportedAt,
            unauthorized: 1,
            keys: [{ id: keyId, requests, refused: 0, lastUsedAt: reportedAt }],
          }),
        ),
      });
    await put("task-a", HOUR_AGO, 100); // stopped an hour ago: its last report
    await put("task-b", HOUR_AGO, 20); // running, idle for an hour
    await put("task-c", MINUTE_AGO, 3); // stopped a minute ago: may still be draining
  }

  async function objectsLeft(s3: S3Port): Promise<string[]> {
    const listed = await s3.listObjectsV2({ Bucket: BUCKET, Prefix: `api-keys/${API}/usage/` });
    return (listed.Contents ?? []).map((object) => object.Key ?? "").sort();
  }

  test("a stopped task's old report is folded into one object; a running or recent one is not; the sums never change", async () => {
    // Given three tasks' reports
    const s3 = new FakeAws().ports().s3;
    const key = newRecord();
    await threeTasks(s3, key.id);
    const running = new Set(["task-b"]);

    // When the keys are listed (the engine knows which tasks run)
    const first = await readKeyUsage(s3, BUCKET, API, { running, now: NOW });
    // Then the sums are every report's, and only task-a was folded
    expect(first.keys.get(key.id)?.requests).toBe(123);
    expect(first.unauthorized).toBe(3);
    expect(await objectsLeft(s3)).toEqual([
      `api-keys/${API}/usage/_stopped.json`,
      `api-keys/${API}/usage/task-b.json`,
      `api-keys/${API}/usage/task-c.json`,
    ]);
    // When listed again, and once task-c's report is old too
    const again = await readKeyUsage(s3, BUCKET, API, { running, now: NOW });
    const later = new Date(NOW.getTime() + FOLD_AFTER_MS + 60_000);
    const afterFold = await readKeyUsage(s3, BUCKET, API, { running, now: later });
    // Then nothing is counted twice, and only the running task keeps an object of its own
    expect(again.keys.get(key.id)?.requests).toBe(123);
    expect(afterFold.keys.get(key.id)).toEqual({
      requests: 123,
      refused: 0,
      lastUsedAt: MINUTE_AGO,
    });
    expect(afterFold.unauthorized).toBe(3);
    expect(await objectsLeft(s3)).toEqual([
      `api-keys/${API}/usage/_stopped.json`,
      `api-keys/${API}/usage/task-b.json`,
    ]);
  });

  test("a fold whose deletes fail counts nothing twice, and deletes them at a later list", async () => {
    // Given three tasks' reports and a bucket that refuses deletes for now
    const s3 = new FakeAws().ports().s3;
    const key = newRecord();
    await threeTasks(s3, key.id);
    const refusing: S3Port = {
      ...s3,
      deleteObjects: () => Promise.reject(new Error("AccessDenied (from the test)")),
    };
    const running = new Set(["task-b"]);

    // When the keys are listed twice while deletes fail
    const first = await readKeyUsage(refusing, BUCKET, API, { running, now: NOW });
    const second = await readKeyUsage(refusing, BUCKET, API, { running, now: NOW });
    // Then the sums are right both times, though task-a's report is still there
    expect([first, second].map((usage) => usage.keys.get(key.id)?.requests)).toEqual([123, 123]);
    expect(await objectsLeft(s3)).toContain(`api-keys/${API}/usage/task-a.json`);

    // When deletes work again
    const third = await readKeyUsage(s3, BUCKET, API, { running, now: NOW });
    const fourth = await readKeyUsage(s3, BUCKET, API, { running, now: NOW });
    // Then the folded report is deleted, the fold forgets it, and the sums stay
    expect([third, fourth].map((usage) => usage.keys.get(key.id)?.requests)).toEqual([123, 123]);
    expect(await objectsLeft(s3)).not.toContain(`api-keys/${API}/usage/task-a.json`);
    const stopped = JSON.parse(
      new TextDecoder().decode(
        await s3.getObjectBytes({ Bucket: BUCKET, Key: keyUsageObjectKey(API, "_stopped") }),
      ),
    ) as { folded: string[] };
    expect(stopped.folded).toEqual([]);
  });
});
