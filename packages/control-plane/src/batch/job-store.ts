/**
 * The local engine's durable batch queue (issue 32): deployed BatchAPIs, their jobs, and each
 * job's batches, in tables of the state database (`state.db`, its own connection, as the
 * prediction store has). Everything a job needs to go on after `kill -9` of the daemon is here.
 *
 * A batch is `queued`, `leased` (given to one worker until `lease_expires`), `succeeded` or
 * `failed`. Decisions recorded here:
 * - **A lease is one transaction** (BEGIN IMMEDIATE): leases that ran out go back to the queue
 *   first (or are recorded failed once they used every attempt), then the oldest queued batch is
 *   taken. Two workers can never hold one batch.
 * - **An outcome is recorded once**: `succeed`/`fail` change the row only while its `lease_id` is
 *   the caller's; a late answer from a lease that ran out changes nothing.
 * - **Every delivery counts** as an attempt, as SQS counts receives: a batch whose worker dies on
 *   it each time (out of memory) ends failed after `max_retries + 1` deliveries, not in a loop.
 */
import { randomBytes } from "node:crypto";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import type { BatchApiSpec } from "@axon/config";
import type { BatchFailure, BatchJobSpec, BatchJobStatusCode } from "../contract/index.js";
import type { Artifact } from "../state/store.js";
import type { LeasedBatch } from "./batch-source.js";

