/**
 * A BatchAPI's job on ECS with its workers as the real container processes (issue 32): the example
 * `examples/batch-text-stats` deployed through the ECS engine on a moto cluster made by
 * `cluster up`'s own code, a job submitted through the engine, and `axon-replica` in batch mode run
 * as the processes RunTask would start — with the task definition's environment and the RunTask
 * override as moto recorded them (moto starts no container; shared/reference/moto.md). The
 * predictor writes each batch_id it finished, so the batches done are counted, not guessed.
 *
 * What moto cannot do is stop a task when its container exits: the test does (StopTask), as ECS
 * would once the process ended. AWS is reached through AWS_ENDPOINT_URL on the real moto server.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { create as createTar } from "tar";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { BundleStore } from "../packages/control-plane/src/bundles/bundle-store.js";
import type { BatchJobSpec } from "../packages/control-plane/src/contract/index.js";
import { BATCH_WAIT_SECONDS_ENV } from "../packages/control-plane/src/entrypoint/batch-entrypoint.js";
import type { ApiEngine } from "../packages/control-plane/src/engines/api-engine.js";
import { engineFor, type EngineContext } from "../packages/control-plane/src/engines/engine-for.js";
import { jobStartedBy } from "../packages/control-plane/src/providers/aws/batch-names.js";
import {
  createMotoCluster,
  type MotoCluster,
} from "../packages/control-plane/src/providers/aws/testing/moto-cluster.js";
import {
  motoAvailable,
  startMoto,
  type MotoServer,
} from "../packages/control-plane/src/providers/aws/testing/moto-server.js";
import { planDeploy } from "../packages/control-plane/src/services/deploy-plan.js";
import { StateStore } from "../packages/control-plane/src/state/store.js";
import { REPO } from "./helpers.js";

const HAS_MOTO = motoAvailable();
const ENTRYPOINT = path.join(REPO, "packages/control-plane/bin/axon-replica.js");
const EXAMPLE = path.join(REPO, "examples/batch-text-stats");

let moto: MotoServer | undefined;
afterAll(async () => {
  await moto?.stop();
});
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Prod {
  motoUrl: string;
  cluster: MotoCluster;
  engine: ApiEngine;
}

/** Environment `prod` on a fresh moto cluster with the example deployed as a BatchAPI on it. */
async function prodWithExample(): Promise<Prod> {
  moto ??= await startMoto();
  await moto.reset();
  // RunTask's tasks stay RUNNING until stopped, as a worker's task does while its process runs.
  const transition = await fetch(`${moto.url}/moto-api/state-manager/set-transition`, {
    method: "POST",
    body: JSON.stringify({
      model_name: "ecs::task",
      transition: { progression: "manual", times: 1_000_000 },
    }),
  });
  if (!transition.ok) throw new Error(`moto set-transition answered ${transition.status}`);
  const cluster = await createMotoCluster(moto);
  const home = tempDir("axon-batch-container-");
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
  const archive = path.join(tempDir("axon-batch-archive-"), "project.tar.gz");
  createTar({ gzip: true, file: archive, cwd: EXAMPLE, sync: true, portable: true }, [
    "predictor.py",
  ]);
  const bytes = readFileSync(archive);
  const bundle = createHash("sha256").update(bytes).digest("hex");
  await bundles.receive(bundle, Readable.from([bytes]));
  const context = { store, bundles, connect: () => Promise.resolve(cluster.ports) };
  const engine = engineFor(context as unknown as EngineContext, {
    headers: { "axon-env": "prod" },
  });
  const plan = await planDeploy({ bundles }, engine, {
    config: readFileSync(path.join(EXAMPLE, "cortex.yaml"), "utf8"),
    configFileName: "cortex.yaml",
    bundle,
  });
  const deployed = await engine.deploy(plan, { signal: AbortSignal.timeout(120_000) });
  expect(deployed.results.map((result) => [result.api, result.outcome])).toEqual([
    ["text-stats", "created"],
  ]);
  return { motoUrl: moto.url, cluster, engine };
}

