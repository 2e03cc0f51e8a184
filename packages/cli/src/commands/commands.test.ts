/** Tests of the smaller commands against the fake daemon (see testing/fake-control-plane.ts). */
import { spawn } from "node:child_process";
import { describe, expect, it, onTestFinished } from "vitest";
import { makeApiDetail } from "../testing/fake-control-plane.js";
import { makeTempDir, startFakeDaemon, writeFiles } from "../testing/fixtures.js";
import { runCli } from "../testing/run-cli.js";

describe("axon logs", () => {
  it("streams the log text to stdout", async () => {
    // Given a deployed api
    const daemon = await startFakeDaemon();
    daemon.apis.set("iris", makeApiDetail("iris", `${daemon.url}/iris`, "live"));

    // When reading its logs with a tail
    const run = await runCli(["logs", "iris", "--tail", "5", "-f"], { env: daemon.env });

    // Then the lines arrive in order and the query carries the flags
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe("iris line 1\niris line 2\n");
    expect(daemon.requests.at(-1)?.path).toBe("/v1/apis/iris/logs?tail=5&follow=1");
  });

  it("exits 130 when interrupted", async () => {
    // Given a log stream that never ends
    const daemon = await startFakeDaemon({
      route: (request, response) => {
        if (!request.path.includes("/logs")) return false;
        response.writeHead(200, { "content-type": "text/plain" });
        response.write("first\n");
        return true;
      },
    });
    const interrupt = new AbortController();

    // When Ctrl-C arrives after the first line
    const pending = runCli(["logs", "iris", "-f"], { env: daemon.env, signal: interrupt.signal });
    setTimeout(() => interrupt.abort(), 200);
    const run = await pending;

    // Then it stops cleanly with 130
    expect(run.exitCode).toBe(130);
    expect(run.stdout).toBe("first\n");
    expect(run.stderr).toBe("");
  });
});

describe("axon delete", () => {
  it("deletes an api that serves nothing without asking, and prints the daemon's message", async () => {
    // Given an api whose replicas all failed
    const daemon = await startFakeDaemon();
    daemon.apis.set("iris", makeApiDetail("iris", `${daemon.url}/iris`, "error"));

    // When deleting it from a script
    const run = await runCli(["delete", "iris"], { env: daemon.env });

    // Then there was nothing to lose, so no question
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe("deleting iris\n");
    expect(daemon.apis.has("iris")).toBe(false);
  });

  it("prints one JSON document with -o json", async () => {
    const daemon = await startFakeDaemon();
    daemon.apis.set("iris", makeApiDetail("iris", `${daemon.url}/iris`, "live"));
    const run = await runCli(["delete", "iris", "--yes", "-o", "json"], { env: daemon.env });
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ message: "deleting iris" });
  });

  it("fails with exit 1 for an unknown api; with -o json the failure is one JSON document on stdout", async () => {
    const daemon = await startFakeDaemon();
    const run = await runCli(["delete", "nope", "-y", "-o", "json"], { env: daemon.env });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("error: api nope is not deployed");
    // The same fields as the human message, for scripts
    const document = JSON.parse(run.stdout) as { error: Record<string, unknown> };
    expect(document.error).toMatchObject({
      exitCode: 1,
      code: "api.not_found",
      message: "api nope is not deployed",
    });
  });

  it("a usage error with -o json is a JSON document too (exit 2); without -o json stdout stays empty", async () => {
    const usage = await runCli(["get", "-o", "json", "--bogus"]);
    expect(usage.exitCode).toBe(2);
    expect(JSON.parse(usage.stdout)).toEqual({
      error: { exitCode: 2, code: "usage", message: "unknown option '--bogus'" },
    });
    const plain = await runCli(["get", "--bogus"]);
    expect(plain.exitCode).toBe(2);
    expect(plain.stdout).toBe("");
  });

  it("never prompts without a terminal: a serving api needs --yes, named in the error", async () => {
    // Given an api serving on one replica
    const daemon = await startFakeDaemon();
    daemon.apis.set("iris", makeApiDetail("iris", `${daemon.url}/iris`, "live"));

    // When deleting without --yes and without a terminal
    const run = await runCli(["delete", "iris"], { env: daemon.env });

    // Then nothing is deleted, nothing was asked, and the flag is named
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      `error: delete iris (serving on 1 replica at ${daemon.url}/iris): confirmation needed, but there is no terminal to ask\nhint: pass --yes to go ahead without a prompt\n`,
    );
    expect(daemon.apis.has("iris")).toBe(true);
  });

  it("asks on a terminal: yes deletes, anything else cancels with exit 1", async () => {
    // Given an api serving on three replicas
    const daemon = await startFakeDaemon();
    const api = makeApiDetail("iris", `${daemon.url}/iris`, "live");
    api.replicas = { ...api.replicas, upToDate: 3, requested: 3 };
    daemon.apis.set("iris", api);

    // When a person answers no, then (Ctrl-D) nothing
    const no = await runCli(["delete", "iris"], {
      env: daemon.env,
      interactive: true,
      stdin: "n\n",
    });
    const eof = await runCli(["delete", "iris"], { env: daemon.env, interactive: true, stdin: "" });

    // Then the question went to stderr, and nothing was deleted
    expect(no.exitCode).toBe(1);
    expect(no.stderr).toBe(
      `delete iris (serving on 3 replicas at ${daemon.url}/iris)? (y/n) cancelled\n`,
    );
    expect(no.stdout).toBe("");
    expect(eof.exitCode).toBe(1);
    expect(daemon.apis.has("iris")).toBe(true);

    // When a person answers yes
    const yes = await runCli(["delete", "iris"], {
      env: daemon.env,
      interactive: true,
      stdin: "y\n",
    });

    // Then it is deleted
    expect(yes.exitCode).toBe(0);
    expect(yes.stdout).toBe("deleting iris\n");
    expect(daemon.apis.has("iris")).toBe(false);
  });
});

