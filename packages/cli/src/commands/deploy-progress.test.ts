/**
 * `axon deploy` without a terminal: replica progress from `GET /v1/events` on stderr, the failing
 * replica's log in the error, and what Ctrl-C means before and after the deploy is recorded.
 */
import { describe, expect, it } from "vitest";
import { makeIrisProject, startFakeDaemon } from "../testing/fixtures.js";
import { runCli } from "../testing/run-cli.js";

describe("axon deploy progress", () => {
  it("reports each replica's state on stderr while waiting, and a known bundle as unchanged", async () => {
    // Given a project and a daemon
    const dir = await makeIrisProject();
    const daemon = await startFakeDaemon();

    // When deploying and waiting, twice
    const first = await runCli(["deploy", dir, "--wait", "-o", "json"], { env: daemon.env });
    const second = await runCli(["deploy", dir, "--no-wait"], { env: daemon.env });

    // Then the replica's start and readiness came from the event stream, stdout held only JSON,
    expect(first.exitCode).toBe(0);
    expect(first.stderr).toContain(
      "iris-classifier: replica r-aaa111 starting (version v-1, worker pids 1)\niris-classifier: replica r-aaa111 is ready (0.4s)\n",
    );
    expect(JSON.parse(first.stdout)).toMatchObject({ apis: [{ name: "iris-classifier" }] });
    // and the second upload was skipped, saying so
    expect(second.stderr).toMatch(
      /^project unchanged \([0-9a-f]{12} already on the control plane\), not sent again$/m,
    );
  });

  it("shows the failing replica's last log lines with the error", async () => {
    // Given an api whose replica fails, and a log with its traceback
    const dir = await makeIrisProject();
    const daemon = await startFakeDaemon({
      statusSequence: [
        { status: "updating" },
        { status: "error", statusMessage: "worker 0 exited with code 1" },
      ],
      deployEvents: (api) => [
        { kind: "replica.starting", api, replicaId: "r-bad000", versionId: "v-1", pids: [1] },
        {
          kind: "replica.failed",
          api,
          replicaId: "r-bad000",
          versionId: "v-1",
          reason: "worker 0 exited with code 1",
        },
      ],
      route: (request, response) => {
        if (!request.path.includes("/logs")) return false;
        response.writeHead(200, { "content-type": "text/plain" });
        response.end(
          [
            "2026-12-03 17:00:00.000 INFO [iris-classifier r-good00 w0] loaded predictor in 9 ms",
            "2026-12-03 17:00:01.000 ERROR [iris-classifier r-bad000 w0] loading the predictor failed:",
            "Traceback (most recent call last):",
            "FileNotFoundError: model.pkl",
            "",
          ].join("\n"),
        );
        return true;
      },
    });

    // When deploying and waiting
    const run = await runCli(["deploy", dir, "--wait"], { env: daemon.env });

    // Then the error names the failure and shows that replica's lines only
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(
      [
        "error: iris-classifier failed: worker 0 exited with code 1",
        "  last lines of its log:",
        "    2026-12-03 17:00:01.000 ERROR [iris-classifier r-bad000 w0] loading the predictor failed:",
        "    Traceback (most recent call last):",
        "    FileNotFoundError: model.pkl",
        "hint: see what happened with `axon logs iris-classifier`",
      ].join("\n"),
    );
  });

  it("after the deploy is recorded, Ctrl-C stops watching, says the deploy goes on, and exits 130", async () => {
    // Given an api that never becomes live
    const dir = await makeIrisProject();
    const daemon = await startFakeDaemon({ statusSequence: [{ status: "updating" }] });
    const interrupt = new AbortController();

    // When Ctrl-C comes while waiting
    const run = await runCli(["deploy", dir, "--wait"], {
      env: daemon.env,
      signal: interrupt.signal,
      onStdout: (text) => {
        if (text.includes("creating iris-classifier")) setImmediate(() => interrupt.abort());
      },
    });

    // Then it says the deploy was recorded and goes on
    expect(run.exitCode).toBe(130);
    expect(run.stderr).toContain(
      "stopped watching: the deploy was recorded and goes on without this terminal (see `axon get --watch`)\n",
    );
  });

  it("before the deploy is recorded, Ctrl-C says it is dropped", async () => {
    // Given a daemon that takes its time over the deploy (an environment build, say)
    const dir = await makeIrisProject();
    const interrupt = new AbortController();
    const daemon = await startFakeDaemon({
      route: (request, response) => {
        if (request.path !== "/v1/deploy") return false;
        response.writeHead(200, { "content-type": "application/x-ndjson" });
        response.write(
          `${JSON.stringify({ type: "progress", message: "Collecting scikit-learn" })}\n`,
        );
        interrupt.abort();
        return true;
      },
    });

    // When Ctrl-C comes during it
    const run = await runCli(["deploy", dir, "--wait"], {
      env: daemon.env,
      signal: interrupt.signal,
    });

    // Then it says nothing changed
    expect(run.exitCode).toBe(130);
    expect(run.stderr).toContain(
      "interrupted before the control plane recorded the deploy: it is dropped, nothing changed",
    );
  });
});
