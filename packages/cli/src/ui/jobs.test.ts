/**
 * The batch job renderers over contract objects (`contract/batch.ts` shapes, built here as an
 * engine would answer them): the job table, the job view, the plain watch line, the progress bar,
 * and the duration, ETA and rate formats.
 */
import type { BatchJobList } from "@axon/control-plane/api";
import { describe, expect, test } from "vitest";
import { makeFinishedJob, makeRunningJob } from "../testing/jobs.js";
import { renderApiList } from "./apis.js";
import {
  formatDuration,
  formatEta,
  formatRate,
  jobStatusWords,
  renderJobDetail,
  renderJobLine,
  renderJobList,
  renderProgressBar,
} from "./jobs.js";

const NOW = new Date("2026-12-07T19:10:00Z");

const runningJob = makeRunningJob;
const finishedJob = makeFinishedJob;

describe("durations, ETAs and rates", () => {
  test("a duration keeps two units at most", () => {
    expect(
      [0, 45, 59.6, 60, 185, 3599, 3600, 7620, 48 * 3600, 3 * 86400 + 4 * 3600 + 59].map(
        formatDuration,
      ),
    ).toEqual([
      "0s",
      "45s",
      "1m00s",
      "1m00s",
      "3m05s",
      "59m59s",
      "1h00m",
      "2h07m",
      "2d00h",
      "3d04h",
    ]);
    expect(formatDuration(undefined)).toBe("-");
    expect(formatDuration(-1)).toBe("-");
  });

  test("the ETA is the engine's while the job runs, ? without a rate yet, - once it ended", () => {
    expect(formatEta(runningJob())).toBe("9m37s");
    expect(formatEta(runningJob({ eta_seconds: undefined }))).toBe("?");
    expect(formatEta(runningJob({ status: "status_enqueuing", eta_seconds: undefined }))).toBe("?");
    expect(formatEta(finishedJob())).toBe("-");
    expect(formatEta(finishedJob({ eta_seconds: 12 }))).toBe("-");
  });

  test("a rate has a decimal below 100 items/s and thousands separators above", () => {
    expect([0.42, 12.55, 99.9, 1234.4, 250_000].map(formatRate)).toEqual([
      "0.4/s",
      "12.6/s",
      "99.9/s",
      "1,234/s",
      "250,000/s",
    ]);
    expect(formatRate(undefined)).toBe("-");
  });

  test("every status reads in words, each failure as failed (why)", () => {
    expect(jobStatusWords("status_running")).toBe("running");
    expect(jobStatusWords("status_succeeded")).toBe("succeeded");
    expect(jobStatusWords("status_completed_with_failures")).toBe("completed with failures");
    expect(jobStatusWords("status_stopped")).toBe("stopped");
    expect(jobStatusWords("status_worker_error")).toBe("failed (worker error)");
    expect(jobStatusWords("status_worker_oom")).toBe("failed (out of memory)");
    expect(jobStatusWords("status_enqueue_failed")).toBe("failed while enqueuing");
  });
});

describe("the job list of axon get <batch-api>", () => {
  test("a table of jobs, newest first, with Axon's queued, rate and eta columns", () => {
    // Given a BatchAPI with a running job and a finished one
    const list: BatchJobList = {
      api: "image-classifier",
      endpoint: "http://localhost:8888/image-classifier",
      jobs: [runningJob(), finishedJob()],
    };

    // When it is rendered
    const text = renderJobList(list, NOW);

    // Then each job is a row (failed shown: one job has failed batches), then the endpoint
    expect(text).toMatchInlineSnapshot(`
      "job id       status      progress   failed   queued   rate     eta     started   duration
      69d6faf8a4   running     340/1000   2        654      56.7/s   9m37s   5m ago    5m00s
      0f3e9b21c7   succeeded   10/10      0        0        -        -       1h ago    8m12s

      endpoint: http://localhost:8888/image-classifier"
    `);
  });

  test("the failed column is left out when no job has a failed batch (as Cortex did)", () => {
    const text = renderJobList({ api: "a", endpoint: "http://e/a", jobs: [finishedJob()] }, NOW);
    expect(text.split("\n")[0]).not.toContain("failed");
    expect(text.split("\n")[0]).toContain("queued");
  });

  test("no jobs: says how to submit one", () => {
    const text = renderJobList({ api: "a", endpoint: "http://e/a", jobs: [] }, NOW);
    expect(text).toBe(
      "a has no jobs; submit one with `axon submit a job.json` (see docs/batch.md)\n\nendpoint: http://e/a",
    );
  });
});

describe("the BatchAPIs of axon get", () => {
  test("in their own table, Cortex's columns, beside the realtime APIs' table", () => {
    // Given an environment with no realtime API and two BatchAPIs
    const text = renderApiList(
      {
        apis: [],
        batchApis: [
          {
            name: "nightly-scoring",
            kind: "BatchAPI",
            endpoint: "http://localhost:8888/nightly-scoring",
            lastUpdated: "2026-12-06T19:10:00Z",
            runningJobs: 0,
          },
          {
            name: "image-classifier",
            kind: "BatchAPI",
            endpoint: "http://localhost:8888/image-classifier",
            lastUpdated: "2026-12-07T19:00:00Z",
            runningJobs: 1,
            latestJobId: "69d6faf8a4",
          },
        ],
      },
      NOW,
    );

    // Then only the batch table is shown (no "no apis are deployed"), sorted by name
    expect(text).toMatchInlineSnapshot(`
      "batch api          running jobs   latest job id   last update   endpoint
      image-classifier   1              69d6faf8a4      10m           http://localhost:8888/image-classifier
      nightly-scoring    0              -               24h           http://localhost:8888/nightly-scoring"
    `);
  });
});