/** A deployed BatchAPI: no replica runs for it between jobs. */
export interface BatchApiRecord {
  name: string;
  /** Names this deploy of it (Cortex's `api_id`; a job records the one it ran). */
  versionId: string;
  spec: BatchApiSpec;
  specHash: string;
  bundle: string;
  artifact: Artifact;
  configFile: string;
  projectPath: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A job as stored: its spec, the API it runs (as deployed when submitted) and where it is. */
export interface BatchJobRecord {
  spec: BatchJobSpec & { total_batch_count: number; max_retries: number; timeout: number };
  /** The API as it was when the job was submitted: a deploy meanwhile does not change a job. */
  api: BatchApiRecord;
  status: BatchJobStatusCode;
  statusMessage: string | null;
  stopRequested: boolean;
  startTime: string | null;
  endTime: string | null;
  totalItems: number;
}

/** Batches of one job by state, and what the done ones took. */
export interface BatchCounts {
  queued: number;
  leased: number;
  succeeded: number;
  failed: number;
  /** Attempts that raised and were put back (a batch retried twice counts 2). */
  retried: number;
  /** Seconds per succeeded batch (absent before the first). */
  avgSeconds?: number;
  /** Items of the batches settled in the last minute, and over how many seconds of the job. */
  itemsLastMinute: number;
  remainingItems: number;
}

/** What `lease` found: a batch, nothing yet (others hold the rest: look again), or nothing left. */
export type LeaseOutcome =
  { batch: LeasedBatch } | { wait: true; retryAtMs: number } | { done: true };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS batch_apis (
  name TEXT PRIMARY KEY,
  version_id TEXT NOT NULL,
  spec_json TEXT NOT NULL,
  spec_hash TEXT NOT NULL,
  bundle TEXT NOT NULL,
  artifact_json TEXT NOT NULL,
  config_file TEXT NOT NULL,
  project_path TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_jobs (
  id TEXT PRIMARY KEY,
  api_name TEXT NOT NULL,
  spec_json TEXT NOT NULL,
  api_json TEXT NOT NULL,
  status TEXT NOT NULL,
  status_message TEXT,
  stop_requested INTEGER NOT NULL DEFAULT 0,
  completion_claimed INTEGER NOT NULL DEFAULT 0,
  total_items INTEGER NOT NULL,
  max_retries INTEGER NOT NULL,
  timeout_s INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  start_time TEXT,
  end_time TEXT
);
CREATE INDEX IF NOT EXISTS batch_jobs_by_api ON batch_jobs(api_name, created_at);
CREATE TABLE IF NOT EXISTS batch_items (
  job_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  batch_id TEXT NOT NULL,
  payload_json TEXT NOT NULL,
  item_count INTEGER NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  retried INTEGER NOT NULL DEFAULT 0,
  lease_id TEXT,
  lease_expires_ms INTEGER,
  error TEXT,
  seconds REAL,
  done_at_ms INTEGER,
  PRIMARY KEY (job_id, seq)
);
CREATE INDEX IF NOT EXISTS batch_items_by_state ON batch_items(job_id, state, seq);
`;

/** The first failed batches a job's status lists. */
const FAILURES_SHOWN = 20;

/** Cortex's terminal statuses: a job in one of them never runs again. */
const TERMINAL: ReadonlySet<BatchJobStatusCode> = new Set([
  "status_succeeded",
  "status_completed_with_failures",
  "status_stopped",
  "status_worker_error",
  "status_worker_oom",
  "status_enqueue_failed",
  "status_unexpected_error",
]);

/** Whether a job with `status` is over. */
export function isTerminal(status: BatchJobStatusCode): boolean {
  return TERMINAL.has(status);
}

/** The batch tables of the state database. Open once in the daemon and pass it down. */
export class BatchJobStore {
  readonly #db: DatabaseSync;
  /** Statements prepared once: a job's every batch leases and settles with the same few. */
  readonly #statements = new Map<string, StatementSync>();

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Opens the state database (`state.db`, already made private by the state store) and its tables. */
  static open(file: string): BatchJobStore {
    const db = new DatabaseSync(file);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
    db.exec(SCHEMA);
    return new BatchJobStore(db);
  }

  close(): void {
    this.#db.close();
  }

  // --- deployed BatchAPIs ---

  listApis(): BatchApiRecord[] {
    return this.#all<ApiRow>("SELECT * FROM batch_apis ORDER BY name").map(toApi);
  }

  getApi(name: string): BatchApiRecord | undefined {
    const row = this.#get<ApiRow>("SELECT * FROM batch_apis WHERE name = ?", name);
    return row === undefined ? undefined : toApi(row);
  }

  /** Records a deploy of a BatchAPI (a new version when spec, code or environment changed). */
  putApi(record: BatchApiRecord): void {
    this.#run(
      `INSERT INTO batch_apis (name, version_id, spec_json, spec_hash, bundle, artifact_json,
         config_file, project_path, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET version_id = excluded.version_id,
         spec_json = excluded.spec_json, spec_hash = excluded.spec_hash, bundle = excluded.bundle,
         artifact_json = excluded.artifact_json, config_file = excluded.config_file,
         project_path = excluded.project_path, updated_at = excluded.updated_at`,
      record.name,
      record.versionId,
      JSON.stringify(record.spec),
      record.specHash,
      record.bundle,
      JSON.stringify(record.artifact),
      record.configFile,
      record.projectPath,
      record.createdAt,
      record.updatedAt,
    );
  }

  /** Forgets a BatchAPI with its jobs and their batches. */
  deleteApi(name: string): boolean {
    let existed = false;
    this.#transaction(() => {
      existed = this.#get("SELECT 1 AS x FROM batch_apis WHERE name = ?", name) !== undefined;
      this.#run(
        "DELETE FROM batch_items WHERE job_id IN (SELECT id FROM batch_jobs WHERE api_name = ?)",
        name,
      );
      this.#run("DELETE FROM batch_jobs WHERE api_name = ?", name);
      this.#run("DELETE FROM batch_apis WHERE name = ?", name);
    });
    return existed;
  }

  // --- jobs ---

  /**
   * Records a job and every one of its batches in one transaction: a job is in the queue whole
   * or not at all (a daemon killed while enqueuing leaves no half job).
   */
  createJob(job: BatchJobRecord, batches: readonly unknown[][]): void {
    this.#transaction(() => {
      this.#run(
        `INSERT INTO batch_jobs (id, api_name, spec_json, api_json, status, status_message,
           total_items, max_retries, timeout_s, created_at, start_time)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        job.spec.job_id,
        job.spec.api_name,
        JSON.stringify(job.spec),
        JSON.stringify(job.api),
        job.status,
        job.statusMessage,
        job.totalItems,
        job.spec.max_retries,
        job.spec.timeout,
        job.spec.created_time,
        job.startTime,
      );
      const insert = this.#statement(
        `INSERT INTO batch_items (job_id, seq, batch_id, payload_json, item_count, state)
         VALUES (?, ?, ?, ?, ?, 'queued')`,
      );
      batches.forEach((payload, seq) => {
        insert.run(job.spec.job_id, seq, batchIdOf(seq), JSON.stringify(payload), payload.length);
      });
    });
  }

  /**
   * A job recorded `status_enqueuing` (its items were being listed from S3) gets its batches and
   * starts running, in one transaction. False, and nothing written, when the job is no longer
   * enqueuing (stopped or deleted meanwhile).
   */
  finishEnqueue(job: BatchJobRecord, batches: readonly unknown[][]): boolean {
    let done = false;
    this.#transaction(() => {
      const result = this.#run(
        `UPDATE batch_jobs SET spec_json = ?, status = ?, total_items = ?, start_time = ?
           WHERE id = ? AND status = 'status_enqueuing' AND stop_requested = 0`,
        JSON.stringify(job.spec),
        job.status,
        job.totalItems,
        job.startTime,
        job.spec.job_id,
      );
      if (result.changes !== 1) return;
      const insert = this.#statement(
        `INSERT INTO batch_items (job_id, seq, batch_id, payload_json, item_count, state)
         VALUES (?, ?, ?, ?, ?, 'queued')`,
      );
      batches.forEach((payload, seq) => {
        insert.run(job.spec.job_id, seq, batchIdOf(seq), JSON.stringify(payload), payload.length);
      });
      done = true;
    });
    return done;
  }

  getJob(jobId: string): BatchJobRecord | undefined {
    const row = this.#get<JobRow>("SELECT * FROM batch_jobs WHERE id = ?", jobId);
    return row === undefined ? undefined : toJob(row);
  }

  /** An API's jobs, newest first. */
  listJobs(apiName: string): BatchJobRecord[] {
    return this.#all<JobRow>(
      "SELECT * FROM batch_jobs WHERE api_name = ? ORDER BY created_at DESC, id DESC",
      apiName,
    ).map(toJob);
  }

  /** Jobs that are not over (to resume after a restart). */
  listUnfinishedJobs(): BatchJobRecord[] {
    return this.#all<JobRow>("SELECT * FROM batch_jobs ORDER BY created_at")
      .map(toJob)
      .filter((job) => !isTerminal(job.status));
  }

  /** Sets a job's status; a terminal one also records the end time (once). */
  setStatus(
    jobId: string,
    status: BatchJobStatusCode,
    message: string | null,
    at = new Date(),
  ): void {
    this.#run(
      `UPDATE batch_jobs SET status = ?, status_message = ?,
         end_time = CASE WHEN ? = 1 THEN COALESCE(end_time, ?) ELSE end_time END
       WHERE id = ?`,
      status,
      message,
      isTerminal(status) ? 1 : 0,
      at.toISOString(),
      jobId,
    );
  }

  /** No batch of the job is given out from now on (leases held run out or settle as usual). */
  requestStop(jobId: string): void {
    this.#run("UPDATE batch_jobs SET stop_requested = 1 WHERE id = ?", jobId);
  }

  /**
   * Every batch leased by a worker of a daemon that is gone goes back to the queue now, without
   * waiting for its lease to run out (the attempt it used stays counted).
   */
  releaseAllLeases(jobId: string): number {
    const result = this.#statement(
      `UPDATE batch_items SET state = 'queued', lease_id = NULL, lease_expires_ms = NULL
         WHERE job_id = ? AND state = 'leased'`,
    ).run(jobId);
    return Number(result.changes);
  }

  /**
   * True for one caller only, once every batch of the job is settled: that worker runs the
   * predictor's `on_job_complete` (Cortex ran it on one worker of the job).
   */
  claimCompletion(jobId: string): boolean {
    let claimed = false;
    this.#transaction(() => {
      const open = this.#get<{ n: number }>(
        "SELECT COUNT(*) AS n FROM batch_items WHERE job_id = ? AND state IN ('queued', 'leased')",
        jobId,
      );
      if ((open?.n ?? 0) > 0) return;
      const result = this.#run(
        "UPDATE batch_jobs SET completion_claimed = 1 WHERE id = ? AND completion_claimed = 0",
        jobId,
      );
      claimed = result.changes === 1;
    });
    return claimed;
  }

  // --- batches ---

  /** Leases the job's next batch for `leaseMs` (see the module comment). */
  lease(jobId: string, nowMs: number, leaseMs: number): LeaseOutcome {
    let outcome: LeaseOutcome = { done: true };
    this.#transaction(() => {
      const job = this.#get<{ stop_requested: number; max_retries: number }>(
        "SELECT stop_requested, max_retries FROM batch_jobs WHERE id = ?",
        jobId,
      );
      if (job === undefined || job.stop_requested === 1) return;
      this.#expireLeases(jobId, nowMs, job.max_retries);
      const next = this.#get<{
        seq: number;
        batch_id: string;
        payload_json: string;
        attempts: number;
      }>(
        `SELECT seq, batch_id, payload_json, attempts FROM batch_items
         WHERE job_id = ? AND state = 'queued' ORDER BY seq LIMIT 1`,
        jobId,
      );
      if (next === undefined) {
        const held = this.#get<{ soonest: number | null }>(
          "SELECT MIN(lease_expires_ms) AS soonest FROM batch_items WHERE job_id = ? AND state = 'leased'",
          jobId,
        );
        if (held?.soonest !== null && held?.soonest !== undefined) {
          outcome = { wait: true, retryAtMs: held.soonest };
        }
        return;
      }
      const leaseId = randomBytes(8).toString("hex");
      this.#run(
        `UPDATE batch_items SET state = 'leased', attempts = attempts + 1, lease_id = ?,
           lease_expires_ms = ? WHERE job_id = ? AND seq = ?`,
        leaseId,
        nowMs + leaseMs,
        jobId,
        next.seq,
      );
      outcome = {
        batch: {
          batchId: next.batch_id,
          payload: JSON.parse(next.payload_json) as unknown[],
          attempt: next.attempts + 1,
          leaseId,
        },
      };
    });
    return outcome;
  }

  /** The batch is done; false when `leaseId` no longer holds it (the outcome was not recorded). */
  succeed(jobId: string, batch: LeasedBatch, seconds: number, nowMs: number): boolean {
    const result = this.#statement(
      `UPDATE batch_items SET state = 'succeeded', lease_id = NULL, lease_expires_ms = NULL,
           seconds = ?, done_at_ms = ?, error = NULL
         WHERE job_id = ? AND batch_id = ? AND state = 'leased' AND lease_id = ?`,
    ).run(seconds, nowMs, jobId, batch.batchId, batch.leaseId);
    return Number(result.changes) === 1;
  }

  /**
   * The batch raised (`error`): back to the queue while it has deliveries left, else recorded
   * failed. Returns what happened; `ignored` when `leaseId` no longer holds it.
   */
  fail(
    jobId: string,
    batch: LeasedBatch,
    error: string,
    nowMs: number,
  ): "retried" | "failed" | "ignored" {
    let outcome: "retried" | "failed" | "ignored" = "ignored";
    this.#transaction(() => {
      const row = this.#get<{ attempts: number; max_retries: number }>(
        `SELECT i.attempts, j.max_retries FROM batch_items i JOIN batch_jobs j ON j.id = i.job_id
         WHERE i.job_id = ? AND i.batch_id = ? AND i.state = 'leased' AND i.lease_id = ?`,
        jobId,
        batch.batchId,
        batch.leaseId,
      );
      if (row === undefined) return;
      outcome = row.attempts <= row.max_retries ? "retried" : "failed";
      this.#run(
        `UPDATE batch_items SET state = ?, lease_id = NULL, lease_expires_ms = NULL, error = ?,
           retried = retried + ?, done_at_ms = ? WHERE job_id = ? AND batch_id = ?`,
        outcome === "retried" ? "queued" : "failed",
        error,
        outcome === "retried" ? 1 : 0,
        outcome === "retried" ? null : nowMs,
        jobId,
        batch.batchId,
      );
    });
    return outcome;
  }

  /**
   * The worker holding the batch is gone (killed, crashed): the batch is visible again now rather
   * than when its lease runs out, or recorded failed when that was its last delivery.
   */
  release(jobId: string, batch: LeasedBatch, reason: string, nowMs: number): void {
    this.#transaction(() => {
      const job = this.#get<{ max_retries: number }>(
        "SELECT max_retries FROM batch_jobs WHERE id = ?",
        jobId,
      );
      if (job === undefined) return;
      this.#run(
        `UPDATE batch_items SET lease_expires_ms = ?, error = ?
         WHERE job_id = ? AND batch_id = ? AND state = 'leased' AND lease_id = ?`,
        nowMs,
        reason,
        jobId,
        batch.batchId,
        batch.leaseId,
      );
      this.#expireLeases(jobId, nowMs, job.max_retries);
    });
  }

  /** The job's batches by state, and its rate over the last minute. */
  counts(jobId: string, nowMs: number): BatchCounts {
    const rows = this.#all<{ state: string; n: number; items: number; retried: number }>(
      `SELECT state, COUNT(*) AS n, SUM(item_count) AS items, SUM(retried) AS retried
       FROM batch_items WHERE job_id = ? GROUP BY state`,
      jobId,
    );
    const by = (state: string): { n: number; items: number } => {
      const row = rows.find((r) => r.state === state);
      return { n: row?.n ?? 0, items: row?.items ?? 0 };
    };
    const avg = this.#get<{ avg: number | null }>(
      "SELECT AVG(seconds) AS avg FROM batch_items WHERE job_id = ? AND state = 'succeeded'",
      jobId,
    );
    const recent = this.#get<{ items: number | null }>(
      `SELECT SUM(item_count) AS items FROM batch_items
       WHERE job_id = ? AND state IN ('succeeded', 'failed') AND done_at_ms >= ?`,
      jobId,
      nowMs - 60_000,
    );
    return {
      queued: by("queued").n,
      leased: by("leased").n,
      succeeded: by("succeeded").n,
      failed: by("failed").n,
      retried: rows.reduce((sum, row) => sum + (row.retried ?? 0), 0),
      ...(avg?.avg === null || avg?.avg === undefined ? {} : { avgSeconds: avg.avg }),
      itemsLastMinute: recent?.items ?? 0,
      remainingItems: by("queued").items + by("leased").items,
    };
  }

  /** The first batches recorded failed, with their errors. */
  failures(jobId: string): BatchFailure[] {
    return this.#all<{ batch_id: string; attempts: number; error: string | null }>(
      `SELECT batch_id, attempts, error FROM batch_items WHERE job_id = ? AND state = 'failed'
       ORDER BY seq LIMIT ${FAILURES_SHOWN}`,
      jobId,
    ).map((row) => ({ batch_id: row.batch_id, attempts: row.attempts, error: row.error ?? "" }));
  }

  /** Leases that ran out: back to the queue, or failed once every delivery was used. */
  #expireLeases(jobId: string, nowMs: number, maxRetries: number): void {
    this.#run(
      `UPDATE batch_items SET state = 'failed', lease_id = NULL, lease_expires_ms = NULL,
         done_at_ms = ?,
         error = COALESCE(error, 'its worker did not answer within the job''s timeout') ||
           ' (delivered ' || attempts || ' times, the last allowed)'
       WHERE job_id = ? AND state = 'leased' AND lease_expires_ms <= ? AND attempts > ?`,
      nowMs,
      jobId,
      nowMs,
      maxRetries,
    );
    this.#run(
      `UPDATE batch_items SET state = 'queued', lease_id = NULL, lease_expires_ms = NULL
       WHERE job_id = ? AND state = 'leased' AND lease_expires_ms <= ?`,
      jobId,
      nowMs,
    );
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #all<T>(sql: string, ...params: SQLInputValue[]): T[] {
    return this.#statement(sql).all(...params) as unknown as T[];
  }

  #get<T>(sql: string, ...params: SQLInputValue[]): T | undefined {
    return this.#statement(sql).get(...params) as unknown as T | undefined;
  }

  #run(sql: string, ...params: SQLInputValue[]): { changes: number } {
    return { changes: Number(this.#statement(sql).run(...params).changes) };
  }

  #transaction(body: () => void): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      body();
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }
}