describe("axon predict", () => {
  it("posts the JSON file to the endpoint and prints the answer", async () => {
    // Given a deployed api and a payload file
    const daemon = await startFakeDaemon();
    daemon.apis.set("iris", makeApiDetail("iris", `${daemon.url}/iris`, "live"));
    const dir = await makeTempDir();
    await writeFiles(dir, { "sample.json": '{"sepal_length": 5.2}' });

    // When predicting
    const run = await runCli(["predict", "iris", "sample.json"], { env: daemon.env, cwd: dir });

    // Then the response body is printed
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ echoed: { sepal_length: 5.2 } });
    expect(daemon.requests.at(-1)?.body.toString()).toBe('{"sepal_length": 5.2}');
  });

  it("prints status, content type and the parsed body as one JSON document with -o json", async () => {
    // Given a deployed api answering JSON
    const daemon = await startFakeDaemon();
    daemon.apis.set("iris", makeApiDetail("iris", `${daemon.url}/iris`, "live"));

    // When predicting with -o json
    const run = await runCli(["predict", "iris", "-", "-o", "json"], {
      env: daemon.env,
      stdin: "[1, 2]",
    });

    // Then stdout is the answer as data, its JSON body nested as JSON
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      api: "iris",
      status: 200,
      contentType: "application/json",
      body: { echoed: [1, 2] },
    });
  });

  it("reads stdin with -", async () => {
    const daemon = await startFakeDaemon();
    daemon.apis.set("iris", makeApiDetail("iris", `${daemon.url}/iris`, "live"));
    const run = await runCli(["predict", "iris", "-"], { env: daemon.env, stdin: "[1, 2]" });
    expect(JSON.parse(run.stdout)).toEqual({ echoed: [1, 2] });
  });

  it("rejects a payload that is not JSON, naming the file", async () => {
    const dir = await makeTempDir();
    await writeFiles(dir, { "bad.json": "{nope" });
    const run = await runCli(["predict", "iris", "bad.json"], {
      cwd: dir,
      env: { AXON_HOME: dir },
    });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^error: bad\.json is not valid JSON: /);
  });

  it("exits 1 with status and body when the api answers non-2xx", async () => {
    // Given an api whose predictor raises
    const daemon = await startFakeDaemon({
      route: (request, response) => {
        if (request.path !== "/iris") return false;
        response
          .writeHead(500, { "content-type": "text/plain" })
          .end("predictor raised ValueError");
        return true;
      },
    });
    daemon.apis.set("iris", makeApiDetail("iris", `${daemon.url}/iris`, "live"));

    // When predicting
    const run = await runCli(["predict", "iris", "-"], { env: daemon.env, stdin: "{}" });

    // Then the status and body are shown
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(
      "error: iris answered 500 Internal Server Error\n  predictor raised ValueError",
    );
  });
});