describe("the job view of axon get <batch-api> <job-id>", () => {
  test("status, timing, batches with progress, rate and eta, workers, endpoint and configuration", () => {
    const text = renderJobDetail(
      {
        job_status: runningJob({ config: { threshold: 0.5 } }),
        endpoint: "http://localhost:8888/image-classifier/69d6faf8a4",
      },
      NOW,
    );
    expect(text).toMatchInlineSnapshot(`
      "job id:    69d6faf8a4
      api:       image-classifier
      status:    running
      submitted: 2026-12-07 19:04:55 UTC (5m ago)
      started:   2026-12-07 19:05:00 UTC (5m ago)
      ended:     -
      duration:  5m00s

      batches
        total   succeeded   failed   in progress   queued   retried   avg time per batch
        1000    340         2        4             654      3         1.500s
        progress: ██████████▒░░░░░░░░░░░░░░░░░░░ 34%   rate: 56.7/s   eta: 9m37s

      workers
        requested   pending   initializing   running   succeeded   failed   stalled
        2           0         0              2         0           0        0

      job endpoint: http://localhost:8888/image-classifier/69d6faf8a4

      job configuration
        workers:       2
        max retries:   1
        batch timeout: 10m00s
        queue:         the state database (local)
        config: {
          "threshold": 0.5
        }"
    `);
  });

  test("a job that ended with failures says why, and lists the failed batches with their errors", () => {
    // Given a job that completed with 3 failed batches, 2 of them listed
    const job = finishedJob({
      status: "status_completed_with_failures",
      status_message: "3 of 10 batches failed after 2 attempts each",
      batch_metrics: { succeeded: 7, failed: 3 },
      failures: [
        { batch_id: "b-0003", attempts: 2, error: "ValueError: bad image\n  at line 3\n" },
        { batch_id: "b-0007", attempts: 1, error: "worker killed (out of memory)" },
      ],
    });

    // When it is rendered
    const text = renderJobDetail({ job_status: job, endpoint: "http://e/a/0f3e9b21c7" }, NOW);

    // Then the status reads in words with why, no worker table, and each failure with its error
    expect(text).toContain("status:    completed with failures\nwhy:       3 of 10 batches failed");
    expect(text).toContain("workers\n  none: the job is not running");
    expect(text).toContain(
      [
        "failed batches (the first 2 of 3)",
        "  batch b-0003, after 2 attempts:",
        "    ValueError: bad image",
        "      at line 3",
        "  batch b-0007, after 1 attempt:",
        "    worker killed (out of memory)",
      ].join("\n"),
    );
    expect(text).toContain("duration:  8m12s");
  });

  test("a job still enqueuing has no total yet: an empty bar and no worker table", () => {
    const job = runningJob({
      status: "status_enqueuing",
      total_batch_count: undefined,
      start_time: undefined,
      batch_metrics: { succeeded: 0, failed: 0 },
      items_per_second: undefined,
      eta_seconds: undefined,
    });
    const text = renderJobDetail({ job_status: job, endpoint: "http://e" }, NOW);
    expect(text).toContain(`progress: ${"░".repeat(30)} -   rate: -   eta: ?`);
    expect(text).toContain("still enqueuing: no worker has started yet");
    expect(text).toContain("started:   -");
  });
});

describe("the watch forms of a job", () => {
  test("the progress bar fills with succeeded, then failed, then what is left", () => {
    expect(renderProgressBar(runningJob(), 20)).toBe(`${"█".repeat(6)}▒${"░".repeat(13)}`);
    const done = finishedJob({ batch_metrics: { succeeded: 7, failed: 3 } });
    expect(renderProgressBar(done, 10)).toBe("███████▒▒▒");
    expect(renderProgressBar(finishedJob(), 10)).toBe("█".repeat(10));
    // (a failed share too small for a cell still shows one, so a failure is never invisible)
    const oneFailed = runningJob({ batch_metrics: { succeeded: 0, failed: 1 } });
    expect(renderProgressBar(oneFailed, 10)).toBe(`▒${"░".repeat(9)}`);
  });

  test("the plain line has counts, rate, eta and time while running, and the time taken after", () => {
    expect(renderJobLine(runningJob(), NOW)).toBe(
      "job 69d6faf8a4 running: 340/1000 batches succeeded (34%), 2 failed, 654 queued, 56.7/s, eta 9m37s, 5m00s elapsed",
    );
    expect(renderJobLine(finishedJob(), NOW)).toBe(
      "job 0f3e9b21c7 succeeded: 10/10 batches succeeded (100%), 0 failed, 0 queued, took 8m12s",
    );
  });
});
