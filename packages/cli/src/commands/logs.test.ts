/** `axon logs` against the fake daemon serving a realistic log file (see services/logs.ts). */
import type { ServerResponse } from "node:http";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeApiDetail, type RecordedRequest } from "../testing/fake-control-plane.js";
import { makeTempDir, startFakeDaemon, writeFiles } from "../testing/fixtures.js";
import { runCli } from "../testing/run-cli.js";

/** Lines as the runtime, a replica front and the control plane write them (local time). */
const LOG = [
  "2026-12-03 17:00:00.100 axon   [iris] replica r-aaa111 starting (version v-1, worker pids 10)",
  "2026-12-03 17:00:00.900 INFO [iris r-aaa111 w0] loaded predictor in 412 ms",
  "2026-12-03 17:00:01.000 axon   [iris] replica r-aaa111 is ready (0.9s)",
  "2026-12-03 17:05:00.000 INFO [iris r-bbb222 w0] loaded predictor in 380 ms",
  "2026-12-03 17:09:00.000 ERROR [iris r-bbb222 w1] request req-7: predict() raised ValueError",
  "Traceback (most recent call last):",
  '  File "predictor.py", line 9, in predict',
  "2026-12-03 17:09:30.000 WARNING [iris r-aaa111 front] requests req-8, req-9: timed out after 60s",
];

/** A logs route that serves LOG's last `tail` lines, then (with follow) `followed`, then ends. */
function logsRoute(followed: string[] = []) {
  return (request: RecordedRequest, response: ServerResponse): boolean => {
    if (!request.path.startsWith("/v1/apis/iris/logs")) return false;
    const query = new URLSearchParams(request.path.split("?")[1]);
    const tail = Number(query.get("tail") ?? "100");
    response.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    const lines = tail === 0 ? [] : LOG.slice(-tail);
    if (query.get("follow") === "1") lines.push(...followed);
    // Split mid-line, as chunks arrive from a socket.
    const text = lines.map((line) => `${line}\n`).join("");
    response.write(text.slice(0, 37));
    response.end(text.slice(37));
    return true;
  };
}

async function irisDaemon(followed: string[] = []) {
  const daemon = await startFakeDaemon({ route: logsRoute(followed) });
  daemon.apis.set("iris", makeApiDetail("iris", `${daemon.url}/iris`, "live"));
  return daemon;
}

const NOW = new Date(2026, 11, 3, 17, 10, 0);

