import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { LeasedBatch } from "./batch-source.js";
import { BatchJobStore, type BatchApiRecord, type BatchJobRecord } from "./job-store.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A store on a real SQLite file in a temp folder, with one job of `batches` batches. */
function storeWithJob(batches: number, maxRetries = 1): { store: BatchJobStore; file: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "axon-job-store-"));
  dirs.push(dir);
  const file = path.join(dir, "state.db");
  const store = BatchJobStore.open(file);
  const api: BatchApiRecord = {
    name: "nightly",
    versionId: "v-1",
    spec: {
      name: "nightly",
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
      networking: { endpoint: "/nightly", api_gateway: "public" },
    },
    specHash: "h",
    bundle: "b",
    artifact: {},
    configFile: "cortex.yaml",
    projectPath: null,
    createdAt: "2026-12-07T00:00:00.000Z",
    updatedAt: "2026-12-07T00:00:00.000Z",
  };
  const job: BatchJobRecord = {
    spec: {
      job_id: "j-1",
      api_name: "nightly",
      workers: 2,
      config: {},
      api_id: "v-1",
      sqs_url: null,
      created_time: "2026-12-07T00:00:00.000Z",
      total_batch_count: batches,
      max_retries: maxRetries,
      timeout: 60,
    },
    api,
    status: "status_running",
    statusMessage: null,
    stopRequested: false,
    startTime: "2026-12-07T00:00:00.000Z",
    endTime: null,
    totalItems: batches * 2,
  };
  store.putApi(api);
  store.createJob(
    job,
    Array.from({ length: batches }, (_, i) => [i * 2, i * 2 + 1]),
  );
  return { store, file };
}

function leased(store: BatchJobStore, nowMs: number): LeasedBatch {
  const outcome = store.lease("j-1", nowMs, 60_000);
  if (!("batch" in outcome)) throw new Error(`expected a batch, got ${JSON.stringify(outcome)}`);
  return outcome.batch;
}

describe("BatchJobStore", () => {
  it("Given two workers leasing, When they take batches, Then each batch goes to one of them in order, and a drained queue says done", () => {
    // Given a job of 2 batches
    const { store } = storeWithJob(2);
    // When two leases are taken, then a third
    const a = leased(store, 0);
    const b = leased(store, 0);
    const third = store.lease("j-1", 0, 60_000);
    // Then distinct batches, and the third waits for the leases (they may come back)
    expect([a.batchId, b.batchId]).toEqual(["b-000000", "b-000001"]);
    expect(a.payload).toEqual([0, 1]);
    expect(third).toEqual({ wait: true, retryAtMs: 60_000 });
    // And once both succeed, there is nothing left
    expect(store.succeed("j-1", a, 0.5, 1)).toBe(true);
    expect(store.succeed("j-1", b, 0.5, 1)).toBe(true);
    expect(store.lease("j-1", 2, 60_000)).toEqual({ done: true });
    expect(store.counts("j-1", 2)).toMatchObject({
      succeeded: 2,
      queued: 0,
      leased: 0,
      avgSeconds: 0.5,
    });
  });

  it("Given a lease that ran out, When the first holder answers late, Then the batch went to another worker and the late answer changes nothing", () => {
    // Given a batch leased for 60 s and not settled
    const { store } = storeWithJob(1, 3);
    const first = leased(store, 0);
    // When another worker leases after the timeout, and the first answers then
    const second = leased(store, 60_001);
    const late = store.succeed("j-1", first, 1, 60_002);
    // Then the same batch, a new delivery, and the late outcome is dropped
    expect(second.batchId).toBe(first.batchId);
    expect(second.attempt).toBe(2);
    expect(late).toBe(false);
    expect(store.fail("j-1", first, "late", 60_003)).toBe("ignored");
    expect(store.succeed("j-1", second, 1, 60_004)).toBe(true);
    expect(store.counts("j-1", 60_005)).toMatchObject({ succeeded: 1, failed: 0 });
  });

  it("Given max_retries 1, When a batch raises twice, Then it is retried once and then recorded failed with its error", () => {
    const { store } = storeWithJob(1, 1);
    // When it raises on both deliveries
    expect(store.fail("j-1", leased(store, 0), "ValueError: bad row", 1)).toBe("retried");
    expect(store.fail("j-1", leased(store, 2), "ValueError: bad row", 3)).toBe("failed");
    // Then failed, with its error and attempts; nothing more to give out
    expect(store.failures("j-1")).toEqual([
      { batch_id: "b-000000", attempts: 2, error: "ValueError: bad row" },
    ]);
    expect(store.counts("j-1", 4)).toMatchObject({ failed: 1, retried: 1 });
    expect(store.lease("j-1", 5, 60_000)).toEqual({ done: true });
  });

  it("Given a batch whose worker died on each delivery, When released past its retries, Then it is failed, not given out forever", () => {
    const { store } = storeWithJob(1, 1);
    store.release("j-1", leased(store, 0), "worker 0 was killed by SIGKILL", 1);
    store.release("j-1", leased(store, 2), "worker 0 was killed by SIGKILL", 3);
    expect(store.failures("j-1")[0]?.error).toContain("worker 0 was killed by SIGKILL");
    expect(store.lease("j-1", 5, 60_000)).toEqual({ done: true });
  });

  it("Given a daemon killed with batches leased, When the store is opened again, Then the job and its leases are there and can be put back at once", () => {
    // Given one batch leased and the store closed (the daemon gone)
    const { store, file } = storeWithJob(3);
    leased(store, 0);
    store.close();
    // When opened again
    const again = BatchJobStore.open(file);
    // Then the unfinished job is found, its lease released, and every batch can be taken
    expect(again.listUnfinishedJobs().map((job) => job.spec.job_id)).toEqual(["j-1"]);
    expect(again.releaseAllLeases("j-1")).toBe(1);
    expect(again.counts("j-1", 0)).toMatchObject({ queued: 3, leased: 0 });
    again.close();
  });

  it("Given a drained job, When two workers claim its completion, Then only one gets it", () => {
    const { store } = storeWithJob(1);
    const batch = leased(store, 0);
    // Not before every batch is settled
    expect(store.claimCompletion("j-1")).toBe(false);
    store.succeed("j-1", batch, 1, 1);
    expect([store.claimCompletion("j-1"), store.claimCompletion("j-1")]).toEqual([true, false]);
  });

  it("Given a stop, When a worker asks for a batch, Then it gets none", () => {
    const { store } = storeWithJob(2);
    store.requestStop("j-1");
    expect(store.lease("j-1", 0, 60_000)).toEqual({ done: true });
  });
});
