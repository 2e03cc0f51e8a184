/**
 * Text for batch jobs (issue 32): the BatchAPI table of `axon get`, the job list of
 * `axon get <batch-api>`, the job view of `axon get <batch-api> <job-id>`, and the one-line and
 * progress-bar forms its `--watch` redraws. Pure: contract objects and the current time in, text
 * out. Layouts follow Cortex 0.20's (cortexlabs/cortex:v0.20.0 cli/cmd/lib_batch_apis.go), with
 * Axon's columns added: batches queued, rate, ETA.
 */
import type {
  BatchApiSummary,
  BatchJobList,
  BatchJobResponse,
  BatchJobStatus,
  BatchJobStatusCode,
} from "@axon/control-plane/api";
import { formatAge, indent, renderTable } from "../output.js";
import { isJobInProgress } from "../services/jobs.js";

/**
 * A status in words: Cortex's messages (pkg/types/status/job_code.go), except that each way a
 * job can fail reads `failed (…)`, so a glance (or a grep) finds every failed job.
 */
const STATUS_WORDS: Record<BatchJobStatusCode, string> = {
  status_unknown: "unknown",
  status_enqueuing: "enqueuing",
  status_running: "running",
  status_enqueue_failed: "failed while enqueuing",
  status_completed_with_failures: "completed with failures",
  status_succeeded: "succeeded",
  status_unexpected_error: "failed (unexpected error)",
  status_worker_error: "failed (worker error)",
  status_worker_oom: "failed (out of memory)",
  status_stopped: "stopped",
};

/** `running`, `succeeded`, `completed with failures`, `failed (worker error)`, … */
export function jobStatusWords(code: BatchJobStatusCode): string {
  return STATUS_WORDS[code] ?? code;
}

/**
 * A length of time, two units at most: `45s`, `3m05s`, `2h07m`, `3d04h`. Used for durations and
 * ETAs, where the third unit is noise. Negative or unknown is `-`.
 */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "-";
  const total = Math.round(seconds);
  const pad = (value: number): string => String(value).padStart(2, "0");
  if (total < 60) return `${total}s`;
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return `${minutes}m${pad(total % 60)}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h${pad(minutes % 60)}m`;
  return `${Math.floor(hours / 24)}d${pad(hours % 24)}h`;
}

/**
 * How long until the queue drains: the engine's estimate while the job runs; `-` once it ended,
 * and `?` while it runs without one (no batch done yet, so no rate to go by).
 */
export function formatEta(job: BatchJobStatus): string {
  if (!isJobInProgress(job.status)) return "-";
  return job.eta_seconds === undefined ? "?" : formatDuration(job.eta_seconds);
}

/** Items per second: `0.4/s`, `12.5/s`, `1,234/s`; `-` before the first batch is done. */
export function formatRate(itemsPerSecond: number | undefined): string {
  if (itemsPerSecond === undefined || !Number.isFinite(itemsPerSecond)) return "-";
  if (itemsPerSecond < 100) return `${itemsPerSecond.toFixed(1)}/s`;
  return `${Math.round(itemsPerSecond).toLocaleString("en-US")}/s`;
}

/** Seconds from the job's start (or submission, before it started) to its end, or to `now`. */
export function jobElapsedSeconds(job: BatchJobStatus, now: Date): number {
  const start = new Date(job.start_time ?? job.created_time).getTime();
  const end = job.end_time === undefined ? now.getTime() : new Date(job.end_time).getTime();
  return Math.max(0, (end - start) / 1000);
}

/** Batches done (succeeded or failed for good) and the total, when the total is known. */
function batchesDone(job: BatchJobStatus): { done: number; total: number | undefined } {
  const { succeeded, failed } = job.batch_metrics;
  return { done: succeeded + failed, total: job.total_batch_count };
}

/** `340/1000`, or `340` while the total is not known yet (enqueuing). */
function progressCell(job: BatchJobStatus): string {
  const { succeeded } = job.batch_metrics;
  return job.total_batch_count === undefined
    ? String(succeeded)
    : `${succeeded}/${job.total_batch_count}`;
}

/**
 * The BatchAPIs of `axon get`: Cortex's `batch api | running jobs | latest job id | last update`,
 * and the endpoint jobs are submitted to.
 */
