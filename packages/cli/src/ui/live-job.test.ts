/**
 * `axon get <batch-api> <job-id> --watch` in a real pseudo-terminal (tmux): the progress bar
 * redrawn in place as the job moves, its last frame left on screen, exit 0 when the job succeeded,
 * 130 on Ctrl-C while it runs. The built CLI (`npm run build` first) against the fake control plane
 * answering with contract objects.
 */
import { spawnSync } from "node:child_process";
import type { BatchJobResponse, BatchJobStatus } from "@axon/control-plane/api";
import { describe, expect, it } from "vitest";
import { startFakeDaemon } from "../testing/fixtures.js";
import { makeFinishedJob, makeRunningJob } from "../testing/jobs.js";
import { startTerminal } from "../testing/tmux.js";

/** These need tmux (Debian's `tmux` package); without it they are skipped, saying so. */
const noTmux = spawnSync("tmux", ["-V"]).status !== 0;
if (noTmux) console.warn("live-job.test.ts: tmux is not installed; the pty tests are skipped");

/** A fake daemon answering each look at job 69d6faf8a4 of `scorer` with the next of `looks`. */
async function startJobDaemon(
  looks: BatchJobStatus[],
): Promise<Awaited<ReturnType<typeof startFakeDaemon>>> {
  let look = 0;
  return startFakeDaemon({
    route: (request, response) => {
      if (request.path !== "/v1/apis/scorer/jobs/69d6faf8a4") return false;
      const job = looks[Math.min(look++, looks.length - 1)];
      if (job === undefined) return false;
      const answer: BatchJobResponse = { job_status: job, endpoint: "http://x/scorer/69d6faf8a4" };
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify(answer));
      return true;
    },
  });
}

describe.skipIf(noTmux)("axon get <batch-api> <job-id> --watch in a terminal", () => {
  it("redraws the bar as the job moves, and leaves the last frame when it succeeds (exit 0)", async () => {
    // Given a job that is a third done, then two thirds, then succeeded
    const daemon = await startJobDaemon([
      makeRunningJob({ batch_metrics: { succeeded: 330, failed: 0 }, batches_in_queue: 670 }),
      makeRunningJob({ batch_metrics: { succeeded: 660, failed: 0 }, batches_in_queue: 340 }),
      makeFinishedJob({ job_id: "69d6faf8a4" }),
    ]);

    // When it is watched in a 72-column terminal
    const terminal = await startTerminal({
      args: ["get", "scorer", "69d6faf8a4", "--watch"],
      env: daemon.env,
      columns: 72,
    });

    // Then the bar is drawn while it runs, with what Ctrl-C would do
    const running = await terminal.waitFor("Ctrl-C stops watching");
    expect(running).toContain("job 69d6faf8a4 of image-classifier: running");
    expect(running).toMatch(/█+░+ (33|66)%/);

    // And when it succeeded, the view ends with a full bar and the time taken, and exits 0
    const exit = await terminal.waitForExit(30_000);
    expect(exit.status).toBe(0);
    expect(exit.screen).toContain("job 69d6faf8a4 of image-classifier: succeeded");
    expect(exit.screen).toContain(`${"█".repeat(60)} 100%`);
    expect(exit.screen).toContain("took 8m12s");
    expect(exit.screen).not.toContain("Ctrl-C stops watching");
    expect(exit.cursorVisible).toBe(true);
  }, 60_000);

  it("Ctrl-C stops watching a running job with 130; the job is not stopped", async () => {
    // Given a job that keeps running
    const daemon = await startJobDaemon([makeRunningJob()]);
    const terminal = await startTerminal({
      args: ["get", "scorer", "69d6faf8a4", "--watch"],
      env: daemon.env,
    });
    await terminal.waitFor("Ctrl-C stops watching");

    // When Ctrl-C is pressed
    await terminal.press("C-c");
    const exit = await terminal.waitForExit();

    // Then it exits 130 and nothing asked the daemon to stop the job
    expect(exit.status).toBe(130);
    expect(exit.cursorVisible).toBe(true);
    expect(daemon.requests.filter((request) => request.method === "DELETE")).toEqual([]);
  }, 60_000);
});
