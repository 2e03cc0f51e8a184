/**
 * API keys on ECS (issue 29), with the replica front as the process ECS would start: the key set
 * is written to a real moto S3 bucket by the module the ECS engine's `keys` verbs use
 * (providers/aws/api-keys.ts), and `axon-replica` — started with the environment a deploy gives
 * its task — re-reads it (every 500 ms here through AXON_KEY_REFRESH_MS; 30 s in a task). No ECS
 * tasks run on moto, so the engine's verbs themselves are covered by test/engine-parity.test.ts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseApiConfig } from "@axon/config";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { create as createTar } from "tar";
import { afterEach, describe, expect, test } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  readKeyUsage,
  writeApiKeys,
} from "../packages/control-plane/src/providers/aws/api-keys.js";
import { connectAws } from "../packages/control-plane/src/providers/aws/sdk.js";
import { replicaTaskEnvironment } from "../packages/control-plane/src/providers/aws/replica-env.js";
import type { S3Port } from "../packages/control-plane/src/providers/aws/sdk.js";
import {
  motoAvailable,
  startMoto,
} from "../packages/control-plane/src/providers/aws/testing/moto-server.js";
import { type ApiKeyRecord, createApiKey } from "../packages/control-plane/src/replica/api-keys.js";
import { freePort, IRIS_PYTHON, IRIS_REQUEST, REPO } from "./helpers.js";

const HAS_MOTO = motoAvailable();
const ENTRYPOINT = path.join(REPO, "packages/control-plane/bin/axon-replica.js");
const IRIS = path.join(REPO, "examples/iris-sklearn");
const BUCKET = "axon-demo-bundlebucket-keys";
const REFRESH_MS = 500;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function post(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(IRIS_REQUEST),
  });
}

/** The iris bundle in a moto bucket; the S3 port the ECS engine's key verbs write through. */
async function bucketWithIris(): Promise<{ url: string; sha256: string; s3: S3Port }> {
  const moto = await startMoto();
  cleanups.push(() => moto.stop());
  const dir = mkdtempSync(path.join(os.tmpdir(), "axon-keys-bundle-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const project = path.join(dir, "project");
  mkdirSync(project);
  for (const file of ["predictor.py", "model.pkl"]) {
    copyFileSync(path.join(IRIS, file), path.join(project, file));
  }
  const archive = path.join(dir, "bundle.tar.gz");
  createTar({ gzip: true, file: archive, cwd: project, portable: true, sync: true }, [
    "predictor.py",
    "model.pkl",
  ]);
  const bytes = readFileSync(archive);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const client = new S3Client({
    region: "us-east-1",
    endpoint: moto.url,
    forcePathStyle: true,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  });
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await client.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: `bundles/${sha256}.tar.gz`, Body: bytes }),
  );
  const s3: S3Port = {
    listObjectsV2: () => Promise.reject(new Error("not used")),
    deleteObjects: () => Promise.reject(new Error("not used")),
    putObject: (input) => client.send(new PutObjectCommand(input)),
    getObjectBytes: () => Promise.reject(new Error("not used")),
    getObjectWithEtag: () => Promise.reject(new Error("not used")),
  };
  return { url: moto.url, sha256, s3 };
}

