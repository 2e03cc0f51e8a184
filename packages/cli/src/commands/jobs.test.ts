/**
 * The batch job commands (`submit`, `get <api> [job]`, `logs <api> <job>`, `delete <api> <job>`):
 * against the real control plane (built, spawned on 127.0.0.1 in a temp $AXON_HOME and stopped
 * by its pid), where a job of an API that is not deployed is the engine's not-found error (a real
 * job end to end: test/batch-local.test.ts); and against the fake daemon
 * (testing/fake-control-plane.ts) answering with contract objects, for what the commands print.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { BatchJobList, BatchJobResponse, BatchJobSpec } from "@axon/control-plane/api";
import { describe, expect, it, onTestFinished } from "vitest";
import { sleep } from "../context.js";
import type { RecordedRequest } from "../testing/fake-control-plane.js";
import { makeTempDir, startFakeDaemon, writeFiles } from "../testing/fixtures.js";
import { makeFinishedJob, makeRunningJob } from "../testing/jobs.js";
import { runCli } from "../testing/run-cli.js";

const CONTROL_PLANE = fileURLToPath(
  new URL("../../../control-plane/dist/main.js", import.meta.url),
);

/** The built control plane in a fresh home; killed by its pid when the test ends. */
async function startRealDaemon(): Promise<{ home: string; env: Record<string, string> }> {
  const home = await makeTempDir("axon-jobs-home-");
  const child = spawn(process.execPath, [CONTROL_PLANE, "--home", home, "--gateway-port", "0"], {
    stdio: "ignore",
    env: { ...process.env, AXON_HOME: home },
  });
  onTestFinished(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  // Bounded: the record appears once the daemon listens (about a second here).
  for (let i = 0; i < 150 && !existsSync(path.join(home, "daemon.json")); i++) {
    await sleep(100, new AbortController().signal);
  }
  const record = JSON.parse(readFileSync(path.join(home, "daemon.json"), "utf8")) as {
    pid: number;
  };
  expect(record.pid).toBe(child.pid);
  return { home, env: { AXON_HOME: home } };
}

interface ErrorDocument {
  error: { code: string; message: string; hint?: string };
}

const JOB_SPEC = `{
  "workers": 2,
  "item_list": { "items": [1, 2, 3], "batch_size": 2 },
  "config": { "threshold": 0.5 }
}
`;

describe("the job commands against the real control plane (the local engine)", () => {
  it("submit, get, logs and delete of a job of a BatchAPI that is not deployed each answer api.not_found, naming it", async () => {
    // Given the real daemon on this machine with nothing deployed, and a job spec
    const daemon = await startRealDaemon();
    const dir = await makeTempDir();
    await writeFiles(dir, { "job.json": JOB_SPEC });

    // When each job form runs with -o json
    const forms = [
      ["submit", "scorer", "job.json"],
      ["get", "scorer", "69d6faf8a4"],
      ["get", "scorer", "69d6faf8a4", "--watch"],
      ["logs", "scorer", "69d6faf8a4"],
      ["logs", "scorer", "69d6faf8a4", "-f"],
      ["delete", "scorer", "69d6faf8a4"],
    ];
    for (const argv of forms) {
      const run = await runCli([...argv, "-o", "json"], { env: daemon.env, cwd: dir });

      // Then each fails (1) with the engine's not-found error as one JSON document, naming the
      // API and how to find the deployed ones (the jobs of a real BatchAPI: test/batch-local.test.ts)
      expect(run.exitCode, argv.join(" ")).toBe(1);
      const { error } = JSON.parse(run.stdout) as ErrorDocument;
      expect(error.code, argv.join(" ")).toBe("api.not_found");
      expect(error.message, argv.join(" ")).toContain("scorer");
      expect(error.hint, argv.join(" ")).toBeDefined();
    }
  });

  it("get of a name that is no API still says the API is not deployed, not that jobs are unsupported", async () => {
    // Given the real daemon with nothing deployed
    const daemon = await startRealDaemon();

    // When a name is asked for (it could be a BatchAPI's)
    const run = await runCli(["get", "scorer"], { env: daemon.env });

    // Then the answer is about the API
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("error: api scorer is not deployed");
    expect(run.stderr).not.toContain("batch jobs");
  });
});

describe("axon submit", () => {
  it("a job file that is not JSON is an error naming the file, line and column; nothing is sent", async () => {
    // Given a job spec with a missing comma on line 3, and no daemon at all
    const dir = await makeTempDir();
    await writeFiles(dir, {
      "job.json": '{\n  "workers": 2\n  "item_list": {"items": [1], "batch_size": 1}\n}\n',
    });

    // When it is submitted
    const run = await runCli(["submit", "scorer", "job.json"], {
      env: { AXON_HOME: await makeTempDir() },
      cwd: dir,
    });

    // Then the file is named with where the mistake is, and what a job spec looks like
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("error: job.json is not valid JSON");
    expect(run.stderr).toMatch(/job\.json:3:3: Expected ',' or '\}' after property value/);
    expect(run.stderr).toContain('{"workers": 2, "item_list"');
  });

  it("a missing file, or JSON that is not an object, is named too", async () => {
    const dir = await makeTempDir();
    await writeFiles(dir, { "list.json": "[1, 2]" });
    const env = { AXON_HOME: await makeTempDir() };
    const missing = await runCli(["submit", "scorer", "nope.json"], { env, cwd: dir });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("error: there is no file nope.json");
    const list = await runCli(["submit", "scorer", "list.json"], { env, cwd: dir });
    expect(list.exitCode).toBe(1);
    expect(list.stderr).toContain("error: list.json is a list, not a job spec");
  });

  it("sends the spec, prints the job id alone on stdout and how to follow it on stderr", async () => {
    // Given a daemon whose engine starts jobs
    const spec: BatchJobSpec = {
      job_id: "69d6faf8a4",
      api_name: "scorer",
      workers: 2,
      config: { threshold: 0.5 },
      api_id: "a1b2c3",
      sqs_url: null,
      created_time: "2026-12-07T19:04:55Z",
      total_batch_count: 2,
    };
    const daemon = await startFakeDaemon({
      route: (request, response) => {
        if (request.method !== "POST" || request.path !== "/v1/apis/scorer/jobs") return false;
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(spec));
        return true;
      },
    });
    const dir = await makeTempDir();
    await writeFiles(dir, { "job.json": JOB_SPEC });

    // When the job is submitted, from a file and from stdin with -o json
    const run = await runCli(["submit", "scorer", "job.json"], { env: daemon.env, cwd: dir });
    const json = await runCli(["submit", "scorer", "-", "-o", "json"], {
      env: daemon.env,
      stdin: JOB_SPEC,
    });

    // Then the daemon got the file's spec, and the id is what stdout holds
    expect(run.exitCode, run.stderr).toBe(0);
    const sent = daemon.requests.filter((r: RecordedRequest) => r.path === "/v1/apis/scorer/jobs");
    expect(sent.map((r) => JSON.parse(r.body.toString()) as unknown)).toEqual([
      JSON.parse(JOB_SPEC),
      JSON.parse(JOB_SPEC),
    ]);
    expect(run.stdout).toBe("69d6faf8a4\n");
    expect(run.stderr).toBe(
      [
        "submitted job 69d6faf8a4 to scorer: 2 batches, 2 workers",
        "  follow it:  axon get scorer 69d6faf8a4 --watch",
        "  its logs:   axon logs scorer 69d6faf8a4 -f",
        "  stop it:    axon delete scorer 69d6faf8a4",
        "",
      ].join("\n"),
    );
    // And -o json prints the spec alone
    expect(json.exitCode).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(spec);
    expect(json.stderr).toBe("");
  });
});

