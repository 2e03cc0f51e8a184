/**
 * Batch jobs on the local engine, end to end (issue 32): the Cortex 0.20 example deployed with the
 * built CLI to a real daemon, jobs submitted and read through Cortex's endpoints on the gateway,
 * real Python workers, and a kill -9 of the daemon mid-job.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, describe, expect, test } from "vitest";
import type {
  BatchJobResponse,
  BatchJobSpec,
} from "../packages/control-plane/src/contract/index.js";
import {
  copyExample,
  freePort,
  isAlive,
  makeTestCluster,
  postJson,
  waitFor,
  workerPidsUnder,
} from "./helpers.js";
import {
  motoAvailable,
  startMoto,
  type MotoServer,
} from "../packages/control-plane/src/providers/aws/testing/moto-server.js";
import { startTerminal } from "../packages/cli/src/testing/tmux.js";

const TERMINAL = new Set([
  "status_succeeded",
  "status_enqueue_failed",
  "status_completed_with_failures",
  "status_stopped",
  "status_worker_error",
  "status_worker_oom",
  "status_unexpected_error",
]);

async function submit(endpoint: string, body: unknown): Promise<BatchJobSpec> {
  const answer = await postJson(endpoint, body);
  expect(answer.status, answer.text).toBe(200);
  return JSON.parse(answer.text) as BatchJobSpec;
}

async function jobStatus(url: string): Promise<BatchJobResponse["job_status"]> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return ((await response.json()) as BatchJobResponse).job_status;
}

async function untilOver(url: string, timeoutMs = 60_000): Promise<BatchJobResponse["job_status"]> {
  return waitFor(
    `job ${url} to end`,
    async () => {
      const status = await jobStatus(url).catch(() => undefined);
      return status !== undefined && TERMINAL.has(status.status) ? status : undefined;
    },
    timeoutMs,
  );
}

/** The batches the example predictor wrote, in the job's output folder (`AXON_JOB_OUTPUT_DIR`). */
function batchLog(home: string, jobId: string): string[] {
  const file = path.join(home, "batch", "text-stats", jobId, "batches.log");
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}

