import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { cp, realpath, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import {
  Replica,
  type ReplicaExitInfo,
  type ReplicaOptions,
  ReplicaStartError,
} from "./replica.js";
import { TS_SOURCES_PRELUDE } from "../testing/ts-child.js";
import { FrontServer } from "./front-server.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const IRIS_EXAMPLE = fileURLToPath(new URL("../../../../examples/iris-sklearn/", import.meta.url));
const SYSTEM_PYTHON = "/usr/bin/python3";

interface Harness {
  replica: Replica;
  url: string;
  logFile: string;
}

/** A replica behind a real HTTP server on 127.0.0.1; everything is stopped when the test ends. */
async function startHarness(overrides: Partial<ReplicaOptions> = {}): Promise<Harness> {
  const dir = await mkdtemp(path.join(tmpdir(), "axon-rep-"));
  const logFile = path.join(dir, "api.log");
  const replica = Replica.start({
    id: "r-test",
    apiName: "test-api",
    projectDir: FIXTURES,
    predictorPath: "echo_predictor.py",
    config: { greeting: "hello", n: 3 },
    env: {},
    python: "python3",
    processes: 1,
    threads: 1,
    maxConcurrency: 64,
    runDir: dir,
    logFile,
    ...overrides,
  });
  let counter = 0;
  // The replica's own front, as an ECS container runs it: admission from the head included.
  const server = new FrontServer({
    handler: (request, responder) => replica.serve(request, responder, `req-${++counter}`),
    admitBody: (_head, responder) => replica.admitBody(responder, `req-${++counter}`),
  });
  const port = await server.listen(0, "127.0.0.1");
  onTestFinished(async () => {
    const pids = replica.pids();
    await replica.stop(0);
    for (const pid of pids) killQuietly(pid);
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { replica, url: `http://127.0.0.1:${port}`, logFile };
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/** Polls `condition` (running `step` before each check, if given) until it holds; bounded. */
async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 10_000,
  step?: () => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (step !== undefined) await step();
    if (condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, step === undefined ? 10 : 50));
  }
}

/** Running and not a zombie (orphans may wait for a reaper that a container's PID 1 lacks). */
function isAlive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

describe("Replica", () => {
  it("answers a JSON payload with JSON and passes the config to __init__", async () => {
    // Given a ready replica running the echo predictor
    const { replica, url } = await startHarness();
    await replica.ready;
    expect(replica.state).toBe("ready");

    // When a JSON body is posted
    const res = await postJson(url, { a: [1, 2.5, "x"], b: null });

    // Then predict got the parsed object and the answer is JSON with a request id
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("x-request-id")).toMatch(/^req-\d+$/);
    const body = (await res.json()) as { payload: unknown; pid: number; config: unknown };
    expect(body.payload).toEqual({ a: [1, 2.5, "x"], b: null });
    expect(body.config).toEqual({ greeting: "hello", n: 3 });
    expect(replica.pids()).toContain(body.pid);
    expect(replica.inFlight).toBe(0);
  });

  it("round-trips a 1 MiB binary body as bytes", async () => {
    // Given a ready replica
    const { replica, url } = await startHarness();
    await replica.ready;
    const data = randomBytes(1024 * 1024);

    // When a non-JSON body is posted
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: data,
    });

    // Then predict received raw bytes and its bytes come back unchanged
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);

    // And a small body without any Content-Type is bytes too
    const plain = await fetch(url, { method: "POST", body: "not json at all" });
    expect(plain.headers.get("content-type")).toBe("application/octet-stream");
    expect(await plain.text()).toBe("not json at all");
  });

  it("returns str as text/plain and numpy arrays as JSON", async () => {
    const { replica, url } = await startHarness();
    await replica.ready;

    // When predict returns a str
    const text = await postJson(url, { action: "text", text: "héllo wörld" });
    // Then it is sent as UTF-8 text
    expect(text.status).toBe(200);
    expect(text.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await text.text()).toBe("héllo wörld");

    // When predict returns a numpy array
    const array = await postJson(url, { action: "numpy", n: 4 });
    // Then it is converted to a JSON list
    expect(array.status).toBe(200);
    expect(await array.json()).toEqual([0, 1, 2, 3]);
  });

  it("injects predict arguments by name: query_params and headers only", async () => {
    // Given a predictor whose predict(self, query_params, headers) has no payload (and no config)
    const { replica, url } = await startHarness({ predictorPath: "query_headers_predictor.py" });
    await replica.ready;

    // When a request carries a query string and a custom header
    const res = await fetch(`${url}/test-api?a=1&b=two&empty=`, {
      method: "POST",
      headers: { "x-test": "yes", "content-type": "application/json" },
      body: "this is not JSON but predict does not want the payload",
    });

    // Then both arrive as dicts
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      query_params: { a: "1", b: "two", empty: "" },
      x_test: "yes",
    });
  });

  it("injects predict arguments by name in reversed order", async () => {
    // Given predict(self, headers, query_params, payload)
    const { replica, url } = await startHarness({ predictorPath: "reversed_args_predictor.py" });
    await replica.ready;

    // When a JSON request with a query and a header arrives
    const res = await postJson(`${url}/x?k=v`, [1, 2], { "x-test": "reversed" });

    // Then every argument lands in the right parameter
    expect(await res.json()).toEqual({
      payload: [1, 2],
      query_params: { k: "v" },
      x_test: "reversed",
    });
  });

  it("answers 400 for invalid JSON", async () => {
    const { replica, url } = await startHarness();
    await replica.ready;

    // When the body claims to be JSON but is not
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8" },
      body: "{not json",
    });

    // Then the answer is 400 with a message naming the problem
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; request_id: string };
    expect(body.error).toMatch(/not valid JSON/);
    expect(body.request_id).toBe(res.headers.get("x-request-id"));
  });

  it("answers 500 with the request id when predict raises, and logs the traceback", async () => {
    const { replica, url, logFile } = await startHarness();
    await replica.ready;

    // When predict raises
    const res = await postJson(url, { action: "raise", tag: "tag-4821" });

    // Then the client gets a 500 naming the request id, without the traceback
    expect(res.status).toBe(500);
    const requestId = res.headers.get("x-request-id") ?? "missing";
    const text = await res.text();
    expect(text).toContain(requestId);
    expect(text).not.toContain("Traceback");
    expect(text).not.toContain("tag-4821");

    // And the log file has the traceback under a line with the request id
    const log = await readFile(logFile, "utf8");
    const at = log.indexOf(`request ${requestId}: predict() raised an exception`);
    expect(at).toBeGreaterThanOrEqual(0);
    const after = log.slice(at);
    expect(after).toMatch(/Traceback \(most recent call last\)/);
    expect(after).toContain("ValueError: boom tag-4821");

    // And a value that is not JSON serialisable is a 500 with a clear message
    const bad = await postJson(url, { action: "object" });
    expect(bad.status).toBe(500);
    expect(((await bad.json()) as { error: string }).error).toMatch(
      /type object that is not JSON serializable/,
    );
  });

  it("writes runtime log lines with a prefix and leaves the user's prints alone", async () => {
    const { replica, logFile } = await startHarness();
    await replica.ready;

    const log = await readFile(logFile, "utf8");
    expect(log).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO \[test-api r-test w0\] loaded predictor in \d+ ms$/m,
    );
    expect(log).toMatch(/^echo predictor initialised with \['greeting', 'n'\]$/m);
  });

  it("rejects ready with the traceback's last line when the predictor cannot be imported", async () => {
    // Given a predictor file that imports a missing module
    const { replica, logFile } = await startHarness({ predictorPath: "import_error_predictor.py" });
    const exits: ReplicaExitInfo[] = [];
    replica.onExit((info) => exits.push(info));

    // When the replica starts
    const error = await replica.ready.then(
      () => null,
      (reason: unknown) => reason,
    );

    // Then ready rejects with the exit code and the error line
    expect(error).toBeInstanceOf(ReplicaStartError);
    const startError = error as ReplicaStartError;
    const missing = "ModuleNotFoundError: No module named 'axon_definitely_missing_module'";
    expect(startError.message).toContain(missing);
    expect(startError.code).toBe(1);
    expect(startError.lastLines.at(-1)).toBe(missing);
    expect(replica.state).toBe("failed");
    expect(exits).toEqual([expect.objectContaining({ afterReady: false, code: 1 })]);
    // And the full traceback is in the log
    expect(await readFile(logFile, "utf8")).toContain("Traceback (most recent call last)");
  });

  it("exports the project's .env as Cortex did (bash: quotes, export, expansion), over predictor.env", async () => {
    // Given a project whose .env sets variables the way a shell file does, one of them also set
    // in predictor.env, and one in the runtime's own AXON_ namespace
    const project = await mkdtemp(path.join(tmpdir(), "axon-dotenv-"));
    onTestFinished(() => rm(project, { recursive: true, force: true }));
    await cp(path.join(FIXTURES, "env_predictor.py"), path.join(project, "env_predictor.py"));
    await writeFile(
      path.join(project, ".env"),
      [
        "# settings",
        "FROM_DOTENV=yes",
        'export QUOTED="two words"',
        'EXPANDED="${FROM_DOTENV}-x"',
        "AXON_OWNED=no",
        "",
      ].join("\n"),
    );
    // (and the host process has an AXON_ setting of its own)
    process.env["AXON_HOST_SETTING"] = "host";
    onTestFinished(() => {
      delete process.env["AXON_HOST_SETTING"];
    });
    const { replica, url, logFile } = await startHarness({
      projectDir: project,
      predictorPath: "env_predictor.py",
      env: { FROM_YAML: "y", QUOTED: "from yaml" },
    });
    await replica.ready;

    // When predict reads them
    const res = await postJson(url, [
      "FROM_DOTENV",
      "QUOTED",
      "EXPANDED",
      "FROM_YAML",
      "AXON_OWNED",
      "AXON_HOST_SETTING",
    ]);

    // Then .env's values are there (over predictor.env's), and AXON_ names are left alone; the
    // host's own AXON_ settings do not reach the predictor
    expect(await res.json()).toEqual({
      FROM_DOTENV: "yes",
      QUOTED: "two words",
      EXPANDED: "yes-x",
      FROM_YAML: "y",
      AXON_OWNED: null,
      AXON_HOST_SETTING: null,
    });
    const log = await readFile(logFile, "utf8");
    expect(log).toContain("exported 3 variables from .env: EXPANDED, FROM_DOTENV, QUOTED");
    expect(log).toContain(".env sets AXON_OWNED, which the Axon runtime owns; ignored");
  });

  it("puts the interpreter's folder first on PATH and names the project folder, as Cortex's container did", async () => {
    // Given a replica whose workers run an interpreter named by its absolute path
    const project = await mkdtemp(path.join(tmpdir(), "axon-path-"));
    onTestFinished(() => rm(project, { recursive: true, force: true }));
    await cp(path.join(FIXTURES, "env_predictor.py"), path.join(project, "env_predictor.py"));
    const python = await realpath(SYSTEM_PYTHON);
    const { replica, url } = await startHarness({
      projectDir: project,
      predictorPath: "env_predictor.py",
      python,
    });
    await replica.ready;
    // When predict reads PATH and AXON_PROJECT_DIR
    const res = (await (await postJson(url, ["PATH", "AXON_PROJECT_DIR"])).json()) as Record<
      string,
      string
    >;
    // Then `python` on PATH is the replica's interpreter, and the project folder is named
    expect(res["PATH"]?.split(":")[0]).toBe(path.dirname(python));
    expect(res["AXON_PROJECT_DIR"]).toBe(project);
  });

  it("rejects ready naming .env when it fails in bash", async () => {
    // Given a project whose .env has an unterminated quote
    const project = await mkdtemp(path.join(tmpdir(), "axon-dotenv-"));
    onTestFinished(() => rm(project, { recursive: true, force: true }));
    await cp(path.join(FIXTURES, "env_predictor.py"), path.join(project, "env_predictor.py"));
    await writeFile(path.join(project, ".env"), 'BROKEN="no end\n');
    const { replica } = await startHarness({
      projectDir: project,
      predictorPath: "env_predictor.py",
    });

    // When the replica starts, Then it fails saying what .env did
    await expect(replica.ready).rejects.toThrow(
      /\.env failed when sourced with bash \(exit code \d+\): .*/,
    );
  });

  it("rejects ready with a clear message when the interpreter does not exist", async () => {
    const { replica } = await startHarness({ python: "/nonexistent/python3" });
    await expect(replica.ready).rejects.toThrow(
      /cannot run the Python interpreter '\/nonexistent\/python3'/,
    );
  });

  it("spreads requests over processes", async () => {
    // Given two worker processes
    const { replica, url } = await startHarness({ processes: 2 });
    await replica.ready;
    expect(replica.pids()).toHaveLength(2);

    // When 20 slow requests arrive together
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        postJson(url, { action: "sleep", seconds: 0.05 }).then(
          async (res) => ((await res.json()) as { pid: number }).pid,
        ),
      ),
    );

    // Then both workers answered
    expect(new Set(answers)).toEqual(new Set(replica.pids()));
  });

  it("serves concurrent requests from one process with threads", async () => {
    const { replica, url } = await startHarness({ threads: 4 });
    await replica.ready;
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => postJson(url, { i }).then((res) => res.json())),
    );
    expect(answers.map((answer) => (answer as { payload: { i: number } }).payload.i)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7,
    ]);
  });

  it("replaces a worker that dies mid-request; that request fails cleanly, the next succeed", async () => {
    // Given a ready replica with one worker
    const { replica, url, logFile } = await startHarness();
    await replica.ready;
    const exits: ReplicaExitInfo[] = [];
    replica.onExit((info) => exits.push(info));
    const [first] = replica.pids();

    // When predict kills its own process mid-request
    const res = await postJson(url, { action: "crash" });

    // Then that request gets a 502 naming it, and nothing else
    expect(res.status).toBe(502);
    const requestId = res.headers.get("x-request-id") ?? "missing";
    const body = (await res.json()) as { error: string; request_id: string };
    expect(body.request_id).toBe(requestId);
    expect(body.error).toContain(`exited with code 7 while handling request ${requestId}`);

    // And until a replacement has loaded, the replica says it has no live worker (routers skip it)
    expect(replica.hasLiveWorker).toBe(false);
    // And a replacement worker starts; the replica stays ready and serves again
    await waitFor(() => replica.pids().some((pid) => pid !== first), "a replacement worker");
    expect(replica.state).toBe("ready");
    let answer: Response | undefined;
    await waitFor(
      () => answer?.status === 200,
      "the replacement to answer",
      30_000,
      async () => {
        answer = await postJson(url, { again: true });
      },
    );
    if (answer === undefined) throw new Error("no answer");
    expect(((await answer.json()) as { pid: number }).pid).not.toBe(first);
    expect(replica.hasLiveWorker).toBe(true);
    expect(exits).toEqual([]);
    expect(await readFile(logFile, "utf8")).toMatch(
      new RegExp(
        `WARNING \\[test-api r-test front\\] worker 0 of replica r-test exited with code 7 \\(request ${requestId} got 502\\); starting a replacement`,
      ),
    );
  });

  it("reports a worker's own exit code when its connection closes before the process ends", async () => {
    // Given a worker that closes its connection, lingers 300 ms, then exits with code 3 (as a
    // Python shutdown after sys.exit or a crash does, only slower)
    const { replica, url, logFile } = await startHarness({
      predictorPath: "disconnect_predictor.py",
    });
    await replica.ready;

    // When it does so mid-request
    const res = await postJson(url, { linger_s: 0.3, code: 3 });

    // Then the caller and the log get its exit code, not a kill by the front
    expect(res.status).toBe(502);
    const requestId = res.headers.get("x-request-id") ?? "missing";
    expect(((await res.json()) as { error: string }).error).toContain(
      `exited with code 3 while handling request ${requestId}`,
    );
    await waitFor(() => replica.pids().length === 1, "a replacement worker");
    expect(await readFile(logFile, "utf8")).toContain(
      `worker 0 of replica r-test exited with code 3 (request ${requestId} got 502)`,
    );
  });

  it("kills a worker whose connection closed but which does not exit, and says so", async () => {
    // Given a worker that closes its connection and then hangs for 30 s
    const { replica, url } = await startHarness({ predictorPath: "disconnect_predictor.py" });
    await replica.ready;
    const [pid] = replica.pids();

    // When it does so mid-request
    const started = Date.now();
    const res = await postJson(url, { linger_s: 30, code: 0 });

    // Then the front kills it after about a second and the caller is told what happened
    expect(res.status).toBe(502);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(((await res.json()) as { error: string }).error).toContain(
      "closed its connection and was killed (it had not exited 1s later)",
    );
    await waitFor(() => pid !== undefined && !isAlive(pid), "the hung worker to be gone");
  });

  it("fails the replica, and tells onExit, when workers keep dying", async () => {
    // Given a ready replica whose predictor crashes on demand
    const { replica, url } = await startHarness();
    await replica.ready;
    const exited = new Promise<ReplicaExitInfo>((resolve) => replica.onExit(resolve));

    // When its worker dies four times within a minute (three replacements are allowed)
    for (let death = 1; death <= 4; death++) {
      let status = 0;
      await waitFor(
        () => status === 502,
        `death ${death}`,
        30_000,
        async () => {
          status = (await postJson(url, { action: "crash" })).status;
        },
      );
    }

    // Then the replica gives up: failed, onExit called once, new requests refused
    const info = await exited;
    expect(info).toMatchObject({ code: 7, afterReady: true });
    expect(info.message).toContain("the 4th worker death within a minute");
    expect(replica.state).toBe("failed");
    expect((await postJson(url, {})).status).toBe(503);
  });

  it("stop() past its grace answers 502 saying the replica was stopped, not that predict failed", async () => {
    // Given a request that takes 5 s
    const { replica, url } = await startHarness();
    await replica.ready;
    const slow = postJson(url, { action: "sleep", seconds: 5 });
    await waitFor(() => replica.inFlight === 1, "the request to be in flight");

    // When the replica is stopped with 200 ms of grace
    await replica.stop(200);

    // Then the cut request says what happened
    const res = await slow;
    expect(res.status).toBe(502);
    const requestId = res.headers.get("x-request-id") ?? "missing";
    expect(((await res.json()) as { error: string }).error).toBe(
      `replica r-test of test-api was stopped before request ${requestId} finished (a stopping replica gives requests in flight 0.2s); retry it`,
    );
  });

  it("stop() lets an in-flight request finish, then ends the workers", async () => {
    // Given a slow request in flight
    const { replica, url } = await startHarness();
    await replica.ready;
    const pids = replica.pids();
    const slow = postJson(url, { action: "sleep", seconds: 0.5 });
    await waitFor(() => replica.inFlight === 1, "the request to be in flight");

    // When the replica is stopped
    const stopped = replica.stop(10_000);
    expect(replica.state).toBe("draining");
    // Then new requests are refused while it drains
    const refused = await postJson(url, {});
    expect(refused.status).toBe(503);

    // And the slow request still gets its answer
    const res = await slow;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { payload: unknown }).payload).toEqual({
      action: "sleep",
      seconds: 0.5,
    });
    await stopped;
    expect(replica.state).toBe("stopped");
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
  });

  it("answers 503 with Retry-After beyond maxConcurrency", async () => {
    // Given a replica allowing 2 requests in flight, both taken by slow requests
    const { replica, url } = await startHarness({ maxConcurrency: 2, threads: 2 });
    await replica.ready;
    const slow = [0, 1].map(() => postJson(url, { action: "sleep", seconds: 0.5 }));
    await waitFor(() => replica.inFlight === 2, "two requests in flight");

    // When a third request arrives
    const res = await postJson(url, {});

    // Then it is refused with 503 and Retry-After, and the first two still succeed
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(res.headers.get("x-request-id")).toMatch(/^req-/);
    expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200]);
    // And capacity is back once they are done
    expect((await postJson(url, {})).status).toBe(200);
  });

  it("serves the iris example and predicts what the model itself predicts", async () => {
    // Given the iris example trained into a temp copy with Debian's Python (which has sklearn)
    try {
      execFileSync(SYSTEM_PYTHON, ["-c", "import sklearn"], { stdio: "pipe" });
    } catch (error) {
      throw new Error(
        `${SYSTEM_PYTHON} cannot import scikit-learn, which the iris example needs; ` +
          `install it (apt-get install python3-sklearn): ${String(error)}`,
      );
    }
    const project = await mkdtemp(path.join(tmpdir(), "axon-iris-"));
    onTestFinished(() => rm(project, { recursive: true, force: true }));
    await cp(IRIS_EXAMPLE, project, {
      recursive: true,
      filter: (src) => !src.endsWith("model.pkl"),
    });
    execFileSync(SYSTEM_PYTHON, ["train.py"], { cwd: project, stdio: "pipe" });
    const sample = (await readFile(path.join(project, "sample.json"), "utf8")).trim();
    const expected = execFileSync(
      SYSTEM_PYTHON,
      [
        "-c",
        "import json, pickle, sys; m = pickle.load(open('model.pkl', 'rb'));" +
          "print(['setosa', 'versicolor', 'virginica'][m.predict([json.loads(sys.argv[1])])[0]])",
        sample,
      ],
      { cwd: project, encoding: "utf8" },
    ).trim();
    const { replica, url } = await startHarness({
      apiName: "iris-classifier",
      projectDir: project,
      predictorPath: "predictor.py",
      config: {},
      python: SYSTEM_PYTHON,
    });
    await replica.ready;

    // When the sample and its dict form are posted
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: sample,
    });
    const [sepal_length, sepal_width, petal_length, petal_width] = JSON.parse(sample) as number[];
    const dictForm = await postJson(url, { sepal_length, sepal_width, petal_length, petal_width });

    // Then both answer the model's own label, virginica for this sample
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    const label = await res.text();
    expect(label).toBe(expected);
    expect(label).toBe("virginica");
    expect(await dictForm.text()).toBe(expected);
  });

  it("leaves no worker behind when the process hosting the front is killed with SIGKILL", async () => {
    // Given a front running in its own Node process (the TS sources, loaded with type stripping)
    const dir = await mkdtemp(path.join(tmpdir(), "axon-orph-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const replicaModule = new URL("./replica.ts", import.meta.url).href;
    const script = `
      ${TS_SOURCES_PRELUDE}
      const { Replica } = await import(${JSON.stringify(replicaModule)});
      const replica = Replica.start(JSON.parse(process.argv[1]));
      await replica.ready;
      console.log(JSON.stringify(replica.pids()));
    `;
    const options: ReplicaOptions = {
      id: "r-orph",
      apiName: "orphans",
      projectDir: FIXTURES,
      predictorPath: "echo_predictor.py",
      config: {},
      env: {},
      python: "python3",
      processes: 2,
      threads: 1,
      maxConcurrency: 8,
      runDir: dir,
      logFile: path.join(dir, "api.log"),
    };
    const front = spawn(
      process.execPath,
      ["--input-type=module", "-e", script, JSON.stringify(options)],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let pids: number[] = [];
    onTestFinished(() => {
      killQuietly(front.pid ?? -1);
      for (const pid of pids) killQuietly(pid);
    });
    let stdout = "";
    let stderr = "";
    front.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    front.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    await waitFor(
      () => stdout.includes("\n") || front.exitCode !== null,
      "the front to report its workers",
    );
    if (front.exitCode !== null) throw new Error(`the front process exited early: ${stderr}`);
    pids = JSON.parse(stdout) as number[];
    expect(pids).toHaveLength(2);
    expect(pids.every(isAlive)).toBe(true);

    // When the front's process is killed without any chance to clean up
    front.kill("SIGKILL");

    // Then its workers notice the closed socket and exit
    await waitFor(() => !pids.some(isAlive), "the workers to exit", 5_000);
  });
});

describe("Replica under load: overload, timeouts, batching, metrics", () => {
  it("refuses beyond maxConcurrency with 503 + Retry-After and loses no admitted request", async () => {
    // Given a replica admitting 4 requests, all 4 slots held by slow requests
    const { replica, url } = await startHarness({ maxConcurrency: 4 });
    await replica.ready;
    const admitted = [0, 1, 2, 3].map((i) =>
      postJson(url, { action: "sleep", seconds: 0.3, i }).then(async (res) => ({
        status: res.status,
        body: (await res.json()) as { payload: { i: number } },
      })),
    );
    await waitFor(() => replica.inFlight === 4, "four requests in flight");

    // When eight more arrive while the slots are taken
    const refused = await Promise.all(
      Array.from({ length: 8 }, () => postJson(url, { action: "refused" })),
    );

    // Then each is refused at once with 503, Retry-After and its request id
    for (const res of refused) {
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("1");
      expect(((await res.json()) as { request_id: string }).request_id).toBe(
        res.headers.get("x-request-id"),
      );
    }
    // And every admitted request gets its own answer
    const answers = await Promise.all(admitted);
    expect(answers.map((a) => [a.status, a.body.payload.i])).toEqual([
      [200, 0],
      [200, 1],
      [200, 2],
      [200, 3],
    ]);
    // And the metrics count 4 successes and 8 refusals
    const stats = replica.requestStats();
    expect(stats.statusClasses).toMatchObject({ "2XX": 4, "5XX": 8 });
    expect(stats.count).toBe(12);
    expect(replica.inFlight).toBe(0);
  });

  it("answers 504 past the per-request timeout, then kills the stuck worker and serves from its replacement", async () => {
    // Given a replica with one worker and a 300 ms timeout
    const { replica, url, logFile } = await startHarness({
      predictorPath: "stuck_predictor.py",
      timeoutMs: 300,
    });
    await replica.ready;
    const [stuckPid] = replica.pids();

    // When predict sleeps far past the timeout
    const res = await postJson(url, { sleep: 30 });

    // Then the caller gets 504 naming the request and the timeout
    expect(res.status).toBe(504);
    const requestId = res.headers.get("x-request-id");
    const body = (await res.json()) as { error: string; request_id: string };
    expect(body.request_id).toBe(requestId);
    expect(body.error).toBe(
      `test-api did not answer request ${requestId} within the timeout of 0.3s`,
    );
    // And the stuck worker is killed and replaced (gunicorn's --timeout), so the replica serves
    // again without waiting for the sleep: 503s (no live worker) until the replacement is ready
    let answer: Response | undefined;
    const statuses: number[] = [];
    await waitFor(
      () => answer?.status === 200,
      "an answer from the replacement",
      10_000,
      async () => {
        answer = await postJson(url, { fast: true });
        statuses.push(answer.status);
      },
    );
    if (answer === undefined) throw new Error("no answer");
    const served = (await answer.json()) as { pid: number; payload: unknown };
    expect(served.payload).toEqual({ fast: true });
    expect(served.pid).not.toBe(stuckPid);
    expect(statuses.slice(0, -1).every((status) => status === 503 || status === 504)).toBe(true);
    expect(isAlive(stuckPid ?? 0)).toBe(false);
    const log = await readFile(logFile, "utf8");
    expect(log).toContain(
      `request ${requestId} timed out after 0.3s and got 504; worker 0 is still running it`,
    );
    // (a request sent after the 504 and before the kill queued behind it: it went along)
    expect(log).toMatch(
      /worker 0 of replica r-test sent no answer for 0\.3s \(the timeout\) and was killed( \(request req-\d+, queued behind, goes to another worker\))?; starting a replacement/,
    );
  });

  it("a request queued behind a stuck worker waits for the replacement and is logged as queued", async () => {
    // Given a replica with one worker and a 4 s timeout
    const { replica, url, logFile } = await startHarness({
      predictorPath: "stuck_predictor.py",
      timeoutMs: 4_000,
    });
    await replica.ready;
    const [stuckPid] = replica.pids();

    // When predict deadlocks on one request, and another arrives behind it 3 s later (the
    // replacement has until that one's own timeout to start)
    const stuck = postJson(url, { deadlock: true }); // req-1
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const queued = postJson(url, { after: true }); // req-2

    // Then the deadlocked one gets 504, and the queued one is answered by the replacement
    const [first, second] = await Promise.all([stuck, queued]);
    expect(first.status).toBe(504);
    expect(second.status).toBe(200);
    const served = (await second.json()) as { pid: number; payload: unknown };
    expect(served.payload).toEqual({ after: true });
    expect(served.pid).not.toBe(stuckPid);
    // And the log says which request was running and which only waited
    const log = await readFile(logFile, "utf8");
    expect(log).toContain(
      "request req-1 timed out after 4s and got 504; worker 0 is still running it",
    );
    expect(log).toContain(
      "worker 0 of replica r-test sent no answer for 4s (the timeout) and was killed (request req-2, queued behind, goes to another worker); starting a replacement",
    );
    expect(log).not.toMatch(/req-2[^\n]*still running/);
    expect(replica.inFlight).toBe(0);
  });

  it("with 2 threads, a stuck worker's requests that may have started get 502; one queued behind goes on", async () => {
    // Given one worker with two predict threads and a 4 s timeout
    const { replica, url, logFile } = await startHarness({
      predictorPath: "stuck_predictor.py",
      threads: 2,
      timeoutMs: 4_000,
    });
    await replica.ready;

    // When both threads deadlock, the second 2.5 s after the first, and a third request queues
    const first = postJson(url, { deadlock: true }); // req-1
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const second = postJson(url, { deadlock: true }); // req-2
    await new Promise((resolve) => setTimeout(resolve, 500));
    const third = postJson(url, { after: true }); // req-3
    const [a, b, c] = await Promise.all([first, second, third]);

    // Then the first times out (504); the second, which may have been running when the worker
    // was killed, gets 502 rather than run twice; the third never started and is served
    expect([a.status, b.status, c.status]).toEqual([504, 502, 200]);
    expect(((await b.json()) as { error: string }).error).toContain(
      "was stuck (nothing for 4s, the timeout) while handling request req-2 and was replaced",
    );
    expect(await readFile(logFile, "utf8")).toContain(
      "worker 0 of replica r-test sent no answer for 4s (the timeout) and was killed (request req-2 got 502; request req-3, queued behind, goes to another worker); starting a replacement",
    );
  });

  it("a worker that stops answering while idle (SIGSTOP) is found by a ping and replaced", async () => {
    // Given a replica with two workers and a 1 s timeout
    const { replica, url, logFile } = await startHarness({
      predictorPath: "stuck_predictor.py",
      processes: 2,
      timeoutMs: 1_000,
    });
    await replica.ready;
    const [healthyPid, stoppedPid = 0] = replica.pids();
    const replaced: number[][] = [];
    replica.onWorkerReplaced((pids) => replaced.push(pids));

    // When worker 1 is stopped while it has nothing to do
    process.kill(stoppedPid, "SIGSTOP");

    // Then it is killed and replaced without any request having to find out
    await waitFor(() => replaced.length > 0, "the stopped worker's replacement", 15_000);
    expect(replica.pids()).not.toContain(stoppedPid);
    expect(isAlive(stoppedPid)).toBe(false);
    expect(await readFile(logFile, "utf8")).toContain(
      "worker 1 of replica r-test did not answer a ping for 1s (the timeout) and was killed",
    );
    // And the replica serves on both workers again
    await waitFor(() => replica.hasLiveWorker, "a live worker");
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => postJson(url, { i })));
    expect(answers.map((answer) => answer.status)).toEqual(Array(6).fill(200));
    // And the worker that kept answering its pings (PONG) was left alone
    expect(replica.pids()).toContain(healthyPid);
  });

  it("batches: every caller gets its own answer, batches never exceed maxBatchSize", async () => {
    // Given batching of up to 4 requests
    const { replica, url } = await startHarness({
      predictorPath: "batch_predictor.py",
      threads: 4,
      batching: { maxBatchSize: 4, batchIntervalMs: 200 },
    });
    await replica.ready;

    // When 10 requests with distinct payloads arrive together (one as raw bytes)
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i === 9 ? fetch(url, { method: "POST", body: "raw-9" }) : postJson(url, { i })).then(
          async (res) => ({
            status: res.status,
            body: (await res.json()) as { payload: unknown; batch: number; size: number },
          }),
        ),
      ),
    );

    // Then each caller got its own payload back from predict_batch
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 10 }, () => 200));
    expect(answers.map((a) => a.body.payload)).toEqual([
      ...Array.from({ length: 9 }, (_, i) => ({ i })),
      "raw-9",
    ]);
    // And each batch had at most 4 requests, and as many answers as its reported size
    const sizes = new Map<number, { size: number; seen: number }>();
    for (const { body } of answers) {
      expect(body.size).toBeLessThanOrEqual(4);
      const entry = sizes.get(body.batch) ?? { size: body.size, seen: 0 };
      entry.seen++;
      sizes.set(body.batch, entry);
    }
    for (const { size, seen } of sizes.values()) expect(seen).toBe(size);
  });

  it("sends a batch early rather than let its bodies grow past maxBatchBytes", async () => {
    // Given batches of up to 8 requests but at most 100 bytes of bodies (256 MiB in production)
    const { replica, url } = await startHarness({
      predictorPath: "batch_predictor.py",
      threads: 8,
      batching: { maxBatchSize: 8, batchIntervalMs: 300, maxBatchBytes: 100 },
    });
    await replica.ready;

    // When 6 requests of 40 bytes each arrive together
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        fetch(url, { method: "POST", body: String(i).repeat(40) }).then(async (res) => ({
          status: res.status,
          body: (await res.json()) as { size: number },
        })),
      ),
    );

    // Then every one is answered, from batches of at most two (80 bytes; a third would be 120)
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(Math.max(...answers.map((a) => a.body.size))).toBeLessThanOrEqual(2);
  });

  it("answers 504 to a request that waits for its batch past the timeout, and logs it", async () => {
    // Given batches of up to 8 that wait up to 5 s to fill, and a 300 ms timeout
    const { replica, url, logFile } = await startHarness({
      predictorPath: "batch_predictor.py",
      threads: 8,
      timeoutMs: 300,
      batching: { maxBatchSize: 8, batchIntervalMs: 5_000 },
    });
    await replica.ready;

    // When a request arrives alone
    const started = Date.now();
    const res = await postJson(url, { alone: true });

    // Then it gets 504 at its timeout, not when the batch would have left
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(3_000);
    const requestId = res.headers.get("x-request-id") ?? "missing";
    expect(((await res.json()) as { error: string }).error).toBe(
      `test-api did not answer request ${requestId} within the timeout of 0.3s (it was waiting for its batch)`,
    );
    expect(await readFile(logFile, "utf8")).toContain(
      `request ${requestId} timed out waiting for a batch and got 504`,
    );
    // And nothing of it is left behind: it is no longer in flight, and the next batch serves
    expect(replica.inFlight).toBe(0);
    const full = await Promise.all(Array.from({ length: 8 }, (_, i) => postJson(url, { i })));
    expect(full.map((r) => r.status)).toEqual(Array(8).fill(200));
  });

  it("flushes a partial batch after batchInterval", async () => {
    // Given batches of up to 8 and one lone request
    const { replica, url } = await startHarness({
      predictorPath: "batch_predictor.py",
      threads: 8,
      batching: { maxBatchSize: 8, batchIntervalMs: 50 },
    });
    await replica.ready;

    // When it is the only request (the batch never fills)
    const res = await postJson(url, { alone: true });

    // Then it is answered in a batch of one
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ payload: { alone: true }, size: 1 });
  });

  it("batches: invalid JSON is a 400 for its caller only; a raising predict_batch is a 500 for each", async () => {
    const { replica, url, logFile } = await startHarness({
      predictorPath: "batch_predictor.py",
      threads: 4,
      batching: { maxBatchSize: 2, batchIntervalMs: 500 },
    });
    await replica.ready;

    // When a batch holds one invalid JSON body and one valid one
    const [bad, good] = await Promise.all([
      fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{" }),
      postJson(url, { ok: 1 }),
    ]);
    // Then only the invalid one fails
    expect(bad.status).toBe(400);
    expect(good.status).toBe(200);

    // When predict_batch raises for a batch of two
    const failed = await Promise.all([postJson(url, { action: "raise" }), postJson(url, { x: 1 })]);
    // Then both callers get a 500 with their own request id, and the log names both
    const ids = failed.map((res) => res.headers.get("x-request-id") ?? "missing");
    for (const [i, res] of failed.entries()) {
      expect(res.status).toBe(500);
      expect(((await res.json()) as { request_id: string }).request_id).toBe(ids[i]);
    }
    const log = await readFile(logFile, "utf8");
    expect(log).toMatch(
      new RegExp(
        `requests (${ids[0]}, ${ids[1]}|${ids[1]}, ${ids[0]}): predict_batch\\(\\) raised`,
      ),
    );
    expect(log).toContain("ValueError: boom in the batch");

    // When predict_batch returns fewer answers than payloads
    const short = await Promise.all([postJson(url, { action: "short" }), postJson(url, { y: 1 })]);
    // Then each caller gets a 500 that says so
    for (const res of short) {
      expect(res.status).toBe(500);
      expect(((await res.json()) as { error: string }).error).toContain(
        "must return a list with one result per payload",
      );
    }
  });

  it("batches a Cortex-style predictor without predict_batch by passing the list to predict", async () => {
    const { replica, url } = await startHarness({
      predictorPath: "cortex_batch_predictor.py",
      threads: 2,
      batching: { maxBatchSize: 2, batchIntervalMs: 100 },
    });
    await replica.ready;
    const res = await postJson(url, [1, 2]);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { echo: unknown }).echo).toEqual([1, 2]);
  });

  it("batches a Cortex-style predict that reads query and headers: a list of each, per request", async () => {
    // Given batching on a predict(payload, query_params, headers) without predict_batch
    const { replica, url } = await startHarness({
      predictorPath: "cortex_batch_meta_predictor.py",
      threads: 2,
      batching: { maxBatchSize: 2, batchIntervalMs: 1000 },
    });
    await replica.ready;

    // When two callers with different queries and headers fill one batch
    const post = (user: string, tag: string, payload: unknown): Promise<Response> =>
      fetch(`${url}?user=${user}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-tag": tag },
        body: JSON.stringify(payload),
      });
    const answers = await Promise.all([post("ann", "t1", { a: 1 }), post("bob", "t2", [2])]);

    // Then predict ran once for both, and each caller got the answer built from its own request
    const bodies = await Promise.all(answers.map((res) => res.json()));
    expect(answers.map((res) => res.status)).toEqual([200, 200]);
    expect(bodies).toEqual([
      { payload: { a: 1 }, user: "ann", tag: "t1", size: 2 },
      { payload: [2], user: "bob", tag: "t2", size: 2 },
    ]);
  });

  it("tells a batched predictor without predict_batch that predict gets the list", async () => {
    // Given batching on a predictor whose predict returns one answer, not a list of them
    const { replica, url } = await startHarness({
      threads: 2,
      batching: { maxBatchSize: 2, batchIntervalMs: 50 },
    });
    await replica.ready;

    // When one request goes through alone (the interval flushes it)
    const res = await postJson(url, { x: 1 });

    // Then the 500 names predict (not a predict_batch the user never wrote) and says why
    expect(res.status).toBe(500);
    const { error } = (await res.json()) as { error: string };
    expect(error).toContain(
      "predict() must return a list with one result per payload (with server_side_batching and " +
        "no predict_batch, predict gets the list of payloads); it got 1 payload and returned a dict",
    );
  });

  it("samples the in-flight gauge every second", async () => {
    // Given a request that keeps one slot busy for 1.5 s
    const { replica, url } = await startHarness();
    await replica.ready;
    const since = Date.now();
    const slow = postJson(url, { action: "sleep", seconds: 1.5 });

    // Then a sample taken meanwhile sees it
    await waitFor(
      () => replica.inFlightSamples(since).some((sample) => sample.value === 1),
      "a sample with one request in flight",
      5_000,
    );
    expect((await slow).status).toBe(200);
    for (const sample of replica.inFlightSamples(since))
      expect(sample.at).toBeGreaterThanOrEqual(since);
  });
});

describe("Replica: response objects and post_predict", () => {
  it("sends a Response object's status, headers and body as they are", async () => {
    // Given a predictor returning objects shaped like Starlette's Response
    const { replica, url } = await startHarness({ predictorPath: "response_predictor.py" });
    await replica.ready;

    // When predict returns a 201 CSV response with a Location and a custom header
    const res = await postJson(url, { action: "csv" });

    // Then the client sees exactly that status, those headers and that body
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("location")).toBe("/items/7");
    expect(res.headers.get("x-custom")).toBe("yes");
    expect(res.headers.get("content-length")).toBe("8");
    expect(res.headers.get("x-request-id")).toMatch(/^req-\d+$/);
    expect(await res.text()).toBe("a,b\n1,2\n");

    // And a 204 goes out without a body
    const empty = await postJson(url, { action: "no content" });
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe("");
  });

  it("answers 500 naming the problem when a Response cannot be sent, and keeps serving", async () => {
    const { replica, url, logFile } = await startHarness({
      predictorPath: "response_predictor.py",
    });
    await replica.ready;
    const [pid] = replica.pids();

    // When responses hold a header that would split the response, a header that is not latin-1,
    // a status outside 200-599, or a body on a 204
    const cases: [unknown, string][] = [
      [
        { action: "split" },
        "predict() returned a PlainTextResponse whose header 'x-evil' holds a CR, LF or NUL character, which would split the HTTP response",
      ],
      [
        { action: "not latin-1" },
        "predict() returned a PlainTextResponse whose header 'x-name' has a value that is not latin-1 text",
      ],
      [
        { action: "status", status: 99 },
        "predict() returned a PlainTextResponse with status 99; a response's status must be 200-599",
      ],
      [
        { action: "no content with body" },
        "predict() returned a Response with status 204 and a body of 8 bytes; a 204 response cannot carry a body",
      ],
    ];
    for (const [payload, message] of cases) {
      const res = await postJson(url, payload);
      // Then each gets a 500 whose message says what is wrong, and nothing of the header leaks
      expect(res.status).toBe(500);
      expect(res.headers.get("set-cookie")).toBeNull();
      const body = (await res.json()) as { error: string; request_id: string };
      expect(body.error).toContain(message);
      expect(body.request_id).toBe(res.headers.get("x-request-id"));
    }
    expect(await readFile(logFile, "utf8")).toContain("whose header 'x-evil' holds a CR, LF");

    // And the same worker keeps serving
    const ok = await postJson(url, { action: "status", status: 418 });
    expect(ok.status).toBe(418);
    expect(await ok.text()).toBe("odd");
    expect(replica.pids()).toEqual([pid]);
  });

  it("batches: predict_batch may return Response objects, each sent as its own response", async () => {
    // Given batches of two on a predictor whose predict_batch returns a Response for some payloads
    const { replica, url } = await startHarness({
      predictorPath: "response_predictor.py",
      threads: 2,
      batching: { maxBatchSize: 2, batchIntervalMs: 1_000 },
    });
    await replica.ready;

    // When a batch holds one request answered with a Response and one answered with a dict
    const [csv, plain] = await Promise.all([
      postJson(url, { action: "csv" }),
      postJson(url, { plain: 1 }),
    ]);

    // Then each caller gets its own kind of answer
    expect(csv.status).toBe(201);
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(csv.headers.get("x-custom")).toBe("yes");
    expect(await csv.text()).toBe("a,b\n1,2\n");
    expect(plain.status).toBe(200);
    expect(plain.headers.get("content-type")).toBe("application/json");
    expect(plain.headers.get("x-custom")).toBeNull();
    expect(await plain.json()).toEqual({ plain: 1 });
  });

  it("calls post_predict after the response was sent, with the arguments it declares", async () => {
    // Given a post_predict(headers, response, query_params, payload) that sleeps, then writes a
    // file, on a predict that declares only the payload
    const out = await mkdtemp(path.join(tmpdir(), "axon-post-"));
    onTestFinished(() => rm(out, { recursive: true, force: true }));
    const { replica, url } = await startHarness({
      predictorPath: "post_predict_predictor.py",
      config: { out },
    });
    await replica.ready;
    const file = path.join(out, "t1.json");

    // When a request with a query and a header arrives
    const res = await postJson(`${url}/x?k=v`, { tag: "t1", post_sleep: 0.5 }, { "x-test": "hi" });

    // Then its answer arrives before post_predict has finished
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ answer: "t1" });
    expect(existsSync(file)).toBe(false);
    // And post_predict then gets what predict returned, the payload, the query and the headers
    await waitFor(() => existsSync(file), "post_predict's file");
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({
      response: { answer: "t1" },
      payload: { tag: "t1", post_sleep: 0.5 },
      query_params: { k: "v" },
      x_test: "hi",
    });
  });

  it("logs an exception in post_predict with the request id; the response is unaffected", async () => {
    const out = await mkdtemp(path.join(tmpdir(), "axon-post-"));
    onTestFinished(() => rm(out, { recursive: true, force: true }));
    const { replica, url, logFile } = await startHarness({
      predictorPath: "post_predict_predictor.py",
      config: { out },
    });
    await replica.ready;

    // When post_predict raises
    const res = await postJson(url, { tag: "t2", post_raise: true });

    // Then the caller still gets predict's answer
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ answer: "t2" });
    // And the log names the request, with the traceback
    const requestId = res.headers.get("x-request-id") ?? "missing";
    const line = `request ${requestId}: post_predict() raised an exception`;
    let log = "";
    await waitFor(
      () => log.includes("ValueError: post_predict failed for t2"),
      "the log line",
      5_000,
      async () => {
        log = await readFile(logFile, "utf8");
      },
    );
    expect(log.slice(log.indexOf(line))).toMatch(/^[^\n]*\nTraceback \(most recent call last\)/);
    // And the worker keeps serving
    expect((await postJson(url, { tag: "t3" })).status).toBe(200);
  });

  it("batches: post_predict runs once per request with that request's response and payload", async () => {
    const out = await mkdtemp(path.join(tmpdir(), "axon-post-"));
    onTestFinished(() => rm(out, { recursive: true, force: true }));
    const { replica, url } = await startHarness({
      predictorPath: "post_predict_predictor.py",
      config: { out },
      threads: 2,
      batching: { maxBatchSize: 2, batchIntervalMs: 1_000 },
    });
    await replica.ready;

    // When two requests fill one batch
    const answers = await Promise.all([
      postJson(`${url}?n=1`, { tag: "b1" }, { "x-test": "one" }),
      postJson(`${url}?n=2`, { tag: "b2" }, { "x-test": "two" }),
    ]);
    expect(answers.map((res) => res.status)).toEqual([200, 200]);

    // Then post_predict ran for each, with its own result, payload, query and headers
    for (const [tag, n, x] of [
      ["b1", "1", "one"],
      ["b2", "2", "two"],
    ] as const) {
      const file = path.join(out, `${tag}.json`);
      await waitFor(() => existsSync(file), `post_predict's file for ${tag}`);
      expect(JSON.parse(await readFile(file, "utf8"))).toEqual({
        response: { answer: tag, batch_size: 2 },
        payload: { tag },
        query_params: { n },
        x_test: x,
      });
    }
  });

  it("rejects ready when post_predict declares an argument Axon cannot provide", async () => {
    // Given post_predict(self, response, request_id)
    const { replica } = await startHarness({ predictorPath: "bad_post_predict_predictor.py" });

    // Then the replica fails to start, naming the method, the parameter and the allowed names
    await expect(replica.ready).rejects.toThrow(
      "PythonPredictor.post_predict in 'bad_post_predict_predictor.py' has a parameter 'request_id' " +
        "that Axon cannot provide; its parameters may be any of: response, payload, query_params, headers",
    );
  });
});