export function renderBatchApiList(apis: readonly BatchApiSummary[], now: Date): string {
  const sorted = [...apis].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return renderTable(
    ["batch api", "running jobs", "latest job id", "last update", "endpoint"],
    sorted.map((api) => [
      api.name,
      String(api.runningJobs),
      api.latestJobId ?? "-",
      formatAge(new Date(api.lastUpdated), now),
      api.endpoint,
    ]),
  );
}

/**
 * `axon get <batch-api>`: its jobs, newest first — `job id | status | progress (succeeded/total) |
 * [failed] | queued | rate | eta | started | duration` (`failed` only when some job has failed
 * batches, as Cortex hid it), then where jobs are submitted.
 */
export function renderJobList(list: BatchJobList, now: Date): string {
  const footer = `endpoint: ${list.endpoint}`;
  if (list.jobs.length === 0) {
    return [
      `${list.api} has no jobs; submit one with \`axon submit ${list.api} job.json\` (see docs/batch.md)`,
      "",
      footer,
    ].join("\n");
  }
  const showFailed = list.jobs.some((job) => job.batch_metrics.failed > 0);
  const columns: Array<readonly [string, (job: BatchJobStatus) => string]> = [
    ["job id", (job) => job.job_id],
    ["status", (job) => jobStatusWords(job.status)],
    ["progress", progressCell],
    ["failed", (job) => String(job.batch_metrics.failed)],
    ["queued", (job) => String(job.batches_in_queue)],
    ["rate", (job) => formatRate(job.items_per_second)],
    ["eta", formatEta],
    [
      "started",
      (job) =>
        job.start_time === undefined ? "-" : `${formatAge(new Date(job.start_time), now)} ago`,
    ],
    ["duration", (job) => formatDuration(jobElapsedSeconds(job, now))],
  ];
  const shown = showFailed ? columns : columns.filter(([header]) => header !== "failed");
  const table = renderTable(
    shown.map(([header]) => header),
    list.jobs.map((job) => shown.map(([, cell]) => cell(job))),
  );
  return `${table}\n\n${footer}`;
}

/**
 * A text progress bar `width` cells wide: `█` per succeeded share, `▒` per failed share, `░` for
 * what is left. Empty (all `░`) while the total is unknown.
 */
export function renderProgressBar(job: BatchJobStatus, width: number): string {
  const cells = Math.max(1, Math.floor(width));
  const total = job.total_batch_count ?? 0;
  if (total <= 0) return "░".repeat(cells);
  const { succeeded, failed } = job.batch_metrics;
  const ok = Math.min(cells, Math.floor((succeeded / total) * cells));
  const bad = Math.min(cells - ok, Math.ceil((failed / total) * cells));
  return "█".repeat(ok) + "▒".repeat(bad) + "░".repeat(cells - ok - bad);
}

/** The share of batches done, `34%` (`-` while the total is unknown). */
export function formatPercentDone(job: BatchJobStatus): string {
  const { done, total } = batchesDone(job);
  if (total === undefined || total <= 0) return "-";
  return `${Math.floor((done / total) * 100)}%`;
}

/**
 * One line per look, for `axon get <api> <job> --watch` off a terminal (a log or CI keeps every
 * line): `job 69d6 running: 340/1000 batches succeeded (34%), 2 failed, 654 queued, 12.5/s,
 * eta 1m05s, 5m02s elapsed`.
 */
export function renderJobLine(job: BatchJobStatus, now: Date): string {
  const parts = [
    `${progressCell(job)} batches succeeded (${formatPercentDone(job)})`,
    `${job.batch_metrics.failed} failed`,
    `${job.batches_in_queue} queued`,
  ];
  if (isJobInProgress(job.status)) {
    parts.push(formatRate(job.items_per_second), `eta ${formatEta(job)}`);
    parts.push(`${formatDuration(jobElapsedSeconds(job, now))} elapsed`);
  } else {
    parts.push(`took ${formatDuration(jobElapsedSeconds(job, now))}`);
  }
  return `job ${job.job_id} ${jobStatusWords(job.status)}: ${parts.join(", ")}`;
}