/** A fake daemon with one BatchAPI, `scorer`, and the jobs `jobs` (looked up by id). */
async function startBatchDaemon(
  jobs: () => BatchJobResponse["job_status"][],
): Promise<Awaited<ReturnType<typeof startFakeDaemon>>> {
  return startFakeDaemon({
    route: (request, response) => {
      const send = (status: number, body: unknown): true => {
        response.writeHead(status, { "content-type": "application/json" });
        response.end(JSON.stringify(body));
        return true;
      };
      const route = request.path.split("?")[0] ?? "";
      if (route === "/v1/apis/scorer") {
        return send(404, { code: "api.not_found", message: "api scorer is not deployed" });
      }
      if (route === "/v1/apis/scorer/jobs") {
        const list: BatchJobList = {
          api: "scorer",
          endpoint: "http://localhost:8888/scorer",
          jobs: jobs(),
        };
        return send(200, list);
      }
      const match = /^\/v1\/apis\/scorer\/jobs\/([^/]+)(\/logs)?$/.exec(route);
      if (match === null) return false;
      const job = jobs().find((candidate) => candidate.job_id === match[1]);
      if (job === undefined) {
        return send(404, {
          code: "job.not_found",
          message: `scorer has no job ${match[1] ?? ""}`,
          hint: "axon get scorer lists its jobs",
        });
      }
      if (match[2] !== undefined) {
        response.writeHead(200, { "content-type": "text/plain" });
        response.end(`2026-12-07 19:05:01.000 INFO [scorer ${job.job_id} w0] batch 1 done\n`);
        return true;
      }
      if (request.method === "DELETE") return send(200, { message: `stopped job ${job.job_id}` });
      const answer: BatchJobResponse = {
        job_status: job,
        endpoint: `http://localhost:8888/scorer/${job.job_id}`,
      };
      return send(200, answer);
    },
  });
}