/** Runs curl (as a user would) against the harness; resolves with its stdout and exit code. */
function curl(
  args: readonly string[],
  cwd: string,
): Promise<{ stdout: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn("curl", ["-sS", "--max-time", "20", ...args], { cwd });
    let stdout = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (text: string) => (stdout += text));
    child.on("error", reject);
    child.on("close", (code) => resolve({ stdout, code }));
  });
}

describe("Replica form bodies (Cortex 0.20's FormData)", () => {
  it("gives predict a multipart upload's file (name, content type, bytes) and fields, and the raw body", async () => {
    // Given a predictor that describes the form it gets, and an image-like file holding CRLFs and dashes
    const { replica, url } = await startHarness({ predictorPath: "form_predictor.py" });
    const dir = await mkdtemp(path.join(tmpdir(), "axon-form-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const image = Buffer.concat([
      Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
      Buffer.from("\r\n--\r\n"),
      randomBytes(5000),
    ]);
    await writeFile(path.join(dir, "cat.jpg"), image);
    await replica.ready;

    // When curl uploads it with -F, as the most common way to send an image, plus a text field
    const { stdout, code } = await curl(
      ["-F", "file=@cat.jpg", "-F", "label=tabby", "-F", "label=ginger", `${url}/test-api`],
      dir,
    );

    // Then predict gets the file with its name, content type and exact bytes, the fields as strings
    // (the last one for form[name], every one through getlist), and the raw body stays available
    expect(code).toBe(0);
    const answer = JSON.parse(stdout) as {
      form: Record<string, unknown[]>;
      last: Record<string, string>;
      body_bytes: number;
      content_type: string;
    };
    expect(answer.form["file"]).toEqual([
      {
        filename: "cat.jpg",
        content_type: "image/jpeg",
        size: image.length,
        head: image.subarray(0, 8).toString("hex"),
      },
    ]);
    expect(answer.form["label"]).toEqual(["tabby", "ginger"]);
    expect(answer.last).toEqual({ label: "ginger" });
    expect(answer.content_type).toBe("multipart/form-data");
    expect(answer.body_bytes).toBeGreaterThan(image.length);
  });

  it("gives predict a URL-encoded form (curl -d without a Content-Type) as fields", async () => {
    // Given the same predictor
    const { replica, url } = await startHarness({ predictorPath: "form_predictor.py" });
    await replica.ready;

    // When curl posts -d without a header, which sends application/x-www-form-urlencoded
    const { stdout, code } = await curl(
      ["-d", "q=caf%C3%A9+au+lait&n=2&empty=", `${url}/test-api`],
      FIXTURES,
    );

    // Then the fields arrive decoded, blank values kept
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      form: { q: ["café au lait"], n: ["2"], empty: [""] },
      content_type: "application/x-www-form-urlencoded",
    });
  });

  it("answers 400 naming the problem for a multipart body cut short, and keeps serving", async () => {
    // Given the same predictor
    const { replica, url } = await startHarness({ predictorPath: "form_predictor.py" });
    await replica.ready;

    // When a multipart body's last part is never closed by the boundary, or has no boundary at all
    const cut = await fetch(`${url}/test-api`, {
      method: "POST",
      headers: { "content-type": "multipart/form-data; boundary=XyZ" },
      body: '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\nabc',
    });
    const noBoundary = await fetch(`${url}/test-api`, {
      method: "POST",
      headers: { "content-type": "multipart/form-data" },
      body: "anything",
    });

    // Then each gets 400 saying what is wrong, and the worker still answers a good form
    expect(cut.status).toBe(400);
    expect(((await cut.json()) as { error: string }).error).toBe(
      "part 1 of the multipart body is not followed by the boundary (the body is cut short?)",
    );
    expect(noBoundary.status).toBe(400);
    expect(((await noBoundary.json()) as { error: string }).error).toBe(
      "the multipart/form-data body has no boundary in its Content-Type header",
    );
    const good = await curl(["-F", "a=1", `${url}/test-api`], FIXTURES);
    expect(JSON.parse(good.stdout)).toMatchObject({ form: { a: ["1"] } });
  });
});

