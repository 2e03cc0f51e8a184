/**
 * Local `axon cluster up` without a terminal: each phase of the start-up on stderr as it happens,
 * with the time since the command began, then the cluster's info (or its JSON alone on stdout).
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeApiDetail } from "../../testing/fake-control-plane.js";
import { startFakeDaemon } from "../../testing/fixtures.js";
import { runCli } from "../../testing/run-cli.js";
import { standInControlPlane } from "../../testing/starting-control-plane.js";

/** The stderr lines as [text, seconds]. */
function phases(stderr: string): [string, number][] {
  return stderr
    .trimEnd()
    .split("\n")
    .map((line) => {
      const match = /^(.*) \((\d+\.\d)s\)$/.exec(line);
      expect(match, line).not.toBeNull();
      return [match?.[1] ?? "", Number(match?.[2])];
    });
}

describe("axon cluster up (local)", () => {
  it("tells each phase of the start-up as it happens, the replicas coming back, then the info", async () => {
    // Given no cluster running, and the phases an earlier start left behind
    const { home, env } = await standInControlPlane();
    await writeFile(
      path.join(home, "startup.json"),
      JSON.stringify({ pid: 1, phases: [{ at: new Date().toISOString(), text: "stale phase" }] }),
    );

    // When starting the cluster
    const run = await runCli(["cluster", "up"], { env });

    // Then stderr tells the story in order, each phase with a growing elapsed time
    expect(run.exitCode).toBe(0);
    const lines = phases(run.stderr);
    expect(lines.map(([text]) => text.replace(/(pid |127\.0\.0\.1:)\d+/g, "$1N"))).toEqual([
      "starting the control plane (pid N)",
      "state opened: 2 APIs",
      "gateway listening on http://localhost:1, python 3.11.2",
      "control-plane API listening on http://127.0.0.1:N",
      "replicas starting: 0 of 2 ready",
      "replicas starting: 1 of 2 ready",
      "replicas ready: 2 of 2",
      "ready: control plane http://127.0.0.1:N, gateway http://localhost:1",
    ]);
    const seconds = lines.map(([, s]) => s);
    expect(seconds).toEqual([...seconds].sort((a, b) => a - b));
    expect(seconds[0]).toBeLessThan(0.5);
    // (the stand-in reports its state 0.3 s after it starts)
    expect(seconds[1]).toBeGreaterThanOrEqual(0.3);
    expect(run.stderr).not.toContain("stale phase");
    // and stdout holds the cluster's info
    expect(run.stdout).toContain("version: 0.0.0-standin");
  });

  it("keeps stdout to one JSON document with -o json, and names an api that fails to come back", async () => {
    // Given a cluster whose second api is in error
    const { env } = await standInControlPlane({ STANDIN_FAILING: "1" });

    // When starting it with -o json
    const run = await runCli(["cluster", "up", "-o", "json"], { env });

    // Then the phases went to stderr, the failing api is named, and stdout is the info alone
    expect(run.exitCode).toBe(0);
    expect(phases(run.stderr).map(([text]) => text)).toContain(
      "replicas ready: 1 of 2; failing: text-generator (see axon get text-generator)",
    );
    expect(JSON.parse(run.stdout)).toMatchObject({ version: "0.0.0-standin", apis: 2 });
  });

  it("only says so when the cluster already runs", async () => {
    // Given a running cluster
    const { env } = await standInControlPlane();
    expect((await runCli(["cluster", "up"], { env })).exitCode).toBe(0);

    // When starting it again
    const again = await runCli(["cluster", "up"], { env });

    // Then no phases, just where it runs
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toMatch(
      /^the local cluster is already running at http:\/\/127\.0\.0\.1:\d+\n$/,
    );
  });

  it("waits for the replicas of a cluster that already runs but is still bringing them back", async () => {
    // Given a running daemon (restarted by its supervisor, say) whose api keeps its status while its
    // replica starts again: not ready for the first two looks, then ready
    let looks = 0;
    const daemon = await startFakeDaemon({
      route: (request, response) => {
        if (request.method !== "GET" || request.path !== "/v1/apis") return false;
        const ready = looks++ >= 2 ? 1 : 0;
        const api = makeApiDetail("iris", "http://localhost:1/iris", "live");
        const summary = {
          ...api,
          replicas: { ...api.replicas, upToDate: ready, initializing: 1 - ready },
        };
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ apis: [summary] }));
        return true;
      },
    });

    // When starting the cluster again
    const run = await runCli(["cluster", "up"], { env: daemon.env });

    // Then it says where it runs, then waits for the replica as a fresh start does
    expect(run.exitCode).toBe(0);
    const [first, ...rest] = run.stderr.trimEnd().split("\n");
    expect(first).toBe(`the local cluster is already running at ${daemon.url}`);
    expect(phases(rest.join("\n")).map(([text]) => text)).toEqual([
      "replicas starting: 0 of 1 ready",
      "replicas ready: 1 of 1",
    ]);
    expect(looks).toBe(3);
    expect(run.stdout).toContain("provider: local");
  });
});
