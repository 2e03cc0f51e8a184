import { render } from "ink-testing-library";
import { describe, expect, it } from "vitest";
import type { BatchJobStatus } from "@axon/control-plane/api";
import { makeFinishedJob, makeRunningJob } from "../testing/jobs.js";
import { JobWatch } from "./JobWatch.js";
import { ColorProvider } from "./Tint.js";

const NOW = new Date("2026-12-07T19:10:00Z");

/** The screen at `width` columns, colours off, at NOW. */
function frame(job: BatchJobStatus, width = 60): string {
  const { lastFrame, unmount } = render(
    <ColorProvider enabled={false}>
      <JobWatch look={{ job_status: job, endpoint: "http://e/a" }} now={NOW} width={width} />
    </ColorProvider>,
  );
  const text = lastFrame() ?? "";
  unmount();
  return text;
}

describe("JobWatch", () => {
  it("a running job: status, a bar as wide as the terminal allows, counts, rate, eta, workers", () => {
    // Given a job a third done, on a 60-column terminal
    const text = frame(makeRunningJob());

    // Then the bar fills 48 cells (60 less room for the percentage) a third, with one failed cell
    expect(text).toMatchInlineSnapshot(`
      "job 69d6faf8a4 of image-classifier: running
      ████████████████▒░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░ 34%
      340/1000 batches succeeded · 2 failed · 4 in progress · 654 queued · 3 retried
      56.7/s · eta 9m37s · 5m00s elapsed · 2/2 workers running
      Ctrl-C stops watching (the job keeps running)"
    `);
  });

  it("an ended job with failures: the first failed batches with the last line of their errors", () => {
    // Given a job that completed with failures
    const job = makeFinishedJob({
      status: "status_completed_with_failures",
      status_message: "1 of 10 batches failed",
      batch_metrics: { succeeded: 9, failed: 1 },
      failures: [
        {
          batch_id: "b-0003",
          attempts: 2,
          error: "Traceback (most recent call last):\n  ...\nValueError: bad image\n",
        },
      ],
    });

    // When it is drawn
    const text = frame(job);

    // Then it says how it ended, the time it took, and why the batch failed
    expect(text).toContain(
      "job 0f3e9b21c7 of image-classifier: completed with failures (1 of 10 batches failed)",
    );
    expect(text).toContain("took 8m12s");
    expect(text).toContain("batch b-0003 failed after 2 attempts: ValueError: bad image");
    expect(text).toContain("axon get image-classifier 0f3e9b21c7 shows every failed batch");
    expect(text).not.toContain("Ctrl-C");
  });
});