function startReplica(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const work = mkdtempSync(path.join(os.tmpdir(), "axon-keys-work-"));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  let output = "";
  const child = spawn(process.execPath, [ENTRYPOINT], {
    env: { PATH: process.env.PATH ?? "", AXON_WORK_DIR: work, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  cleanups.push(() => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, "SIGKILL");
  });
  return { child, output: () => output };
}

function record(made: { id: string; hash: string }, extra: Partial<ApiKeyRecord> = {}) {
  return {
    id: made.id,
    name: null,
    hash: made.hash,
    createdAt: new Date().toISOString(),
    expiresAt: null,
    ratePerSecond: null,
    ...extra,
  };
}

describe.skipIf(!HAS_MOTO)("API keys in the ECS container (moto S3; skipped without moto)", () => {
  test("Given auth api_key, the container's front admits the bucket's keys, refuses others with 401, and a revoke lands within one re-read (measured)", async () => {
    // Given the iris API with `networking.auth: api_key`, and one key in the bucket
    const { url, sha256, s3 } = await bucketWithIris();
    const { apis } = parseApiConfig(
      `${readFileSync(path.join(IRIS, "axon.yaml"), "utf8")}  networking:\n    auth: api_key\n`,
      "axon.yaml",
    );
    const spec = apis[0];
    if (spec === undefined) throw new Error("the iris example has no API");
    const kept = createApiKey();
    const revoked = createApiKey();
    const limited = createApiKey();
    await writeApiKeys(s3, BUCKET, "iris-classifier", [
      record(kept),
      record(revoked),
      record(limited, { ratePerSecond: 1 }),
    ]);
    const port = await freePort();
    const replica = startReplica({
      ...replicaTaskEnvironment({
        spec,
        bucket: BUCKET,
        bundleSha256: sha256,
        region: "us-east-1",
      }),
      AXON_PORT: String(port),
      AXON_PYTHON: IRIS_PYTHON,
      AXON_KEY_REFRESH_MS: String(REFRESH_MS),
      AWS_ENDPOINT_URL: url,
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
    });
    for (let polls = 0; polls < 450 && !replica.output().includes("ready: POST"); polls++) {
      if (replica.child.exitCode !== null) throw new Error(replica.output());
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const endpoint = `http://127.0.0.1:${port}/iris-classifier`;

    // When called without a key, Then 401 says which header to send; health needs no key
    const anonymous = await post(endpoint);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).toContain("Authorization: Bearer <key>");
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    // And each header admits a key of the set
    const bearer = await post(endpoint, { authorization: `Bearer ${kept.key}` });
    expect(bearer.status).toBe(200);
    expect(await bearer.text()).toBe("virginica");
    expect((await post(endpoint, { "x-api-key": revoked.key })).status).toBe(200);
    // And the rate limit answers 429 with Retry-After
    const burst = await Promise.all(
      [1, 2, 3].map(() => post(endpoint, { "x-api-key": limited.key })),
    );
    expect(burst.map((r) => r.status).sort((a, b) => a - b)).toEqual([200, 429, 429]);
    expect(burst.find((r) => r.status === 429)?.headers.get("retry-after")).toBe("1");

    // When one key is revoked in the bucket
    const revokedAt = performance.now();
    await writeApiKeys(s3, BUCKET, "iris-classifier", [record(kept)]);
    let status = 200;
    for (let polls = 0; polls < 100 && status === 200; polls++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = (await post(endpoint, { "x-api-key": revoked.key })).status;
    }
    const tookMs = performance.now() - revokedAt;
    // Then it gets 401 once the front re-read (the other key still works)
    expect(status).toBe(401);
    expect((await post(endpoint, { "x-api-key": kept.key })).status).toBe(200);
    console.info(
      `revoke reached the container after ${tookMs.toFixed(0)} ms (re-read every ${REFRESH_MS} ms)`,
    );
    // And the log names refused requests by key id, never a key (one line a second at most)
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await post(endpoint, { "x-api-key": revoked.key })).status).toBe(401);
    // (the line reaches this process through a pipe, a moment after the response)
    for (let polls = 0; polls < 50 && !replica.output().includes(`(key ${revoked.id})`); polls++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(replica.output()).toContain(`(key ${revoked.id})`);
    expect(replica.output()).not.toContain(revoked.key);
  });
});

