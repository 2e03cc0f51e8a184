/**
 * The replica image's entrypoint, `axon-replica`, as the process ECS would start (issue 18): the
 * exact environment `replicaTaskEnvironment` gives a task (only the port is a free one instead of
 * 8080, and the work folder a temp dir), AWS reached through AWS_ENDPOINT_URL on a real moto S3.
 * It downloads the iris example's bundle by hash, serves it, answers the health check, and drains
 * on SIGTERM. No Docker engine here: the image itself is built elsewhere (docs/aws.md).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseApiConfig } from "@axon/config";
import {
  CreateBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { create as createTar } from "tar";
import { afterEach, describe, expect, test } from "vitest";
import { replicaTaskEnvironment } from "../packages/control-plane/src/providers/aws/replica-env.js";
import type { AwsClusterRefs } from "../packages/control-plane/src/providers/aws/api-names.js";
import { taskDefinitionInput } from "../packages/control-plane/src/providers/aws/api-task-definition.js";
import { parsePredictionLine } from "../packages/control-plane/src/replica/prediction-lines.js";
import {
  motoAvailable,
  startMoto,
  type MotoServer,
} from "../packages/control-plane/src/providers/aws/testing/moto-server.js";
import { freePort, IRIS_PYTHON, IRIS_REQUEST, postJson, REPO } from "./helpers.js";

const HAS_MOTO = motoAvailable();
const ENTRYPOINT = path.join(REPO, "packages/control-plane/bin/axon-replica.js");
const IRIS = path.join(REPO, "examples/iris-sklearn");

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A moto S3 with the iris example's bundle (plus `extra` project files) in the cluster bucket. */
async function motoWithBundle(
  extra: Record<string, string> = {},
): Promise<{ moto: MotoServer; sha256: string; bucket: string; s3: S3Client }> {
  const moto = await startMoto();
  cleanups.push(() => moto.stop());
  const dir = mkdtempSync(path.join(os.tmpdir(), "axon-replica-bundle-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const project = path.join(dir, "project");
  mkdirSync(project);
  for (const file of ["predictor.py", "model.pkl"]) {
    copyFileSync(path.join(IRIS, file), path.join(project, file));
  }
  for (const [file, text] of Object.entries(extra)) writeFileSync(path.join(project, file), text);
  const archive = path.join(dir, "bundle.tar.gz");
  createTar({ gzip: true, file: archive, cwd: project, portable: true, sync: true }, [
    "predictor.py",
    "model.pkl",
    ...Object.keys(extra),
  ]);
  const bytes = readFileSync(archive);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const bucket = "axon-demo-bundlebucket-1";
  const s3 = new S3Client({
    region: "us-east-1",
    endpoint: moto.url,
    forcePathStyle: true,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: `bundles/${sha256}.tar.gz`, Body: bytes }),
  );
  return { moto, sha256, bucket, s3 };
}

interface Started {
  child: ChildProcess;
  work: string;
  output: () => string;
  exit: Promise<number | null>;
}

function startReplica(env: Record<string, string>, workDir?: string): Started {
  const work = workDir ?? mkdtempSync(path.join(os.tmpdir(), "axon-replica-work-"));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  let output = "";
  const child = spawn(process.execPath, [ENTRYPOINT], {
    env: { PATH: process.env.PATH ?? "", AXON_WORK_DIR: work, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  cleanups.push(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  return { child, work, output: () => output, exit };
}

/** Resolves once `text` appears in the output, or rejects if the process exits first. */
async function outputShows(started: Started, text: string): Promise<void> {
  for (let polls = 0; polls < 450 && !started.output().includes(text); polls++) {
    if (started.child.exitCode !== null) {
      throw new Error(
        `axon-replica exited (${started.child.exitCode}) before "${text}":\n${started.output()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(started.output()).toContain(text);
}

/**
 * Processes whose command line names `dir` (the log copier, the workers), once they have had a
 * moment to notice their parent is gone (tail checks every second): [] when nothing is left.
 */
async function processesUsing(dir: string): Promise<string[]> {
  const find = (): string[] =>
    spawnSync("pgrep", ["-af", dir], { encoding: "utf8" })
      .stdout.split("\n")
      .filter((line) => line.trim() !== "" && !line.includes("pgrep"));
  for (let polls = 0; polls < 50 && find().length > 0; polls++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return find();
}

/** A cluster's refs as its stack would give them, with the test's bucket (moto runs no ECS tasks). */
function clusterRefsFor(bucket: string): AwsClusterRefs {
  return {
    envName: "prod",
    region: "us-east-1",
    clusterName: "axon-demo",
    listenerArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/axon-demo/1/2",
    loadBalancerArn:
      "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/axon-demo/1",
    loadBalancerDnsName: "axon-demo-1.us-east-1.elb.amazonaws.com",
    bucketName: bucket,
    logGroupName: "/axon/demo",
    executionRoleArn: "arn:aws:iam::123456789012:role/execution",
    taskRoleArn: "arn:aws:iam::123456789012:role/task",
    taskSecurityGroupId: "sg-1",
    taskSubnetIds: ["subnet-1", "subnet-2"],
    assignPublicIp: true,
    vpcId: "vpc-1",
    image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0",
  };
}

describe.skipIf(!HAS_MOTO)("axon-replica on a moto S3 (skipped when python3 has no moto)", () => {
  test("Given the environment of the task definition a deploy registers, it fetches the iris bundle by hash, serves it, answers health, and drains on SIGTERM", async () => {
    const { moto, sha256, bucket } = await motoWithBundle();
    // The iris example with Cortex 0.20's monitoring block (prediction lines on ECS)
    const { apis } = parseApiConfig(
      `${readFileSync(path.join(IRIS, "axon.yaml"), "utf8")}  monitoring:\n    model_type: classification\n`,
      "axon.yaml",
    );
    const spec = apis[0];
    if (spec === undefined) throw new Error("the iris example has no API");
    const port = await freePort();
    // The container environment of the task definition a deploy registers (issue 20)
    const taskDefinition = taskDefinitionInput(spec, clusterRefsFor(bucket), sha256);
    const taskEnv = Object.fromEntries(
      (taskDefinition.containerDefinitions?.[0]?.environment ?? []).map(({ name, value }) => [
        name ?? "",
        value ?? "",
      ]),
    );
    expect(taskEnv["AXON_PORT"]).toBe("8080");
    expect(taskEnv["AXON_BUNDLE_SHA256"]).toBe(sha256);

    // When the entrypoint starts with that environment (and moto's endpoint and keys)
    const replica = startReplica({
      ...taskEnv,
      AXON_PORT: String(port),
      AXON_PYTHON: IRIS_PYTHON,
      AWS_ENDPOINT_URL: moto.url,
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
    });
    await outputShows(replica, "ready: POST /iris-classifier");

    // Then it downloaded the bundle by its hash, answers health, and serves the model
    expect(replica.output()).toContain(`downloading s3://${bucket}/bundles/${sha256}.tar.gz`);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ready" });
    const prediction = await postJson(`http://127.0.0.1:${port}/iris-classifier`, IRIS_REQUEST);
    expect(prediction.status).toBe(200);
    expect(prediction.text).toBe("virginica");
    expect((await fetch(`http://127.0.0.1:${port}/elsewhere`, { method: "POST" })).status).toBe(
      404,
    );
    // And a body that arrives after its head (chunked, in two pieces) is admitted, then served
    const encoder = new TextEncoder();
    const pieces = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode("[5.9, 3.0,"));
        setTimeout(() => {
          controller.enqueue(encoder.encode(" 5.1, 1.8]"));
          controller.close();
        }, 50);
      },
    });
    const streamed = await fetch(`http://127.0.0.1:${port}/iris-classifier`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: pieces,
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(200);
    expect(await streamed.text()).toBe("virginica");

    // When ECS stops the task, Then it drains and exits 0, leaving no process behind
    replica.child.kill("SIGTERM");
    expect(await replica.exit).toBe(0);
    expect(await processesUsing(replica.work)).toEqual([]);
    expect(replica.output()).toMatch(
      /draining: requests in flight get up to 60s\n(.|\n)*axon-replica: stopped\n/,
    );
    // And before it stopped it printed what it answered, for `axon get --env` (prediction lines)
    const tallies = replica
      .output()
      .split("\n")
      .flatMap((line) => {
        const parsed = parsePredictionLine(line);
        return parsed === undefined ? [] : [parsed];
      });
    expect(tallies).toHaveLength(1);
    expect(tallies[0]).toMatchObject({
      api: "iris-classifier",
      tally: { modelType: "classification", count: 2, classes: { virginica: 2 } },
    });
  });

  test("Given a smoke test the predictor fails, the replica never reports healthy and exits 1 naming payload, expected and actual", async () => {
    // Given the iris bundle with its sample payload, and a smoke test expecting another species
    const { moto, sha256, bucket } = await motoWithBundle({
      "sample.json": "[5.9, 3.0, 5.1, 1.8]\n",
    });
    const { apis } = parseApiConfig(
      `${readFileSync(path.join(IRIS, "axon.yaml"), "utf8")}    smoke_test:\n      payload: sample.json\n      expect_json: setosa\n`,
      "axon.yaml",
    );
    const spec = apis[0];
    if (spec === undefined) throw new Error("the iris example has no API");
    const port = await freePort();
    const taskDefinition = taskDefinitionInput(spec, clusterRefsFor(bucket), sha256);
    const taskEnv = Object.fromEntries(
      (taskDefinition.containerDefinitions?.[0]?.environment ?? []).map(({ name, value }) => [
        name ?? "",
        value ?? "",
      ]),
    );

    // When the entrypoint starts, and its readiness is polled until the process ends
    const replica = startReplica({
      ...taskEnv,
      AXON_PORT: String(port),
      AXON_PYTHON: IRIS_PYTHON,
      AWS_ENDPOINT_URL: moto.url,
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
    });
    const healthStatuses = new Set<number>();
    for (let polls = 0; polls < 600 && replica.child.exitCode === null; polls++) {
      const health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      if (health !== undefined) healthStatuses.add(health.status);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    // Then it never answered 200 (the target group never sees it healthy), and it exits 1 with why
    expect(await replica.exit).toBe(1);
    expect([...healthStatuses]).not.toContain(200);
    expect(replica.output()).toContain(
      'smoke test failed: POST sample.json answered 200 virginica, expected status 200 and a body containing "setosa"',
    );
    expect(replica.output()).not.toContain("ready: POST");
  });

  test("Given a wrong bundle hash or a missing variable, it exits 1 naming what is wrong", async () => {
    const { moto, bucket } = await motoWithBundle();
    const { apis } = parseApiConfig(
      readFileSync(path.join(IRIS, "axon.yaml"), "utf8"),
      "axon.yaml",
    );
    const spec = apis[0];
    if (spec === undefined) throw new Error("the iris example has no API");
    const aws = {
      AWS_ENDPOINT_URL: moto.url,
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
    };
    // A hash no object has
    const missing = startReplica({
      ...replicaTaskEnvironment({
        spec,
        bucket,
        bundleSha256: "0".repeat(64),
        region: "us-east-1",
      }),
      ...aws,
    });
    expect(await missing.exit).toBe(1);
    expect(missing.output()).toContain("axon-replica: cannot start:");
    expect(missing.output()).toContain(`bundles/${"0".repeat(64)}.tar.gz`);
    // No bucket variable
    const env = replicaTaskEnvironment({
      spec,
      bucket,
      bundleSha256: "0".repeat(64),
      region: "us-east-1",
    });
    delete env["AXON_BUNDLE_BUCKET"];
    const noBucket = startReplica({ ...env, ...aws });
    expect(await noBucket.exit).toBe(1);
    expect(noBucket.output()).toBe(
      "axon-replica: cannot start: AXON_BUNDLE_BUCKET is not set: the task definition must set it\n",
    );
  });

  test("Given a project with requirements.txt, the first task builds its Python environment and stores it in the cluster bucket, and a second task unpacks it without running pip", async () => {
    // A requirement the base interpreter's packages satisfy, so pip needs no index here
    const { moto, sha256, bucket, s3 } = await motoWithBundle({
      "requirements.txt": "scikit-learn\n",
    });
    const { apis } = parseApiConfig(
      readFileSync(path.join(IRIS, "axon.yaml"), "utf8"),
      "axon.yaml",
    );
    const spec = apis[0];
    if (spec === undefined) throw new Error("the iris example has no API");
    const env = {
      ...replicaTaskEnvironment({ spec, bucket, bundleSha256: sha256, region: "us-east-1" }),
      AXON_PYTHON: IRIS_PYTHON,
      AWS_ENDPOINT_URL: moto.url,
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
    };
    // Both tasks use the same work folder path, as every task of the image does (/var/lib/axon)
    const work = mkdtempSync(path.join(os.tmpdir(), "axon-replica-work-"));
    cleanups.push(() => rmSync(work, { recursive: true, force: true }));

    // When the first task starts, Then it runs pip and stores the environment's archive
    const port = await freePort();
    const first = startReplica({ ...env, AXON_PORT: String(port) }, work);
    await outputShows(first, "ready: POST /iris-classifier");
    expect(first.output()).toContain("building it from requirements.txt");
    expect(first.output()).toContain("Requirement already satisfied: scikit-learn");
    expect(first.output()).toMatch(/Python environment [0-9a-f]{32} stored in s3:\/\//);
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: "environments/" }),
    );
    expect((listed.Contents ?? []).map((object) => object.Key)).toEqual([
      expect.stringMatching(/^environments\/[0-9a-f]{32}\.tar\.gz$/),
    ]);
    first.child.kill("SIGTERM");
    expect(await first.exit).toBe(0);
    rmSync(path.join(work, "env"), { recursive: true, force: true });

    // When a second task starts on a fresh file system, Then it unpacks the archive and pip does not run
    const second = startReplica({ ...env, AXON_PORT: String(port) }, work);
    await outputShows(second, "ready: POST /iris-classifier");
    expect(second.output()).toMatch(/Python environment [0-9a-f]{32} unpacked from s3:\/\//);
    expect(second.output()).not.toContain("Requirement already satisfied");
    expect(second.output()).not.toContain("building it from requirements.txt");
    // And it serves from that environment
    const prediction = await postJson(`http://127.0.0.1:${port}/iris-classifier`, IRIS_REQUEST);
    expect(prediction.text).toBe("virginica");
    second.child.kill("SIGTERM");
    expect(await second.exit).toBe(0);
  });

  test("Given a replica still fetching its project, liveness (/livez) answers 200 while readiness (/healthz) says 503", async () => {
    const { moto, sha256, bucket } = await motoWithBundle();
    const { apis } = parseApiConfig(
      readFileSync(path.join(IRIS, "axon.yaml"), "utf8"),
      "axon.yaml",
    );
    const spec = apis[0];
    if (spec === undefined) throw new Error("the iris example has no API");
    const port = await freePort();
    // A predictor that takes a while to load stands in for a long environment download
    const replica = startReplica({
      ...replicaTaskEnvironment({ spec, bucket, bundleSha256: sha256, region: "us-east-1" }),
      AXON_PORT: String(port),
      AXON_PYTHON: IRIS_PYTHON,
      AWS_ENDPOINT_URL: moto.url,
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
    });
    await outputShows(replica, "listening on port");
    // Then the container's health check passes before the replica is ready, the target group's does not
    const live = await fetch(`http://127.0.0.1:${port}/livez`);
    expect(live.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${port}/healthz`);
    if (!replica.output().includes("ready: POST")) expect(ready.status).toBe(503);
    await outputShows(replica, "ready: POST /iris-classifier");
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    replica.child.kill("SIGTERM");
    expect(await replica.exit).toBe(0);
  });

  test("Given a task stopped while it builds its Python environment, it ends the build and exits 0 at once instead of when ECS's stop timeout runs out", async () => {
    const { moto, sha256, bucket } = await motoWithBundle({ "requirements.txt": "scikit-learn\n" });
    const { apis } = parseApiConfig(
      readFileSync(path.join(IRIS, "axon.yaml"), "utf8"),
      "axon.yaml",
    );
    const spec = apis[0];
    if (spec === undefined) throw new Error("the iris example has no API");
    const replica = startReplica({
      ...replicaTaskEnvironment({ spec, bucket, bundleSha256: sha256, region: "us-east-1" }),
      AXON_PORT: String(await freePort()),
      AXON_PYTHON: IRIS_PYTHON,
      AWS_ENDPOINT_URL: moto.url,
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
    });
    // When ECS stops the task while the environment is being built
    await outputShows(replica, "building it from requirements.txt");
    replica.child.kill("SIGTERM");

    // Then it exits 0 without ever being ready, and leaves no build step running
    expect(await replica.exit).toBe(0);
    expect(replica.output()).toContain("axon-replica: stopped before it was ready\n");
    expect(replica.output()).not.toContain("ready: POST");
    expect(await processesUsing(replica.work)).toEqual([]);
  });
});
