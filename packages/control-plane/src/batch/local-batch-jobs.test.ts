/**
 * LocalBatchJobs with real parts but the provider: the queue on a SQLite file, the log files,
 * real Python batch workers. The provider's launch is replaced by one without sandbox or cgroup
 * (what it adds is tested with the provider and end to end in test/batch-local.test.ts).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { BatchApiSpec } from "@axon/config";
import { specHash } from "@axon/config";
import { ApiLogs } from "../providers/local/api-logs.js";
import { BatchJobStore } from "./job-store.js";
import { jobLogName, LocalBatchJobs } from "./local-batch-jobs.js";
import type { S3ItemsPort } from "../providers/aws/s3-items.js";

const PYTHON = process.env.AXON_TEST_PYTHON ?? "python3";
const EXAMPLE = path.resolve(import.meta.dirname, "../../../../examples/batch-text-stats");
const TERMINAL = new Set([
  "status_succeeded",
  "status_enqueue_failed",
  "status_completed_with_failures",
  "status_stopped",
  "status_worker_error",
]);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const SPEC: BatchApiSpec = {
  name: "text-stats",
  kind: "BatchAPI",
  predictor: {
    type: "python",
    path: "predictor.py",
    processes_per_replica: 1,
    threads_per_process: 1,
    config: {},
    python_path: null,
    image: null,
    env: {},
    server_side_batching: null,
  },
  compute: { cpu: "200m", gpu: 0, inf: 0, mem: null },
  networking: { endpoint: "/text-stats", api_gateway: "public" },
};

/** A daemon's batch jobs over `home` (call again on the same home: a restarted daemon). */
function daemon(
  home: string,
  s3?: () => Promise<S3ItemsPort>,
): {
  jobs: LocalBatchJobs;
  holds: Map<string, number>;
  store: BatchJobStore;
} {
  const store = BatchJobStore.open(path.join(home, "state.db"));
  const holds = new Map<string, number>();
  const logs = new ApiLogs(home);
  const jobs = new LocalBatchJobs({
    store,
    logs,
    launch: async (request) => ({
      pool: {
        id: request.workerId,
        apiName: request.apiName,
        projectDir: EXAMPLE,
        predictorPath: request.spec.predictor.path,
        env: { AXON_JOB_OUTPUT_DIR: request.outputDir },
        python: PYTHON,
        runDir: path.join(home, "run"),
        logFile: request.logFile,
      },
      recordPids: () => {},
      oomKills: () => 0,
      release: async () => {},
    }),
    secretEnv: () => ({}),
    ...(s3 === undefined ? {} : { s3 }),
    endpointUrl: (endpoint) => `http://localhost:8888${endpoint}`,
    routes: { setBatchRoute: () => {}, removeBatchRoute: () => {} },
    outputDir: (api, jobId) => path.join(home, "batch", api, jobId),
    holdBundle: (sha) => {
      holds.set(sha, (holds.get(sha) ?? 0) + 1);
      return () => holds.set(sha, (holds.get(sha) ?? 1) - 1);
    },
  });
  return { jobs, holds, store };
}

async function until(jobs: LocalBatchJobs, jobId: string): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const status = jobs.get("text-stats", jobId).job_status.status;
    if (TERMINAL.has(status)) return status;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`job ${jobId} did not end`);
}

function newHome(): string {
  const home = mkdtempSync(path.join(tmpdir(), "axon-batch-jobs-"));
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  return home;
}