describe("axon get, logs and delete of a batch api and its jobs", () => {
  const NOW = new Date("2026-12-07T19:10:00Z");

  it("get <batch-api> lists its jobs (the fast path and commander's print the same)", async () => {
    // Given a BatchAPI with a running and a finished job
    const daemon = await startBatchDaemon(() => [makeRunningJob(), makeFinishedJob()]);

    // When its name is asked for, plainly and with a flag only commander parses
    const fast = await runCli(["get", "scorer"], { env: daemon.env, now: NOW });
    const parsed = await runCli(["get", "scorer", "--since", "1h"], { env: daemon.env, now: NOW });
    const json = await runCli(["get", "scorer", "-o", "json"], { env: daemon.env, now: NOW });

    // Then the jobs table is printed, with the endpoint jobs are submitted to
    expect(fast.exitCode, fast.stderr).toBe(0);
    expect(fast.stdout).toContain("job id       status      progress   failed   queued");
    expect(fast.stdout).toContain("69d6faf8a4   running     340/1000   2        654");
    expect(fast.stdout).toContain("endpoint: http://localhost:8888/scorer");
    expect(parsed.stdout).toBe(fast.stdout);
    expect((JSON.parse(json.stdout) as BatchJobList).jobs.map((job) => job.job_id)).toEqual([
      "69d6faf8a4",
      "0f3e9b21c7",
    ]);
  });

  it("get <batch-api> --watch -o json: the job list, one document per look, until Ctrl-C", async () => {
    // Given a BatchAPI with a job
    const daemon = await startBatchDaemon(() => [makeRunningJob()]);
    const interrupt = new AbortController();

    // When its jobs are watched until the first document is printed
    const run = await runCli(["get", "scorer", "--watch", "-o", "json"], {
      env: daemon.env,
      signal: interrupt.signal,
      onStdout: () => interrupt.abort(),
    });

    // Then that document is the BatchAPI's job list, and Ctrl-C ended the watch
    expect(run.exitCode).toBe(130);
    const first = JSON.parse(run.stdout.split("\n")[0] ?? "") as BatchJobList;
    expect(first.jobs.map((job) => job.job_id)).toEqual(["69d6faf8a4"]);
  });

  it("get <batch-api> <job-id> shows the job; an unknown id is the daemon's error with its hint", async () => {
    const daemon = await startBatchDaemon(() => [makeRunningJob()]);
    const run = await runCli(["get", "scorer", "69d6faf8a4"], { env: daemon.env, now: NOW });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain("job id:    69d6faf8a4\n");
    expect(run.stdout).toContain("status:    running\n");
    expect(run.stdout).toContain("job endpoint: http://localhost:8888/scorer/69d6faf8a4");
    const json = await runCli(["get", "scorer", "69d6faf8a4", "-o", "json"], { env: daemon.env });
    expect((JSON.parse(json.stdout) as BatchJobResponse).job_status.job_id).toBe("69d6faf8a4");

    // When the id is not one of its jobs
    const unknown = await runCli(["get", "scorer", "ffffffffff", "-o", "json"], {
      env: daemon.env,
    });

    // Then it fails with the daemon's code, message and hint
    expect(unknown.exitCode).toBe(1);
    expect((JSON.parse(unknown.stdout) as ErrorDocument).error).toMatchObject({
      code: "job.not_found",
      message: "scorer has no job ffffffffff",
      hint: "axon get scorer lists its jobs",
    });
    expect(unknown.stderr).toContain("error: scorer has no job ffffffffff");
  });

  it("get <batch-api> <job-id> --watch off a terminal: a line per change, until the job ends (exit 0 when it succeeded)", async () => {
    // Given a job that moves on at each look, then succeeds
    const looks = [
      makeRunningJob({ batch_metrics: { succeeded: 300, failed: 0 } }),
      makeRunningJob({ batch_metrics: { succeeded: 300, failed: 0 } }),
      makeRunningJob({ batch_metrics: { succeeded: 700, failed: 0 }, batches_in_queue: 300 }),
      makeFinishedJob({ job_id: "69d6faf8a4" }),
    ];
    let look = 0;
    // (each look at the job is the next of `looks`; the last one stays)
    const daemon = await startBatchDaemon(() => {
      const job = looks[Math.min(look++, looks.length - 1)];
      return job === undefined ? [] : [job];
    });

    // When it is watched
    const run = await runCli(["get", "scorer", "69d6faf8a4", "--watch"], {
      env: daemon.env,
      now: NOW,
    });

    // Then one line per look that changed something, the last saying how it ended
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout.trimEnd().split("\n")).toEqual([
      expect.stringMatching(/^job 69d6faf8a4 running: 300\/1000 batches succeeded \(30%\)/),
      expect.stringMatching(/^job 69d6faf8a4 running: 700\/1000 batches succeeded \(70%\)/),
      "job 69d6faf8a4 succeeded: 10/10 batches succeeded (100%), 0 failed, 0 queued, took 8m12s",
    ]);
  }, 20_000);

  it("get <batch-api> <job-id> --watch ends with exit 1 saying how, when the job did not succeed", async () => {
    const job = makeFinishedJob({
      job_id: "69d6faf8a4",
      status: "status_completed_with_failures",
      status_message: "1 of 10 batches failed",
      batch_metrics: { succeeded: 9, failed: 1 },
    });
    const daemon = await startBatchDaemon(() => [job]);
    const run = await runCli(["get", "scorer", "69d6faf8a4", "--watch"], { env: daemon.env });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain("job 69d6faf8a4 completed with failures: 9/10 batches");
    expect(run.stderr).toContain("error: job 69d6faf8a4 of scorer ended: completed with failures");
    expect(run.stderr).toContain("axon logs scorer 69d6faf8a4");
  });

  it("delete <batch-api> <job-id> stops the job without asking; logs <api> <job-id> reads its workers' lines", async () => {
    const daemon = await startBatchDaemon(() => [makeRunningJob()]);
    const stopped = await runCli(["delete", "scorer", "69d6faf8a4"], { env: daemon.env });
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(stopped.stdout).toBe("stopped job 69d6faf8a4\n");
    expect(daemon.requests.at(-1)).toMatchObject({
      method: "DELETE",
      path: "/v1/apis/scorer/jobs/69d6faf8a4",
    });

    const logs = await runCli(["logs", "scorer", "69d6faf8a4", "-o", "json"], {
      env: daemon.env,
    });
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(daemon.requests.at(-1)?.path).toBe("/v1/apis/scorer/jobs/69d6faf8a4/logs?tail=100");
    expect(JSON.parse(logs.stdout)).toMatchObject({
      api: "scorer",
      job: "69d6faf8a4",
      message: "batch 1 done",
    });
  });
});

