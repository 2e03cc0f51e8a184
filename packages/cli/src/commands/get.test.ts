import { describe, expect, it } from "vitest";
import { makeApiDetail } from "../testing/fake-control-plane.js";
import { makeIrisProject, makeTempDir, startFakeDaemon } from "../testing/fixtures.js";
import { runCli } from "../testing/run-cli.js";

describe("axon get", () => {
  it("lists the apis as a table", async () => {
    // Given a daemon with one live api updated 19 hours ago
    const daemon = await startFakeDaemon();
    daemon.apis.set(
      "iris-classifier",
      makeApiDetail("iris-classifier", "http://localhost:8888/iris-classifier", "live"),
    );

    // When listing
    const run = await runCli(["get"], { env: daemon.env, now: new Date(19 * 3600 * 1000 + 5000) });

    // Then the table is printed
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatchInlineSnapshot(`
      "api               status   up-to-date   requested   last update   endpoint
      iris-classifier   live     1            1           19h           http://localhost:8888/iris-classifier
      "
    `);
  });

  it("fits the table to a 40-column terminal", async () => {
    // Given the same daemon
    const daemon = await startFakeDaemon();
    daemon.apis.set(
      "iris-classifier",
      makeApiDetail("iris-classifier", "http://localhost:8888/iris-classifier", "live"),
    );

    // When listing on a terminal 40 columns wide
    const run = await runCli(["get"], {
      env: daemon.env,
      now: new Date(19 * 3600 * 1000 + 5000),
      columns: 40,
    });

    // Then each api is a block that fits, its endpoint whole
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatchInlineSnapshot(`
      "iris-classifier   live
        up-to-date 1 · requested 1
        last update 19h
        http://localhost:8888/iris-classifier
      "
    `);
  });

  it("prints only the ApiListResponse with -o json", async () => {
    // Given a daemon with one api
    const daemon = await startFakeDaemon();
    daemon.apis.set(
      "iris-classifier",
      makeApiDetail("iris-classifier", "http://x/iris-classifier", "live"),
    );

    // When listing as JSON
    const run = await runCli(["get", "-o", "json"], { env: daemon.env });

    // Then stdout is that one document
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      apis: [{ name: "iris-classifier", status: "live" }],
    });
  });

  it("prints the ApiDetail of one api with -o json", async () => {
    // Given a daemon with one api
    const daemon = await startFakeDaemon();
    daemon.apis.set(
      "iris-classifier",
      makeApiDetail("iris-classifier", "http://x/iris-classifier", "live"),
    );

    // When asking for it
    const run = await runCli(["get", "iris-classifier", "--output", "json"], { env: daemon.env });

    // Then the detail comes back
    expect(JSON.parse(run.stdout)).toMatchObject({
      name: "iris-classifier",
      specYaml: expect.any(String) as unknown,
    });
  });

  it("turns the daemon's 404 into exit 1 with its message and hint", async () => {
    // Given a daemon without that api
    const daemon = await startFakeDaemon();

    // When asking for it
    const run = await runCli(["get", "nope"], { env: daemon.env });

    // Then the ErrorBody is shown
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      "error: api nope is not deployed\nhint: run `axon get` to see the deployed apis\n",
    );
  });

  it("says the local cluster is not running when there is no daemon", async () => {
    // Given an empty AXON_HOME
    const home = await makeTempDir();

    // When listing
    const run = await runCli(["get"], { env: { AXON_HOME: home } });

    // Then the error says how to start it
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      "error: the local cluster is not running\nhint: run `axon cluster up` (or `axon deploy`, which starts it)\n",
    );
  });

  it("ignores a daemon.json left behind by a dead daemon", async () => {
    // Given a daemon that has gone away without removing its record
    const daemon = await startFakeDaemon();
    await daemon.close();

    // When listing
    const run = await runCli(["get"], { env: daemon.env });

    // Then it is reported as not running, not as a network error
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("error: the local cluster is not running");
  });

  it("--watch -o json prints one JSON document per look (NDJSON) until Ctrl-C, then exits 130", async () => {
    // Given a daemon with one api
    const daemon = await startFakeDaemon();
    daemon.apis.set("iris", makeApiDetail("iris", "http://x/iris", "live"));
    const interrupt = new AbortController();

    // When watching as JSON until the second look has been printed
    let looks = 0;
    const run = await runCli(["get", "-w", "-o", "json"], {
      env: daemon.env,
      signal: interrupt.signal,
      onStdout: (text) => {
        looks += text.split("\n").filter(Boolean).length;
        if (looks >= 2) interrupt.abort();
      },
    });

    // Then stdout holds only whole ApiListResponse documents, one per line
    expect(run.exitCode).toBe(130);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ apis: [{ name: "iris" }] });
    expect(run.stderr).toBe("");
  });

  it("--watch without a terminal prints the plain view, again only when something changed", async () => {
    // Given an api whose status changes after the first look
    const daemon = await startFakeDaemon({
      statusSequence: [{ status: "updating" }, { status: "live" }],
    });
    daemon.apis.set("iris", makeApiDetail("iris", "http://x/iris", "updating"));
    await runCli(["deploy", "--no-wait"], { env: daemon.env, cwd: await makeIrisProject() });
    const interrupt = new AbortController();

    // When watching it until it has been printed twice
    let printed = 0;
    const run = await runCli(["get", "iris-classifier", "--watch"], {
      env: daemon.env,
      signal: interrupt.signal,
      now: new Date(5000),
      onStdout: () => {
        printed += 1;
        if (printed >= 2) interrupt.abort();
      },
    });

    // Then the detail was printed once per state, separated by a blank line
    expect(run.exitCode).toBe(130);
    const views = run.stdout.split("\n\nstatus ").length;
    expect(views).toBe(2);
    expect(run.stdout).toMatch(/^status\s+up-to-date\s+requested\s+last update\nupdating/);
    expect(run.stdout).toContain("\n\nstatus   up-to-date   requested   last update\nlive ");
  });

  it("get <traffic splitter> shows its endpoint, weights, requests, shares and error rates; -o json the splitter; an unknown name stays not found", async () => {
    // Given a daemon with a 70/30 splitter whose APIs got 700 and 300 requests
    const daemon = await startFakeDaemon();
    daemon.trafficSplitters.push({
      name: "iris",
      kind: "TrafficSplitter",
      endpoint: "http://localhost:8888/iris",
      lastUpdated: "1970-01-01T00:00:00Z",
      apis: [
        { name: "iris-a", weight: 70, requests: 700, share: 0.7, errorRate: 0.01 },
        { name: "iris-b", weight: 30, requests: 300, share: 0.3, errorRate: 0 },
      ],
    });

    // When its detail is asked for
    const run = await runCli(["get", "iris"], { env: daemon.env, now: new Date(90_000) });

    // Then the splitter's detail, not an api-not-found error
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatchInlineSnapshot(`
      "traffic splitter iris
      endpoint: http://localhost:8888/iris
      last update: 1m ago

      api      weight   requests   share   error rate
      iris-a   70%      700        70.0%   1.0%
      iris-b   30%      300        30.0%   0.0%

      counted over: the splitter's requests since the control plane started
      "
    `);
    const json = await runCli(["get", "iris", "-o", "json"], { env: daemon.env });
    expect(JSON.parse(json.stdout)).toMatchObject({ name: "iris", kind: "TrafficSplitter" });
    const unknown = await runCli(["get", "nope"], { env: daemon.env });
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain("api nope is not deployed");
  });
});