describe("BatchAPI on the local engine", () => {
  test("a Cortex 0.20 BatchAPI runs unchanged: submit, status by path and ?jobID=, a 400 naming the field, retries, stop", async () => {
    // Given the example deployed as it is, with --wait (which has nothing to wait for: a BatchAPI
    // runs no replica, so the deploy ends once recorded, however short the timeout)
    const c = await makeTestCluster();
    const project = copyExample("batch-text-stats");
    const deploy = await c.axon(["deploy", project, "--wait", "--wait-timeout", "1s"]);
    expect(deploy.code, deploy.stderr).toBe(0);
    const endpoint = `http://localhost:${c.gatewayPort}/text-stats`;
    // And its output says it is deployed and how to submit a job, with axon and with curl
    expect(deploy.stdout).toContain("text-stats (BatchAPI) is deployed: it runs no replica");
    expect(deploy.stdout).toContain("axon submit text-stats job.json");
    expect(deploy.stdout).toContain(
      `curl ${endpoint} -X POST -H "Content-Type: application/json" -d @job.json`,
    );

    // When a malformed job is submitted, Then a 400 names the field and its bound
    const bad = await postJson(endpoint, { workers: 2, item_list: { items: [1], batch_size: 0 } });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toMatchObject({
      code: "job.invalid",
      message: expect.stringContaining(
        "item_list.batch_size must be an integer in [1, 100000] (got 0)",
      ),
    });

    // When a job of 9 items in batches of 2 runs on 2 workers
    const items = ["a b", "c", "d e f", "g", "h", "i j", "k", "l m n", "o"];
    const job = await submit(endpoint, {
      workers: 2,
      item_list: { items, batch_size: 2 },
    });
    expect(job).toMatchObject({
      api_name: "text-stats",
      workers: 2,
      sqs_url: null,
      total_batch_count: 5,
    });
    const done = await untilOver(`${endpoint}/${job.job_id}`);

    // Then it succeeded with every batch written once, on_job_complete ran once, and ?jobID= agrees
    expect(done).toMatchObject({
      status: "status_succeeded",
      batches_in_queue: 0,
      batch_metrics: { succeeded: 5, failed: 0 },
    });
    expect(batchLog(c.home, job.job_id).sort()).toEqual([
      "b-000000",
      "b-000001",
      "b-000002",
      "b-000003",
      "b-000004",
    ]);
    expect(
      JSON.parse(
        readFileSync(path.join(c.home, "batch", "text-stats", job.job_id, "summary.json"), "utf8"),
      ),
    ).toEqual({
      job_id: job.job_id,
      batches: 5,
    });
    expect((await jobStatus(`${endpoint}?jobID=${job.job_id}`)).status).toBe("status_succeeded");
    // And the API's log names the job and how it ended
    const logs = await c.axon(["logs", "text-stats"]);
    expect(logs.stdout).toContain(`job ${job.job_id} succeeded: 5 batches`);

    // When a job has a batch that raises (max_retries 1)
    const failing = await submit(endpoint, {
      workers: 1,
      item_list: { items: ["ok", "bad", "fine"], batch_size: 1 },
      config: { fail_on: "bad" },
    });
    const failed = await untilOver(`${endpoint}/${failing.job_id}`);
    // Then it completes with failures, the batch tried twice and recorded with its error
    expect(failed).toMatchObject({
      status: "status_completed_with_failures",
      batch_metrics: { succeeded: 2, failed: 1 },
      batches_retried: 1,
      failures: [{ batch_id: "b-000001", attempts: 2, error: "ValueError: refusing item 'bad'" }],
    });

    // When a slow job is stopped with DELETE
    const slow = await submit(endpoint, {
      workers: 1,
      item_list: { items: ["a", "b", "c", "d"], batch_size: 1 },
      config: { seconds_per_batch: 5 },
    });
    const stopped = await fetch(`${endpoint}/${slow.job_id}`, { method: "DELETE" });
    expect(await stopped.json()).toEqual({ message: `stopped job ${slow.job_id}` });
    // Then it is stopped, with batches left in the queue
    const end = await untilOver(`${endpoint}/${slow.job_id}`);
    expect(end.status).toBe("status_stopped");
    expect(end.batch_metrics.succeeded).toBeLessThan(4);

    // When every worker fails in __init__ (results_dir is not a path)
    const broken = await submit(endpoint, {
      workers: 2,
      item_list: { items: ["a"], batch_size: 1 },
      config: { results_dir: 5 },
    });
    const crashed = await untilOver(`${endpoint}/${broken.job_id}`);
    // Then the job ends with a worker error that says why, its batch still queued
    expect(crashed).toMatchObject({ status: "status_worker_error", batches_in_queue: 1 });
    expect(crashed.status_message).toContain("TypeError");

    // And the API lists its jobs through the control API's engine (GET <endpoint>)
    const list = (await (await fetch(endpoint)).json()) as { jobs: Array<{ job_id: string }> };
    expect(list.jobs.map((j) => j.job_id)).toEqual([
      broken.job_id,
      slow.job_id,
      failing.job_id,
      job.job_id,
    ]);
  }, 120_000);

  test("kill -9 of the daemon mid-job: the job resumes after the restart and completes with every batch done", async () => {
    // Given a job of 8 one-second batches on 2 workers, some of it done
    const c = await makeTestCluster();
    const project = copyExample("batch-text-stats");
    expect((await c.axon(["deploy", project])).code).toBe(0);
    const endpoint = `http://localhost:${c.gatewayPort}/text-stats`;
    const job = await submit(endpoint, {
      workers: 2,
      item_list: { items: ["a", "b", "c", "d", "e", "f", "g", "h"], batch_size: 1 },
      config: { seconds_per_batch: 1 },
    });
    const url = `${endpoint}/${job.job_id}`;
    await waitFor("a batch to be done", async () =>
      (await jobStatus(url)).batch_metrics.succeeded >= 1 ? true : undefined,
    );

    // When the daemon is killed with SIGKILL and its supervisor brings it back
    const daemonPid = c.daemonPid() ?? -1;
    process.kill(daemonPid, "SIGKILL");
    await waitFor("the daemon to die", () => (isAlive(daemonPid) ? undefined : true));
    await waitFor("the supervisor to restart the daemon", () => {
      const pid = c.daemonPid();
      return pid !== undefined && pid !== daemonPid && isAlive(pid) ? true : undefined;
    });
    expect((await c.axon(["cluster", "up"])).code).toBe(0);

    // Then the job resumes and succeeds: every batch recorded once in the queue, each written;
    // a batch whose predict had finished when the daemon died may be written twice (at least
    // once, as with SQS), at most one per worker
    const done = await untilOver(url);
    expect(done).toMatchObject({
      status: "status_succeeded",
      batch_metrics: { succeeded: 8, failed: 0 },
    });
    const written = batchLog(c.home, job.job_id);
    expect(new Set(written).size).toBe(8);
    expect(written.length - 8).toBeLessThanOrEqual(2);
  }, 120_000);

  test("deploy --plan shows a BatchAPI without replicas; axon get lists it; delete stops its running job and its workers", async () => {
    // Given the example planned, then deployed
    const c = await makeTestCluster();
    const project = copyExample("batch-text-stats");
    const plan = await c.axon(["deploy", project, "--plan", "-o", "json"]);
    expect(JSON.parse(plan.stdout)).toMatchObject({
      changes: true,
      apis: [{ api: "text-stats", kind: "BatchAPI", outcome: "created", replicas: "none" }],
    });
    expect((await c.axon(["deploy", project])).code).toBe(0);
    const unchanged = await c.axon(["deploy", project, "--plan", "-o", "json"]);
    expect(JSON.parse(unchanged.stdout)).toMatchObject({
      changes: false,
      apis: [{ api: "text-stats", outcome: "unchanged" }],
    });
    // And no worker runs before a job
    expect(workerPidsUnder(c.home)).toEqual([]);
    const endpoint = `http://localhost:${c.gatewayPort}/text-stats`;

    // When a slow job runs on 2 workers
    const job = await submit(endpoint, {
      workers: 2,
      item_list: { items: ["a", "b", "c", "d"], batch_size: 1 },
      config: { seconds_per_batch: 5 },
    });
    await waitFor("the job's 2 workers", () =>
      workerPidsUnder(c.home).length === 2 ? true : undefined,
    );
    const listed = JSON.parse((await c.axon(["get", "-o", "json"])).stdout) as {
      batchApis?: Array<{ name: string; runningJobs: number; latestJobId?: string }>;
    };
    expect(listed.batchApis).toEqual([
      expect.objectContaining({ name: "text-stats", runningJobs: 1, latestJobId: job.job_id }),
    ]);

    // When the API is deleted
    const deleted = await c.axon(["delete", "text-stats", "-y"]);
    expect(deleted.code, deleted.stderr).toBe(0);
    // Then its workers are gone and its endpoint answers 404
    await waitFor("the job's workers to exit", () =>
      workerPidsUnder(c.home).length === 0 ? true : undefined,
    );
    expect((await fetch(`${endpoint}/${job.job_id}`)).status).toBe(404);
  }, 120_000);

  test("a gateway serving other machines refuses a BatchAPI, whose job endpoints take no key, saying what to do", async () => {
    // Given a cluster whose gateway listens beyond loopback
    const c = await makeTestCluster();
    const port = await freePort();
    const up = await c.axon(["cluster", "up", "--listen", `0.0.0.0:${port}`]);
    expect(up.code, up.stderr).toBe(0);
    // When the example is deployed
    const deploy = await c.axon(["deploy", copyExample("batch-text-stats")]);
    // Then it is refused with the reason and the way out, and nothing was recorded
    expect(deploy.code).not.toBe(0);
    expect(deploy.stderr).toContain("api text-stats does not require API keys");
    expect(deploy.stderr).toContain("a BatchAPI's job endpoints take no API key yet");
    const listed = JSON.parse((await c.axon(["get", "-o", "json"])).stdout) as {
      batchApis?: unknown;
    };
    expect(listed.batchApis).toBeUndefined();
  }, 120_000);

  test("a worker the kernel kills for its memory (compute.mem): its batch fails saying so, and a job with nothing else ends status_worker_oom", async () => {
    // Given a BatchAPI of 128Mi whose predictor takes 400 MB for the item "big"
    const c = await makeTestCluster();
    const project = mkdtempSync(path.join(os.tmpdir(), "axon-batch-oom-"));
    writeFileSync(
      path.join(project, "cortex.yaml"),
      "- name: hungry\n  kind: BatchAPI\n  predictor:\n    type: python\n    path: predictor.py\n  compute:\n    mem: 128Mi\n",
    );
    writeFileSync(
      path.join(project, "predictor.py"),
      'class PythonPredictor:\n    def __init__(self, config, job_spec):\n        pass\n\n    def predict(self, payload, batch_id):\n        if "big" in payload:\n            self.held = b"x" * (400 * 1024 * 1024)\n',
    );
    expect((await c.axon(["deploy", project])).code).toBe(0);
    const info = JSON.parse((await c.axon(["cluster", "info", "-o", "json"])).stdout) as {
      sandbox?: { limits?: string };
    };
    // Only where a memory cgroup holds the worker (else memory is measured, not enforced)
    if (info.sandbox?.limits !== "cgroup") return;
    const endpoint = `http://localhost:${c.gatewayPort}/hungry`;

    // When a job of "a", "big", "b" runs without retries
    const mixed = await submit(endpoint, {
      workers: 1,
      max_retries: 0,
      item_list: { items: ["a", "big", "b"], batch_size: 1 },
    });
    const mixedEnd = await untilOver(`${endpoint}/${mixed.job_id}`);
    // Then the big batch failed, out of memory by name, and the others were done
    expect(mixedEnd).toMatchObject({
      status: "status_completed_with_failures",
      batch_metrics: { succeeded: 2, failed: 1 },
    });
    expect(mixedEnd.failures?.[0]?.error).toContain("killed: out of memory (compute.mem 128Mi)");

    // When a job holds only the big item, Then it ends status_worker_oom
    const big = await submit(endpoint, {
      workers: 1,
      max_retries: 0,
      item_list: { items: ["big"], batch_size: 1 },
    });
    const bigEnd = await untilOver(`${endpoint}/${big.job_id}`);
    expect(bigEnd.status).toBe("status_worker_oom");
    expect(bigEnd.status_message).toContain("raise compute.mem");
  }, 120_000);

  test("the deploying shell's AWS settings reach a job's workers (to read S3), as they reach a realtime API's", async () => {
    // Given a batch predictor that writes the AWS key id it sees to its output folder
    const c = await makeTestCluster();
    const project = mkdtempSync(path.join(os.tmpdir(), "axon-batch-creds-"));
    writeFileSync(
      path.join(project, "cortex.yaml"),
      "- name: creds\n  kind: BatchAPI\n  predictor:\n    type: python\n    path: predictor.py\n",
    );
    writeFileSync(
      path.join(project, "predictor.py"),
      'import os\n\n\nclass PythonPredictor:\n    def __init__(self, config, job_spec):\n        pass\n\n    def predict(self, payload, batch_id):\n        with open(os.path.join(os.environ["AXON_JOB_OUTPUT_DIR"], "key.txt"), "w") as f:\n            f.write(os.environ.get("AWS_ACCESS_KEY_ID", "none"))\n',
    );
    // When it is deployed from a shell with AWS settings and a job runs
    const env = { AWS_ACCESS_KEY_ID: "AKIAEXAMPLEBATCH", AWS_SECRET_ACCESS_KEY: "secret" };
    expect((await c.axon(["deploy", project], { env })).code).toBe(0);
    const endpoint = `http://localhost:${c.gatewayPort}/creds`;
    const job = await submit(endpoint, { workers: 1, item_list: { items: [1], batch_size: 1 } });
    expect((await untilOver(`${endpoint}/${job.job_id}`)).status).toBe("status_succeeded");
    // Then the worker saw the key id
    expect(readFileSync(path.join(c.home, "batch", "creds", job.job_id, "key.txt"), "utf8")).toBe(
      "AKIAEXAMPLEBATCH",
    );
    // And a deploy without them records a new version (the workers of later jobs lose them)
    const plan = await c.axon(["deploy", project, "--no-aws-credentials"]);
    expect(plan.stdout + plan.stderr).toContain("updated creds (BatchAPI)");
  }, 120_000);
});