describe("Replica form bodies with server-side batching", () => {
  it("gives predict_batch each form of a batch, and answers a malformed one 400 on its own", async () => {
    // Given the form predictor with batching (predict_batch) and a long enough interval to batch
    const { replica, url } = await startHarness({
      predictorPath: "form_predictor.py",
      threads: 4,
      batching: { maxBatchSize: 3, batchIntervalMs: 2_000 },
    });
    await replica.ready;
    const multipart = new FormData();
    multipart.append("file", new Blob([Buffer.from([1, 2, 3])], { type: "image/png" }), "x.png");

    // When a multipart form, a URL-encoded form and a cut-short multipart body arrive together
    const [upload, fields, cut] = await Promise.all([
      fetch(url, { method: "POST", body: multipart }),
      fetch(url, { method: "POST", body: new URLSearchParams({ k: "v" }) }),
      fetch(url, {
        method: "POST",
        headers: { "content-type": "multipart/form-data; boundary=B" },
        body: '--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nx',
      }),
    ]);

    // Then the two forms were one batch of two, and the broken body got its own 400
    expect(await upload.json()).toMatchObject({
      form: { file: [{ filename: "x.png", content_type: "image/png", size: 3 }] },
      batch_size: 2,
    });
    expect(await fields.json()).toMatchObject({ form: { k: ["v"] }, batch_size: 2 });
    expect(cut.status).toBe(400);
    expect(((await cut.json()) as { error: string }).error).toContain(
      "part 1 of the multipart body",
    );
  });
});