/**
 * The container environment of the job's first worker task as moto recorded it: the task
 * definition's, with RunTask's container override on top (ECS's own precedence).
 */
async function workerEnvironment(prod: Prod, job: BatchJobSpec): Promise<Record<string, string>> {
  const { ecs } = prod.cluster.ports;
  const clusterName = prod.cluster.refs.clusterName;
  const listed = await ecs.listTasks({ cluster: clusterName, startedBy: jobStartedBy(job.job_id) });
  const described = await ecs.describeTasks({ cluster: clusterName, tasks: listed.taskArns ?? [] });
  const task = described.tasks?.[0];
  if (task?.taskDefinitionArn === undefined) throw new Error("RunTask started no task");
  const definition = await ecs.describeTaskDefinition({ taskDefinition: task.taskDefinitionArn });
  const pairs = [
    ...(definition.taskDefinition?.containerDefinitions?.[0]?.environment ?? []),
    ...(task.overrides?.containerOverrides?.[0]?.environment ?? []),
  ];
  return Object.fromEntries(pairs.map(({ name, value }) => [name ?? "", value ?? ""]));
}

interface Worker {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

/**
 * One worker container's process, in a process group of its own so that a kill -9 takes the whole
 * "container" (the entrypoint, its Python worker and its log copier) as ECS's would.
 */
function startWorker(prod: Prod, env: Record<string, string>): Worker {
  const work = tempDir("axon-batch-work-");
  let output = "";
  const child = spawn(process.execPath, [ENTRYPOINT], {
    env: {
      PATH: process.env.PATH ?? "",
      ...env,
      AXON_WORK_DIR: work,
      AXON_PYTHON: "python3",
      AWS_ENDPOINT_URL: prod.motoUrl,
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
      // An empty queue is noticed after 1 s instead of SQS's 20 s long poll.
      [BATCH_WAIT_SECONDS_ENV]: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  cleanups.push(() => killGroup(child));
  return { child, output: () => output, exit };
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Waits for a worker's exit code, failing with its output when it takes more than 90 s. */
async function exitOf(worker: Worker): Promise<number | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the worker did not exit:\n${worker.output()}`)),
      90_000,
    );
  });
  try {
    return await Promise.race([worker.exit, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** What ECS does when a task's container exits: the task stops. moto needs telling. */
async function stopJobTasks(prod: Prod, job: BatchJobSpec): Promise<void> {
  const { ecs } = prod.cluster.ports;
  const clusterName = prod.cluster.refs.clusterName;
  const listed = await ecs.listTasks({ cluster: clusterName, startedBy: jobStartedBy(job.job_id) });
  for (const task of listed.taskArns ?? []) {
    await ecs.stopTask({ cluster: clusterName, task, reason: "Essential container exited" });
  }
}

/** The batch ids the predictor wrote as done (one line per finished predict). */
function batchesDone(resultsDir: string, job: BatchJobSpec): string[] {
  const file = path.join(resultsDir, job.job_id, "batches.log");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").filter(Boolean);
}

/** An SQS client of the test's moto (destroyed after the test). */
function motoSqs(prod: Prod): SQSClient {
  const sqs = new SQSClient({
    region: "us-east-1",
    endpoint: prod.motoUrl,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  });
  cleanups.push(() => sqs.destroy());
  return sqs;
}

const texts = (count: number): string[] =>
  Array.from({ length: count }, (_, index) => `text number ${index}`);

describe.skipIf(!HAS_MOTO)("axon-replica in batch mode on moto (skipped without moto)", () => {
  test("Given a job of 12 items in batches of 2 with 2 workers, When the two worker processes run, Then every batch is done once, both exit 0, on_job_complete ran once, and the job ends status_succeeded", async () => {
    // Given
    const prod = await prodWithExample();
    const results = tempDir("axon-batch-results-");
    const job = await prod.engine.submitJob("text-stats", {
      workers: 2,
      item_list: { items: texts(12), batch_size: 2 },
      config: { results_dir: results, seconds_per_batch: 0.1 },
    });
    const env = await workerEnvironment(prod, job);
    expect(env["AXON_MODE"]).toBe("batch");
    expect(env["AXON_BATCH_QUEUE_URL"]).toBe(job.sqs_url);

    // When
    const workers = [startWorker(prod, env), startWorker(prod, env)];
    const codes = await Promise.all(workers.map(exitOf));
    await stopJobTasks(prod, job);

    // Then
    expect(codes, workers.map((w) => w.output()).join("\n---\n")).toEqual([0, 0]);
    const done = batchesDone(results, job);
    expect(done).toHaveLength(6);
    expect(new Set(done).size).toBe(6);
    const summary = JSON.parse(
      readFileSync(path.join(results, job.job_id, "summary.json"), "utf8"),
    ) as { batches: number };
    expect(summary.batches).toBe(6);
    const ran = workers.filter((w) => w.output().includes("on_job_complete ran"));
    expect(ran).toHaveLength(1);
    const status = await prod.engine.getJob("text-stats", job.job_id);
    expect(status.job_status).toMatchObject({
      status: "status_succeeded",
      batches_in_queue: 0,
      batch_metrics: { succeeded: 6, failed: 0 },
    });
  });

  test("Given two workers on a job with a 3 s visibility timeout, When one worker container is killed -9 mid-job, Then the other takes its batch when the lease runs out and no batch is lost", async () => {
    // Given
    const prod = await prodWithExample();
    const results = tempDir("axon-batch-results-");
    const job = await prod.engine.submitJob("text-stats", {
      workers: 2,
      item_list: { items: texts(16), batch_size: 2 },
      config: { results_dir: results, seconds_per_batch: 0.8 },
      timeout: 3,
    });
    const env = await workerEnvironment(prod, job);
    const [victim, survivor] = [startWorker(prod, env), startWorker(prod, env)];
    if (victim === undefined || survivor === undefined) throw new Error("no workers");

    // When: killed once a batch is done and both workers hold one (two in flight in SQS)
    const sqs = motoSqs(prod);
    const inFlight = async (): Promise<string | undefined> =>
      (
        await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: job.sqs_url ?? "",
            AttributeNames: ["ApproximateNumberOfMessagesNotVisible"],
          }),
        )
      ).Attributes?.["ApproximateNumberOfMessagesNotVisible"];
    for (let polls = 0; polls < 1200 && victim.child.exitCode === null; polls++) {
      if (batchesDone(results, job).length >= 1 && (await inFlight()) === "2") break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(victim.child.exitCode, victim.output()).toBeNull();
    expect(await inFlight()).toBe("2");
    killGroup(victim.child);
    expect(await victim.exit).toBeNull();
    const code = await exitOf(survivor);
    await stopJobTasks(prod, job);

    // Then: every batch was done, none lost (the one in flight when killed may be done twice)
    expect(code, survivor.output()).toBe(0);
    const done = batchesDone(results, job);
    expect(new Set(done).size).toBe(8);
    expect(done.length).toBeLessThanOrEqual(9);
    const status = await prod.engine.getJob("text-stats", job.job_id);
    expect(status.job_status).toMatchObject({
      status: "status_succeeded",
      batch_metrics: { succeeded: 8, failed: 0 },
    });
  });

  test("Given a worker in the middle of a batch, When its task is stopped (SIGTERM), Then it finishes that batch, takes no other, and exits 0, leaving the rest queued", async () => {
    // Given
    const prod = await prodWithExample();
    const results = tempDir("axon-batch-results-");
    const job = await prod.engine.submitJob("text-stats", {
      workers: 1,
      item_list: { items: texts(8), batch_size: 2 },
      config: { results_dir: results, seconds_per_batch: 1.5 },
    });
    const worker = startWorker(prod, await workerEnvironment(prod, job));
    // Until one batch is done and the next is leased (in flight in SQS): it is in predict now.
    const sqs = motoSqs(prod);
    const inFlight = async (): Promise<string | undefined> =>
      (
        await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: job.sqs_url ?? "",
            AttributeNames: ["ApproximateNumberOfMessagesNotVisible"],
          }),
        )
      ).Attributes?.["ApproximateNumberOfMessagesNotVisible"];
    for (let polls = 0; polls < 1200 && worker.child.exitCode === null; polls++) {
      if (batchesDone(results, job).length === 1 && (await inFlight()) === "1") break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(batchesDone(results, job), worker.output()).toHaveLength(1);
    expect(await inFlight()).toBe("1");

    // When: StopTask's SIGTERM, while the second batch runs
    worker.child.kill("SIGTERM");

    // Then
    expect(await exitOf(worker), worker.output()).toBe(0);
    expect(worker.output()).toContain("stopping: no new batch");
    expect(batchesDone(results, job), worker.output()).toHaveLength(2);
    const status = await prod.engine.getJob("text-stats", job.job_id);
    expect(status.job_status).toMatchObject({ batches_in_queue: 2 });
  });

  test("Given a batch whose predict raises, When the workers run the job (max_retries 1), Then it is tried twice, lands in the dead-letter queue, and the job ends status_completed_with_failures showing the error", async () => {
    // Given
    const prod = await prodWithExample();
    const results = tempDir("axon-batch-results-");
    const items = [...texts(6), "poison"];
    const job = await prod.engine.submitJob("text-stats", {
      workers: 2,
      item_list: { items, batch_size: 2 },
      config: { results_dir: results, fail_on: "poison" },
      max_retries: 1,
    });
    const env = await workerEnvironment(prod, job);

    // When
    const workers = [startWorker(prod, env), startWorker(prod, env)];
    const codes = await Promise.all(workers.map(exitOf));

    // Then: both exit 0 (a failing batch is the job's, not the worker's), the batch raised twice
    expect(codes, workers.map((w) => w.output()).join("\n---\n")).toEqual([0, 0]);
    const attempts = workers
      .flatMap((w) => w.output().split("\n"))
      .flatMap(
        (line) => /axon-replica: job \S+: batch \S+ raised \(attempt (\d)\)/.exec(line) ?? [],
      )
      .filter((_, index) => index % 2 === 1);
    expect(attempts.sort()).toEqual(["1", "2"]);
    // And the batch is in the dead-letter queue (SQS's redrive), the others done
    const dlq = await motoSqs(prod).send(
      new GetQueueAttributesCommand({
        QueueUrl: `${job.sqs_url ?? ""}-dlq`,
        AttributeNames: ["ApproximateNumberOfMessages"],
      }),
    );
    expect(dlq.Attributes?.["ApproximateNumberOfMessages"]).toBe("1");
    expect(batchesDone(results, job)).toHaveLength(3);
    await stopJobTasks(prod, job);
    const status = await prod.engine.getJob("text-stats", job.job_id);
    expect(status.job_status).toMatchObject({
      status: "status_completed_with_failures",
      batch_metrics: { succeeded: 3, failed: 1 },
    });
    expect(JSON.stringify(status.job_status.failures)).toContain("refusing item 'poison'");
  });

  test("Given a predictor whose __init__ raises, When a worker starts, Then it exits 1 with a line saying the predictor cannot run and why, and the job's batches stay queued", async () => {
    // Given: results_dir under a file, which os.makedirs cannot create
    const prod = await prodWithExample();
    const job = await prod.engine.submitJob("text-stats", {
      workers: 1,
      item_list: { items: texts(4), batch_size: 2 },
      config: { results_dir: "/dev/null/nowhere" },
    });
    const env = await workerEnvironment(prod, job);

    // When
    const worker = startWorker(prod, env);

    // Then
    expect(await exitOf(worker), worker.output()).toBe(1);
    expect(worker.output()).toMatch(
      /axon-replica: cannot run: the predictor cannot run .*__init__/,
    );
    expect(worker.output()).toMatch(/NotADirectoryError|FileExistsError|Not a directory/);
    const status = await prod.engine.getJob("text-stats", job.job_id);
    expect(status.job_status.batches_in_queue).toBe(2);
  });
});