/** A batch's id: stable across retries and restarts, ordered like the items. */
export function batchIdOf(seq: number): string {
  return `b-${String(seq).padStart(6, "0")}`;
}

interface ApiRow {
  name: string;
  version_id: string;
  spec_json: string;
  spec_hash: string;
  bundle: string;
  artifact_json: string;
  config_file: string;
  project_path: string | null;
  created_at: string;
  updated_at: string;
}

interface JobRow {
  id: string;
  api_name: string;
  spec_json: string;
  api_json: string;
  status: string;
  status_message: string | null;
  stop_requested: number;
  total_items: number;
  max_retries: number;
  timeout_s: number;
  created_at: string;
  start_time: string | null;
  end_time: string | null;
}

/** A stored batch API, read back through one typed check. */
function toApi(row: ApiRow): BatchApiRecord {
  const spec = JSON.parse(row.spec_json) as Partial<BatchApiSpec>;
  if (spec.kind !== "BatchAPI" || typeof spec.predictor?.path !== "string") {
    throw new Error(`the stored batch api ${row.name} is not readable`);
  }
  return {
    name: row.name,
    versionId: row.version_id,
    spec: spec as BatchApiSpec,
    specHash: row.spec_hash,
    bundle: row.bundle,
    artifact: JSON.parse(row.artifact_json) as Artifact,
    configFile: row.config_file,
    projectPath: row.project_path,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** A stored job, read back through one typed check. */
function toJob(row: JobRow): BatchJobRecord {
  const spec = JSON.parse(row.spec_json) as BatchJobRecord["spec"];
  const api = JSON.parse(row.api_json) as BatchApiRecord;
  if (spec.job_id !== row.id || api.spec?.kind !== "BatchAPI") {
    throw new Error(`the stored batch job ${row.id} is not readable`);
  }
  return {
    spec,
    api,
    status: row.status as BatchJobStatusCode,
    statusMessage: row.status_message,
    stopRequested: row.stop_requested === 1,
    startTime: row.start_time,
    endTime: row.end_time,
    totalItems: row.total_items,
  };
}