describe("axon logs filters", () => {
  it("keeps the lines of one replica, tracebacks with their line, counting --tail after filtering", async () => {
    // Given a log with two replicas
    const daemon = await irisDaemon();

    // When asking for replica bbb's last two lines
    const run = await runCli(["logs", "iris", "--replica", "bbb", "--tail", "3"], {
      env: daemon.env,
    });

    // Then its error and the traceback under it come out as the file has them
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe(
      [
        "2026-12-03 17:09:00.000 ERROR [iris r-bbb222 w1] request req-7: predict() raised ValueError",
        "Traceback (most recent call last):",
        '  File "predictor.py", line 9, in predict',
        "",
      ].join("\n"),
    );
    // and the daemon was asked for its whole tail, since filtering happens here
    expect(daemon.requests.at(-1)?.path).toBe("/v1/apis/iris/logs?tail=100000");
  });

  it("filters by --since, --grep (any case) and --request-id", async () => {
    const daemon = await irisDaemon();
    const since = await runCli(["logs", "iris", "--since", "2m"], { env: daemon.env, now: NOW });
    expect(since.stdout.split("\n").filter(Boolean)).toHaveLength(4);

    const grep = await runCli(["logs", "iris", "--grep", "LOADED predictor"], { env: daemon.env });
    expect(grep.stdout).toContain("r-aaa111 w0] loaded");
    expect(grep.stdout).toContain("r-bbb222 w0] loaded");
    expect(grep.stdout.split("\n").filter(Boolean)).toHaveLength(2);

    const request = await runCli(["logs", "iris", "--request-id", "req-9"], { env: daemon.env });
    expect(request.stdout).toBe(`${LOG[7]}\n`);
  });

  it("prints one JSON object per line with -o json", async () => {
    // Given the log
    const daemon = await irisDaemon();

    // When reading the front's warning as JSON
    const run = await runCli(["logs", "iris", "--grep", "timed out", "-o", "json"], {
      env: daemon.env,
    });

    // Then each line is a parsed record
    expect(run.exitCode).toBe(0);
    const records = run.stdout
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as unknown);
    expect(records).toEqual([
      {
        api: "iris",
        line: LOG[7],
        time: new Date(2026, 11, 3, 17, 9, 30).toISOString(),
        level: "WARNING",
        source: "front",
        replica: "r-aaa111",
        requestIds: ["req-8", "req-9"],
        message: "requests req-8, req-9: timed out after 60s",
        continuation: false,
      },
    ]);
  });

  it("lays lines out with replica, level and request ids on a terminal, coloured when allowed", async () => {
    // Given the log
    const daemon = await irisDaemon();

    // When reading it at a terminal without colours (NO_COLOR)
    const plain = await runCli(["logs", "iris", "--tail", "6"], {
      env: daemon.env,
      interactive: true,
    });

    // Then the columns line up and the traceback sits under its message
    expect(plain.stdout).toMatchInlineSnapshot(`
      "17:00:01.000 axon           replica r-aaa111 is ready (0.9s)
      17:05:00.000 r-bbb222 w0    loaded predictor in 380 ms
      17:09:00.000 r-bbb222 w1    ERROR request req-7: predict() raised ValueError
                                  Traceback (most recent call last):
                                    File "predictor.py", line 9, in predict
      17:09:30.000 r-aaa111 front WARNING requests req-8, req-9: timed out after 60s
      "
    `);

    // When colours are on
    const coloured = await runCli(["logs", "iris", "--tail", "1"], {
      env: daemon.env,
      interactive: true,
      color: true,
    });

    // Then the level is yellow and the request ids bold
    expect(coloured.stdout).toContain("\u001b[33mWARNING\u001b[39m");
    expect(coloured.stdout).toContain("\u001b[1mreq-8\u001b[22m");
  });

  it("follows after a filtered history without repeating or losing lines", async () => {
    // Given a log that gains two lines while followed
    const daemon = await irisDaemon([
      "2026-12-03 17:11:00.000 ERROR [iris r-aaa111 w0] request req-10: predict() raised KeyError",
      "2026-12-03 17:11:01.000 INFO [iris r-aaa111 w0] still here",
    ]);

    // When following the errors
    const run = await runCli(["logs", "iris", "-f", "--grep", "error"], { env: daemon.env });

    // Then the old error comes once, with its traceback, then the new one
    expect(run.exitCode).toBe(0);
    expect(run.stdout.split("\n").filter(Boolean)).toEqual([
      LOG[4],
      LOG[5],
      LOG[6],
      "2026-12-03 17:11:00.000 ERROR [iris r-aaa111 w0] request req-10: predict() raised KeyError",
    ]);
  });

  it("refuses a bad --since or --grep as a usage error naming the flag", async () => {
    const since = await runCli(["logs", "iris", "--since", "yesterday"]);
    expect(since.exitCode).toBe(2);
    expect(since.stderr).toContain("option '--since <when>' argument 'yesterday' is invalid");
    expect(since.stderr).toContain("neither a duration (10m, 1h30m, 45s, 2d) nor a time");

    const grep = await runCli(["logs", "iris", "--grep", "(oops"]);
    expect(grep.exitCode).toBe(2);
    expect(grep.stderr).toContain("option '--grep <pattern>' argument '(oops' is invalid");
  });
});

describe("axon logs with the local cluster down", () => {
  it("reads the API's log file on disk, filters it as usual, and says where the lines come from", async () => {
    // Given a home with iris's log file and no control plane running
    const home = await makeTempDir("axon-logs-home-");
    await writeFiles(home, { "logs/iris.log": LOG.map((line) => `${line}\n`).join("") });

    // When reading the last lines, then the errors
    const last = await runCli(["logs", "iris", "--tail", "2"], { env: { AXON_HOME: home } });
    const errors = await runCli(["logs", "iris", "--grep", "error|traceback"], {
      env: { AXON_HOME: home },
      now: NOW,
    });

    // Then the lines are the file's, and stderr notes that the cluster is down
    expect(last.exitCode).toBe(0);
    expect(last.stdout).toBe(`${LOG.slice(-2).join("\n")}\n`);
    expect(last.stderr).toContain(
      `note: the local cluster is not running; showing ${path.join(home, "logs/iris.log")} on disk`,
    );
    // (an error's traceback comes whole with it)
    expect(errors.stdout.split("\n").filter(Boolean)).toEqual([LOG[4], LOG[5], LOG[6]]);
  });

  it("prints the file, then fails -f naming how to follow; an unknown API is named", async () => {
    // Given the same home
    const home = await makeTempDir("axon-logs-home-");
    await writeFiles(home, { "logs/iris.log": `${LOG[0]}\n` });

    // When following, and when asking for an API that has no file
    const follow = await runCli(["logs", "iris", "-f"], { env: { AXON_HOME: home } });
    const unknown = await runCli(["logs", "nope"], { env: { AXON_HOME: home } });

    // Then the history is shown and the follow is refused with a way forward
    expect(follow.stdout).toBe(`${LOG[0]}\n`);
    expect(follow.exitCode).toBe(1);
    expect(follow.stderr).toContain("error: cannot follow: the local cluster is not running");
    expect(follow.stderr).toContain("axon cluster up");
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain("the local cluster is not running, and nope has no log file");
  });
});