describe("LocalBatchJobs", () => {
  it("Given a deployed BatchAPI, When a job runs, Then it succeeds, its log names it, its bundle and environment are kept, and delete forgets it", async () => {
    // Given the API deployed (its bundle held from then on)
    const home = newHome();
    const { jobs, holds, store } = daemon(home);
    cleanups.push(() => jobs.shutdown().then(() => store.close()));
    const [deployed] = jobs.deploy([{ spec: SPEC, hash: specHash(SPEC), deployed: undefined }], {
      bundle: "bundle-1",
      artifact: { envKey: "env-1" },
      configFileName: "cortex.yaml",
      projectPath: null,
    });
    expect(deployed).toMatchObject({ outcome: "created", kind: "BatchAPI" });
    expect(holds.get("bundle-1")).toBe(1);
    expect(jobs.artifactsInUse()).toEqual([{ envKey: "env-1" }]);

    // When a job of 3 batches runs on 2 workers
    const spec = await jobs.submit("text-stats", {
      workers: 2,
      item_list: { items: ["a", "b c", "d"], batch_size: 1 },
    });
    const status = await until(jobs, spec.job_id);

    // Then it succeeded; its log has the runtime's lines tagged with the job; the API's log says it
    expect(status).toBe("status_succeeded");
    // (an ended job's rate is its run's, not one that falls as time passes after it)
    const rateAtEnd = jobs.get("text-stats", spec.job_id).job_status.items_per_second;
    expect(rateAtEnd).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(jobs.get("text-stats", spec.job_id).job_status.items_per_second).toBe(rateAtEnd);
    const jobLog = readFileSync(
      path.join(home, "logs", `${jobLogName("text-stats", spec.job_id)}.log`),
      "utf8",
    );
    expect(jobLog).toContain(`[text-stats ${spec.job_id.slice(0, 10)}-w0 w0]`);
    const apiLog = readFileSync(path.join(home, "logs", "text-stats.log"), "utf8");
    expect(apiLog).toContain(`job ${spec.job_id} succeeded: 3 batches`);
    expect(existsSync(path.join(home, "batch", "text-stats", spec.job_id, "b-000002.json"))).toBe(
      true,
    );
    // And the job's own hold is released, the API's kept
    expect(holds.get("bundle-1")).toBe(1);

    // When the API is deleted, Then its jobs, logs and hold go with it
    expect(await jobs.deleteApi("text-stats")).toBe(true);
    expect(holds.get("bundle-1")).toBe(0);
    expect(
      existsSync(path.join(home, "logs", `${jobLogName("text-stats", spec.job_id)}.log`)),
    ).toBe(false);
    expect(() => jobs.list("text-stats")).toThrow("no batch api named text-stats is deployed");
  }, 60_000);

  it("Given a daemon that stopped mid-job, When a new one starts on the same state, Then the job resumes and succeeds", async () => {
    // Given a slow job, and the daemon stopping while it runs
    const home = newHome();
    const first = daemon(home);
    first.jobs.deploy([{ spec: SPEC, hash: specHash(SPEC), deployed: undefined }], {
      bundle: "bundle-1",
      artifact: {},
      configFileName: "cortex.yaml",
      projectPath: null,
    });
    const spec = await first.jobs.submit("text-stats", {
      workers: 1,
      item_list: { items: ["a", "b", "c", "d"], batch_size: 1 },
      config: { seconds_per_batch: 0.3 },
    });
    for (
      let i = 0;
      i < 100 && first.jobs.get("text-stats", spec.job_id).job_status.batch_metrics.succeeded < 1;
      i++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // (while it runs: a rate over the last minute and an ETA from it)
    const running = first.jobs.get("text-stats", spec.job_id).job_status;
    expect(running.items_per_second).toBeGreaterThan(0);
    expect(running.eta_seconds).toBeGreaterThan(0);
    await first.jobs.shutdown();
    first.store.close();
    // When another daemon starts on the same home
    const second = daemon(home);
    cleanups.push(() => second.jobs.shutdown().then(() => second.store.close()));
    expect(second.jobs.get("text-stats", spec.job_id).job_status.status).toBe("status_running");
    second.jobs.resume();
    // Then the job completes, every batch done
    expect(await until(second.jobs, spec.job_id)).toBe("status_succeeded");
    expect(second.jobs.get("text-stats", spec.job_id).job_status.batch_metrics).toMatchObject({
      succeeded: 4,
      failed: 0,
    });
  }, 60_000);

  it("Given an S3 listing under way, When the job is read, stopped, or the daemon restarts, Then it is enqueuing, then stopped or enqueue-failed saying to submit again", async () => {
    // Given an S3 port whose listing answers only when the test lets it: a hand-written port,
    // because moto answers at once and the point here is what happens while S3 is still listing
    // (the listing itself runs on moto in test/batch-local.test.ts)
    const home = newHome();
    const answers: Array<() => void> = [];
    const port: S3ItemsPort = {
      listObjectsV2: () =>
        new Promise((resolve) => {
          answers.push(() =>
            resolve({
              $metadata: {},
              Contents: [{ Key: "in/a.txt", Size: 1 }],
              IsTruncated: false,
            }),
          );
        }),
      getObjectBytes: async () => new Uint8Array(),
    };
    const first = daemon(home, async () => port);
    first.jobs.deploy([{ spec: SPEC, hash: specHash(SPEC), deployed: undefined }], {
      bundle: "bundle-1",
      artifact: {},
      configFileName: "cortex.yaml",
      projectPath: null,
    });
    const lister = { s3_paths: ["s3://bucket/in/"], batch_size: 1 };
    // When a job is submitted, Then it answers before the listing ends, and the job is enqueuing
    const stopped = await first.jobs.submit("text-stats", { workers: 1, file_path_lister: lister });
    const enqueuing = first.jobs.get("text-stats", stopped.job_id).job_status;
    expect(enqueuing.status).toBe("status_enqueuing");
    // (its batch count not known yet: left out, not 0)
    expect(enqueuing).not.toHaveProperty("total_batch_count");
    // When it is stopped mid-listing and the listing then answers
    await first.jobs.stop("text-stats", stopped.job_id);
    for (let i = 0; i < 100 && answers.length === 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    answers.shift()?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Then it stays stopped, with no batch queued
    expect(first.jobs.get("text-stats", stopped.job_id).job_status).toMatchObject({
      status: "status_stopped",
      batches_in_queue: 0,
    });

    // When the daemon stops while another job is listing, and a new one starts
    const cut = await first.jobs.submit("text-stats", { workers: 1, file_path_lister: lister });
    await first.jobs.shutdown();
    first.store.close();
    const second = daemon(home, async () => port);
    cleanups.push(() => second.jobs.shutdown().then(() => second.store.close()));
    second.jobs.resume();
    // Then that job failed enqueueing, saying why and what to do
    expect(second.jobs.get("text-stats", cut.job_id).job_status).toMatchObject({
      status: "status_enqueue_failed",
      status_message: expect.stringContaining("submit the job again"),
    });
  }, 60_000);
});