/** An ECS task metadata endpoint on 127.0.0.1 naming one task (what the ECS agent serves). */
async function taskMetadata(taskId: string): Promise<string> {
  const server = http.createServer((_request, response) => {
    response.setHeader("content-type", "application/json");
    response.end(
      JSON.stringify({ TaskARN: `arn:aws:ecs:us-east-1:123456789012:task/axon-demo/${taskId}` }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v4/${taskId}`;
}

describe.skipIf(!HAS_MOTO)("per-key counts from ECS tasks (moto S3; skipped without moto)", () => {
  test("Given two tasks serving one key, each writes its counts to the bucket and the engine sums them; a drained task's last requests are kept", async () => {
    // Given the iris API with keys, one key in the bucket, and two tasks (the front as a process)
    const { url, sha256, s3 } = await bucketWithIris();
    const { apis } = parseApiConfig(
      `${readFileSync(path.join(IRIS, "axon.yaml"), "utf8")}  networking:\n    auth: api_key\n`,
      "axon.yaml",
    );
    const spec = apis[0];
    if (spec === undefined) throw new Error("the iris example has no API");
    const key = createApiKey();
    await writeApiKeys(s3, BUCKET, "iris-classifier", [record(key)]);
    const aws = {
      AWS_ENDPOINT_URL: url,
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
    };
    const tasks = await Promise.all(
      ["1111aaaa2222bbbb", "3333cccc4444dddd"].map(async (taskId) => {
        const port = await freePort();
        const replica = startReplica({
          ...replicaTaskEnvironment({
            spec,
            bucket: BUCKET,
            bundleSha256: sha256,
            region: "us-east-1",
          }),
          AXON_PORT: String(port),
          AXON_PYTHON: IRIS_PYTHON,
          AXON_KEY_USAGE_REPORT_MS: "300",
          AXON_IN_FLIGHT_METRIC: "off",
          ECS_CONTAINER_METADATA_URI_V4: await taskMetadata(taskId),
          ...aws,
        });
        return { taskId, replica, endpoint: `http://127.0.0.1:${port}/iris-classifier` };
      }),
    );
    for (const { replica } of tasks) {
      for (let polls = 0; polls < 450 && !replica.output().includes("ready: POST"); polls++) {
        if (replica.child.exitCode !== null) throw new Error(replica.output());
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const [first, second] = tasks;
    if (first === undefined || second === undefined) throw new Error("two tasks");

    // When the key makes 3 requests on one task and 2 on the other, and one request has no key
    for (let i = 0; i < 3; i++) {
      expect((await post(first.endpoint, { "x-api-key": key.key })).status).toBe(200);
    }
    for (let i = 0; i < 2; i++) {
      expect((await post(second.endpoint, { authorization: `Bearer ${key.key}` })).status).toBe(
        200,
      );
    }
    expect((await post(second.endpoint)).status).toBe(401);

    // Then each task's report reaches the bucket, and the engine's sum is 5 requests, 1 refused
    const ports = await connectAws("us-east-1", aws);
    const summed = async (requests: number) => {
      for (let polls = 0; polls < 100; polls++) {
        const usage = await readKeyUsage(ports.s3, BUCKET, "iris-classifier");
        if (usage.keys.get(key.id)?.requests === requests) return usage;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`the bucket's reports never summed to ${requests} requests`);
    };
    const usage = await summed(5);
    expect(usage.tasks).toBe(2);
    expect(usage.unauthorized).toBe(1);
    expect(usage.keys.get(key.id)?.lastUsedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    const listed = await ports.s3.listObjectsV2({
      Bucket: BUCKET,
      Prefix: "api-keys/iris-classifier/usage/",
    });
    expect((listed.Contents ?? []).map((object) => object.Key ?? "").sort()).toEqual([
      "api-keys/iris-classifier/usage/1111aaaa2222bbbb.json",
      "api-keys/iris-classifier/usage/3333cccc4444dddd.json",
    ]);

    // When the first task serves one more request and is stopped (ECS's SIGTERM) at once
    expect((await post(first.endpoint, { "x-api-key": key.key })).status).toBe(200);
    first.replica.child.kill("SIGTERM");
    await new Promise((resolve) => first.replica.child.once("exit", resolve));
    // Then its drain wrote that request too, and the stopped task's total stays in the sum
    const after = await readKeyUsage(ports.s3, BUCKET, "iris-classifier");
    expect(after.keys.get(key.id)?.requests).toBe(6);
  });
});
