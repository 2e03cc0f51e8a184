/**
 * The local engine's `BatchSource`: one job's batches in the state database (`job-store.ts`).
 * A worker that finds every remaining batch leased by others waits — until the soonest lease
 * runs out or a short poll finds one put back — so a batch released by a dead worker is taken
 * again within `POLL_MS`.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { BatchSource, LeasedBatch } from "./batch-source.js";
import type { BatchJobStore } from "./job-store.js";

/** How often a waiting worker looks for a batch put back by another. */
const POLL_MS = 100;

export interface JobQueueSourceOptions {
  /** The lease: seconds one batch may take before another worker is given it (the job's timeout). */
  leaseSeconds: number;
  /** Epoch ms (tests move time). */
  now?: () => number;
  /** Told each outcome, for the job's log. */
  onOutcome?: (event: JobQueueEvent) => void;
}

export type JobQueueEvent =
  | { kind: "succeeded"; batch: LeasedBatch; seconds: number }
  | { kind: "retried" | "failed"; batch: LeasedBatch; error: string }
  | { kind: "released"; batch: LeasedBatch; reason: string };

/** A `BatchSource` over one job of `store`. */
export function jobQueueSource(
  store: BatchJobStore,
  jobId: string,
  options: JobQueueSourceOptions,
): BatchSource {
  const now = options.now ?? Date.now;
  const tell = options.onOutcome ?? ((): void => {});
  return {
    async lease(signal) {
      for (;;) {
        signal.throwIfAborted();
        const outcome = store.lease(jobId, now(), options.leaseSeconds * 1000);
        if ("batch" in outcome) return outcome.batch;
        if ("done" in outcome) return null;
        const untilExpiry = Math.max(0, outcome.retryAtMs - now());
        await sleep(Math.min(POLL_MS, untilExpiry), undefined, { signal });
      }
    },
    async succeed(batch, seconds) {
      if (store.succeed(jobId, batch, seconds, now())) tell({ kind: "succeeded", batch, seconds });
    },
    async fail(batch, error) {
      const outcome = store.fail(jobId, batch, error, now());
      if (outcome !== "ignored") tell({ kind: outcome, batch, error });
    },
    async release(batch, reason) {
      store.release(jobId, batch, reason, now());
      tell({ kind: "released", batch, reason });
    },
    async claimJobComplete() {
      return store.claimCompletion(jobId);
    },
  };
}