/** A fake daemon whose API list has one BatchAPI, `scorer`, and no other API. */
async function startListDaemon(): Promise<Awaited<ReturnType<typeof startFakeDaemon>>> {
  return startFakeDaemon({
    route: (request, response) => {
      if (request.path !== "/v1/apis") return false;
      response.writeHead(200, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          apis: [],
          batchApis: [
            {
              name: "scorer",
              kind: "BatchAPI",
              endpoint: "http://x/scorer",
              lastUpdated: "2026-12-07T19:00:00Z",
              runningJobs: 0,
            },
          ],
        }),
      );
      return true;
    },
  });
}

describe("the api list with BatchAPIs", () => {
  it("get --watch off a terminal prints the BatchAPIs' table (and -o json their summaries)", async () => {
    // Given a cluster with one BatchAPI
    const daemon = await startListDaemon();
    const interrupt = new AbortController();

    // When the list is watched until it has been printed once, as text and as JSON
    const text = await runCli(["get", "--watch"], {
      env: daemon.env,
      signal: interrupt.signal,
      onStdout: () => interrupt.abort(),
    });
    const stop = new AbortController();
    const json = await runCli(["get", "--watch", "-o", "json"], {
      env: daemon.env,
      signal: stop.signal,
      onStdout: () => stop.abort(),
    });

    // Then the text is the batch table alone, and the document carries batchApis
    expect(text.stdout).toMatch(/^batch api   running jobs   latest job id   last update/);
    expect(text.stdout).not.toContain("no apis are deployed");
    const first = JSON.parse(json.stdout.split("\n")[0] ?? "") as { batchApis: unknown[] };
    expect(first.batchApis).toHaveLength(1);
  });
});

describe("shell completion of api names", () => {
  it("offers BatchAPIs' names beside the realtime APIs'", async () => {
    // Given a cluster with one BatchAPI
    const daemon = await startListDaemon();

    // When the completion script asks for the names
    const run = await runCli(["__complete-apis"], { env: daemon.env });

    // Then the BatchAPI is one of them
    expect(run.stdout).toBe("scorer\n");
  });
});