describe("Replica tracebacks name the user's files relative to the project", () => {
  it("rejects ready with file:line:column for a syntax error, and logs no path of Axon's copy", async () => {
    // Given a predictor whose def lacks its colon on line 8
    const { replica, logFile } = await startHarness({ predictorPath: "syntax_error_predictor.py" });

    // When the replica starts
    const error = await replica.ready.then(
      () => null,
      (reason: unknown) => reason,
    );

    // Then the error's line says where, as a compiler would, and the log's traceback names the
    // file as the user knows it
    expect(error).toBeInstanceOf(ReplicaStartError);
    const located = "syntax_error_predictor.py:8:31: SyntaxError: expected ':'";
    expect((error as ReplicaStartError).message).toMatch(
      new RegExp(`before it was ready: ${located}$`),
    );
    const log = await readFile(logFile, "utf8");
    expect(log).toContain('File "syntax_error_predictor.py", line 8');
    expect(log).not.toContain(FIXTURES);
  });

  it("logs a traceback from predict with the predictor's path relative to the project", async () => {
    // Given a predictor that raises on request, run from its project folder
    const { replica, url, logFile } = await startHarness();
    await replica.ready;

    // When predict raises
    const res = await postJson(url, { action: "raise", tag: "rel-1" });

    // Then the traceback names echo_predictor.py and its line, not the absolute copy, and starts
    // at the user's code (the runtime's frame that called predict is left out)
    expect(res.status).toBe(500);
    const log = await readFile(logFile, "utf8");
    expect(log).toMatch(
      /Traceback \(most recent call last\):\n {2}File "echo_predictor\.py", line 26, in predict\n/,
    );
    expect(log).not.toContain(FIXTURES);
    expect(log).not.toContain("axon_runtime/worker.py");
  });
});