const HAS_MOTO = motoAvailable();
let moto: MotoServer | undefined;
afterAll(async () => {
  await moto?.stop();
});

/** A batch predictor that appends each payload it gets, as a JSON line, to its output folder. */
const RECORDING_PREDICTOR = `import json
import os


class PythonPredictor:
    def __init__(self, config, job_spec):
        self.out = os.environ["AXON_JOB_OUTPUT_DIR"]

    def predict(self, payload, batch_id):
        with open(os.path.join(self.out, "payloads.jsonl"), "a") as f:
            f.write(json.dumps(payload) + "\\n")
`;

/** Every item the recording predictor got for a job. */
function recordedItems(home: string, jobId: string): unknown[] {
  const file = path.join(home, "batch", "s3-items", jobId, "payloads.jsonl");
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .flatMap((line) => JSON.parse(line) as unknown[]);
}

describe.skipIf(!HAS_MOTO)(
  "BatchAPI items from S3 on the local engine (moto; skipped without it)",
  () => {
    test("file_path_lister hands s3:// paths to predict, delimited_files hands the objects, an empty match or a missing bucket fails the job saying why", async () => {
      // Given a moto S3 bucket with images, a folder to exclude, and NDJSON files
      moto = await startMoto();
      const env = moto.awsEnv();
      const client = new S3Client({
        region: "us-east-1",
        endpoint: moto.url,
        forcePathStyle: true,
        credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
      });
      await client.send(new CreateBucketCommand({ Bucket: "photos" }));
      const objects: Record<string, string> = {
        "images/cat.jpg": "c",
        "images/dog.jpg": "d",
        "images/notes.txt": "n",
        "images/skip/owl.jpg": "o",
        "rows/part-1.jsonl": '{"id": 1}\n{"id": 2}\n',
        "rows/part-2.jsonl": '{"id": 3}\n',
      };
      for (const [key, body] of Object.entries(objects)) {
        await client.send(new PutObjectCommand({ Bucket: "photos", Key: key, Body: body }));
      }
      client.destroy();
      // And a BatchAPI deployed from a shell whose AWS settings point at moto
      const c = await makeTestCluster();
      const project = mkdtempSync(path.join(os.tmpdir(), "axon-batch-s3-"));
      writeFileSync(
        path.join(project, "cortex.yaml"),
        "- name: s3-items\n  kind: BatchAPI\n  predictor:\n    type: python\n    path: predictor.py\n",
      );
      writeFileSync(path.join(project, "predictor.py"), RECORDING_PREDICTOR);
      const deploy = await c.axon(["deploy", project], { env });
      expect(deploy.code, deploy.stderr).toBe(0);
      const endpoint = `http://localhost:${c.gatewayPort}/s3-items`;

      // When a file_path_lister job with includes and excludes is submitted
      const lister = await submit(endpoint, {
        workers: 1,
        file_path_lister: {
          s3_paths: ["s3://photos/images/"],
          includes: ["**.jpg"],
          excludes: ["**/skip/**"],
          batch_size: 1,
        },
      });
      // Then the answer comes before the listing, without a batch count (Cortex's answer)
      expect(lister.total_batch_count).toBeUndefined();
      const listed = await untilOver(`${endpoint}/${lister.job_id}`);
      // And the job succeeded, the predictor getting the matched objects' s3:// paths
      expect(listed).toMatchObject({
        status: "status_succeeded",
        total_batch_count: 2,
        batch_metrics: { succeeded: 2, failed: 0 },
      });
      expect(recordedItems(c.home, lister.job_id)).toEqual([
        "s3://photos/images/cat.jpg",
        "s3://photos/images/dog.jpg",
      ]);

      // When a delimited_files job reads the NDJSON files in batches of 2
      const rows = await submit(endpoint, {
        workers: 2,
        delimited_files: { s3_paths: ["s3://photos/rows/"], batch_size: 2 },
      });
      // Then the predictor got every line's object, and the job succeeded with 2 batches
      expect(await untilOver(`${endpoint}/${rows.job_id}`)).toMatchObject({
        status: "status_succeeded",
        total_batch_count: 2,
      });
      expect(recordedItems(c.home, rows.job_id)).toEqual(
        expect.arrayContaining([{ id: 1 }, { id: 2 }, { id: 3 }]),
      );
      expect(recordedItems(c.home, rows.job_id)).toHaveLength(3);

      // When a lister matches nothing
      const empty = await submit(endpoint, {
        workers: 1,
        file_path_lister: {
          s3_paths: ["s3://photos/images/"],
          includes: ["**.png"],
          batch_size: 1,
        },
      });
      // Then the job fails enqueueing, its message naming the paths and the filter
      const emptyEnd = await untilOver(`${endpoint}/${empty.job_id}`);
      expect(emptyEnd.status).toBe("status_enqueue_failed");
      expect(emptyEnd.status_message).toContain(
        'none of the 4 S3 objects under s3_paths ["s3://photos/images/"] matched includes ["**.png"]',
      );

      // When the bucket does not exist
      const missing = await submit(endpoint, {
        workers: 1,
        file_path_lister: { s3_paths: ["s3://no-such-bucket/x/"], batch_size: 1 },
      });
      // Then the job fails enqueueing, naming the path and what to check
      const missingEnd = await untilOver(`${endpoint}/${missing.job_id}`);
      expect(missingEnd.status).toBe("status_enqueue_failed");
      expect(missingEnd.status_message).toContain("S3 refused to read s3://no-such-bucket/x/");
      expect(missingEnd.status_message).toContain("check that the bucket exists");
      // And the API's log says so, naming the job
      const logs = await c.axon(["logs", "s3-items"]);
      expect(logs.stdout).toContain(`job ${missing.job_id} could not be enqueued`);
    }, 120_000);
  },
);