/** An ISO time as `2026-12-07 19:04:05 UTC (5m ago)`: exact, and how long ago at a glance. */
function formatTime(iso: string | undefined, now: Date): string {
  if (iso === undefined) return "-";
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return iso;
  const exact = `${time.toISOString().slice(0, 19).replace("T", " ")} UTC`;
  return `${exact} (${formatAge(time, now)} ago)`;
}

/** Key/value lines with the values aligned, Cortex's `table.KeyValuePairs`. */
function keyValues(pairs: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...pairs.map(([key]) => key.length)) + 1;
  return pairs.map(([key, value]) => `${`${key}:`.padEnd(width)} ${value}`).join("\n");
}

/**
 * `axon get <batch-api> <job-id>`: status, timing, batch counts with rate and ETA, workers (while
 * running), the failed batches with their errors, the job's endpoint and configuration.
 */
export function renderJobDetail(response: BatchJobResponse, now: Date): string {
  const job = response.job_status;
  const sections: string[] = [];
  const head: Array<readonly [string, string]> = [
    ["job id", job.job_id],
    ["api", job.api_name],
    ["status", jobStatusWords(job.status)],
  ];
  if (job.status_message !== undefined) head.push(["why", job.status_message]);
  head.push(
    ["submitted", formatTime(job.created_time, now)],
    ["started", formatTime(job.start_time, now)],
    ["ended", formatTime(job.end_time, now)],
    ["duration", formatDuration(jobElapsedSeconds(job, now))],
  );
  sections.push(keyValues(head));

  const metrics = job.batch_metrics;
  sections.push(
    `batches\n${indent(
      renderTable(
        ["total", "succeeded", "failed", "in progress", "queued", "retried", "avg time per batch"],
        [
          [
            job.total_batch_count === undefined ? "-" : String(job.total_batch_count),
            String(metrics.succeeded),
            String(metrics.failed),
            job.batches_in_progress === undefined ? "-" : String(job.batches_in_progress),
            String(job.batches_in_queue),
            job.batches_retried === undefined ? "-" : String(job.batches_retried),
            metrics.avg_time_per_batch === undefined
              ? "-"
              : `${metrics.avg_time_per_batch.toFixed(3)}s`,
          ],
        ],
      ),
    )}\n${indent(
      `progress: ${renderProgressBar(job, 30)} ${formatPercentDone(job)}   rate: ${formatRate(job.items_per_second)}   eta: ${formatEta(job)}`,
    )}`,
  );

  if (job.status === "status_enqueuing") {
    sections.push("workers\n  still enqueuing: no worker has started yet");
  } else if (!isJobInProgress(job.status)) {
    sections.push("workers\n  none: the job is not running");
  } else {
    const counts = job.worker_counts;
    sections.push(
      `workers\n${indent(
        renderTable(
          ["requested", "pending", "initializing", "running", "succeeded", "failed", "stalled"],
          [
            [
              String(job.workers),
              String(counts.pending),
              String(counts.initializing),
              String(counts.running),
              String(counts.succeeded),
              String(counts.failed),
              String(counts.stalled),
            ],
          ],
        ),
      )}`,
    );
  }

  const failures = job.failures ?? [];
  if (failures.length > 0) {
    const more =
      metrics.failed > failures.length
        ? ` (the first ${failures.length} of ${metrics.failed})`
        : "";
    sections.push(
      `failed batches${more}\n${indent(
        failures
          .map(
            (failure) =>
              `batch ${failure.batch_id}, after ${failure.attempts} ${failure.attempts === 1 ? "attempt" : "attempts"}:\n${indent(failure.error.trimEnd())}`,
          )
          .join("\n"),
      )}`,
    );
  }

  const configuration: Array<readonly [string, string]> = [
    ["workers", String(job.workers)],
    ["max retries", job.max_retries === undefined ? "-" : String(job.max_retries)],
    ["batch timeout", job.timeout === undefined ? "-" : formatDuration(job.timeout)],
    ["queue", job.sqs_url ?? "the state database (local)"],
  ];
  const config = Object.keys(job.config).length === 0 ? "{}" : JSON.stringify(job.config, null, 2);
  sections.push(
    `job endpoint: ${response.endpoint}\n\njob configuration\n${indent(keyValues(configuration))}\n${indent(`config: ${config}`)}`,
  );
  return sections.join("\n\n");
}