describe("axon cluster", () => {
  it("info prints where the cluster listens, and -o json the ClusterInfo", async () => {
    const daemon = await startFakeDaemon();
    const pretty = await runCli(["cluster", "info"], { env: daemon.env });
    expect(pretty.exitCode).toBe(0);
    expect(pretty.stdout).toContain(`control plane: ${daemon.url}`);
    expect(pretty.stdout).toContain("python: /usr/bin/python3 (3.11.2, from default)");

    const json = await runCli(["cluster", "info", "-o", "json"], { env: daemon.env });
    expect(JSON.parse(json.stdout)).toMatchObject({ provider: "local", apiUrl: daemon.url });
  });

  it("up says it is already running and prints the summary", async () => {
    const daemon = await startFakeDaemon();
    const run = await runCli(["cluster", "up"], { env: daemon.env });
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toContain(`the local cluster is already running at ${daemon.url}`);
    expect(run.stdout).toContain("provider: local");
  });

  it("down prints one JSON document with -o json, whether or not a cluster ran", async () => {
    // Given a daemon whose pid is a real process that the shutdown route kills, and an empty home
    const stand_in = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], {
      stdio: "ignore",
    });
    onTestFinished(() => void stand_in.kill());
    const pid = stand_in.pid ?? 0;
    const daemon = await startFakeDaemon({ pid, onShutdown: () => stand_in.kill() });
    const empty = await makeTempDir();

    // When stopping each with -o json
    const stopped = await runCli(["cluster", "down", "-o", "json"], { env: daemon.env });
    const none = await runCli(["cluster", "down", "-o", "json"], { env: { AXON_HOME: empty } });

    // Then each prints what happened as JSON (progress stays on stderr)
    expect(stopped.exitCode).toBe(0);
    expect(JSON.parse(stopped.stdout)).toEqual({ stopped: true, pid });
    expect(none.exitCode).toBe(0);
    expect(JSON.parse(none.stdout)).toEqual({ stopped: false, pid: null });
  });

  it("down asks the daemon to stop and waits for its process to exit", async () => {
    // Given a daemon whose pid is a real process that the shutdown route kills
    const stand_in = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], {
      stdio: "ignore",
    });
    onTestFinished(() => void stand_in.kill());
    const pid = stand_in.pid ?? 0;
    const daemon = await startFakeDaemon({ pid, onShutdown: () => stand_in.kill() });

    // When stopping the cluster
    const run = await runCli(["cluster", "down"], { env: daemon.env });

    // Then it reports the stop once the process is gone
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe("local cluster stopped\n");
    expect(daemon.requests.some((r) => r.path === "/v1/shutdown")).toBe(true);
  });
});

describe("axon version", () => {
  it("prints the cli and daemon versions as JSON", async () => {
    const daemon = await startFakeDaemon();
    const run = await runCli(["version", "-o", "json"], { env: daemon.env });
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      cli: expect.stringMatching(/^\d+\.\d+\.\d+/) as unknown,
      controlPlane: "9.9.9-fake",
    });
  });

  it("prints the cli version alone with --version", async () => {
    const run = await runCli(["--version"]);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it("says when no cluster is running", async () => {
    const home = await makeTempDir();
    const run = await runCli(["version"], { env: { AXON_HOME: home } });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^cli version: \d+\.\d+\.\d+\nlocal cluster: not running\n$/);
  });
});