/** The pty test needs tmux (Debian's `tmux` package); without it, it is skipped, saying so. */
const HAS_TMUX = spawnSync("tmux", ["-V"]).status === 0;

describe.skipIf(!HAS_TMUX)(
  "axon get <batch-api> <job-id> --watch on a real job (tmux; skipped without it)",
  () => {
    test("the bar moves as the real job's batches are done, and the command exits 0 when it succeeds", async () => {
      // Given the example deployed to a real daemon, and a job of 12 batches taking about 1s each
      const c = await makeTestCluster();
      expect((await c.axon(["deploy", copyExample("batch-text-stats")])).code).toBe(0);
      const endpoint = `http://localhost:${c.gatewayPort}/text-stats`;
      const job = await submit(endpoint, {
        workers: 1,
        item_list: { items: Array.from({ length: 12 }, (_, i) => `item ${i}`), batch_size: 1 },
        config: { seconds_per_batch: 1 },
      });

      // When it is watched in a terminal (the built CLI in a tmux pane)
      const terminal = await startTerminal({
        args: ["get", "text-stats", job.job_id, "--watch"],
        env: {
          HOME: os.homedir(),
          AXON_HOME: c.home,
          AXON_GATEWAY_PORT: String(c.gatewayPort),
          AXON_PYTHON: c.env["AXON_PYTHON"] ?? "python3",
        },
        columns: 90,
      });

      // Then the bar is drawn part-done, then further along (each look is one poll of the daemon)
      const partDone = (screen: string): number | undefined => {
        const percent = Number(/[█░]+ (\d+)%/.exec(screen)?.[1] ?? "NaN");
        return percent > 0 && percent < 100 ? percent : undefined;
      };
      const first = partDone(await terminal.waitFor(/[█░]+ ([1-9]|[1-9]\d)%/, 30_000));
      expect(first).toBeDefined();
      const later = await terminal.waitFor(
        new RegExp(`[█░]+ (?!${String(first)}%)([1-9]\\d?|100)%`),
        30_000,
      );
      expect(later).toContain(`job ${job.job_id} of text-stats: `);

      // And when the job succeeds the command ends with a full bar and exits 0
      const exit = await terminal.waitForExit(60_000);
      expect(exit.status, exit.screen).toBe(0);
      expect(exit.screen).toContain(`job ${job.job_id} of text-stats: succeeded`);
      expect(exit.screen).toMatch(/█+ 100%/);
      expect(exit.cursorVisible).toBe(true);
      // (and the daemon agrees)
      expect((await jobStatus(`${endpoint}/${job.job_id}`)).status).toBe("status_succeeded");
    }, 120_000);
  },
);
