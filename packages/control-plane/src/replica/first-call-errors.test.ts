/**
 * What a new user's first calls get when they go wrong (issue 28): `curl -d @sample.json` without
 * a Content-Type (curl then sends a URL-encoded form), a JSON body with no Content-Type at all, and
 * a predictor that imports a package its interpreter lacks. Real replicas behind a real HTTP
 * server on 127.0.0.1, real Python workers.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { FrontServer } from "./front-server.js";
import { Replica, type ReplicaOptions, ReplicaStartError } from "./replica.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const SEND_JSON =
  "send the header Content-Type: application/json (curl -H 'Content-Type: application/json' -d @sample.json)";

/** A replica of `predictorPath` behind a front on 127.0.0.1; stopped when the test ends. */
async function startReplica(
  overrides: Partial<ReplicaOptions>,
): Promise<{ replica: Replica; url: string; logFile: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), "axon-first-"));
  const logFile = path.join(dir, "api.log");
  const replica = Replica.start({
    id: "r-first",
    apiName: "first-api",
    projectDir: FIXTURES,
    predictorPath: "keyed_predictor.py",
    config: {},
    env: {},
    python: "python3",
    processes: 1,
    threads: 1,
    maxConcurrency: 8,
    runDir: dir,
    logFile,
    ...overrides,
  });
  let counter = 0;
  const server = new FrontServer({
    handler: (request, responder) => replica.serve(request, responder, `req-${++counter}`),
    admitBody: (_head, responder) => replica.admitBody(responder, `req-${++counter}`),
  });
  const port = await server.listen(0, "127.0.0.1");
  onTestFinished(async () => {
    const pids = replica.pids();
    await replica.stop(0);
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { replica, url: `http://127.0.0.1:${port}/first-api`, logFile };
}

async function post(
  url: string,
  body: string | Uint8Array,
  headers: Record<string, string>,
): Promise<{ status: number; error: unknown; body: unknown }> {
  const response = await fetch(url, { method: "POST", headers, body });
  const parsed = (await response.json()) as { error?: unknown };
  return { status: response.status, error: parsed.error, body: parsed };
}

describe("a JSON body sent without Content-Type: application/json", () => {
  it("as curl -d's URL-encoded form: a predict that fails on it gets 400 naming the header, not 500", async () => {
    // Given the tutorial's predictor, which reads payload["sepal_length"]
    const { replica, url, logFile } = await startReplica({});
    await replica.ready;

    // When the body of sample.json is posted as curl -d posts it, then with the header
    const form = await post(url, '{"sepal_length": 5.1}', {
      "content-type": "application/x-www-form-urlencoded",
    });
    const json = await post(url, '{"sepal_length": 5.1}', { "content-type": "application/json" });

    // Then the first is a 400 that names the header to send, and the second is answered
    expect(form.status).toBe(400);
    expect(form.error).toBe(
      "predict() raised KeyError('sepal_length') on this request's body read as a form: the body is " +
        "JSON but its Content-Type is application/x-www-form-urlencoded (what curl -d sends unless " +
        `told otherwise); ${SEND_JSON}`,
    );
    expect(json).toMatchObject({ status: 200, body: { doubled: 10.2 } });
    // And the log says the same beside the traceback
    const log = await readFile(logFile, "utf8");
    expect(log).toContain("its Content-Type is application/x-www-form-urlencoded");
    expect(log).toContain("KeyError: 'sepal_length'");
  });

  it("with server-side batching too: the request whose JSON came as a form gets the 400", async () => {
    // Given the same predictor, batched (predict gets the list of payloads, as in Cortex)
    const { replica, url } = await startReplica({
      batching: { maxBatchSize: 1, batchIntervalMs: 10 },
    });
    await replica.ready;

    // When the body of sample.json is posted as curl -d posts it
    const form = await post(url, '{"sepal_length": 5.1}', {
      "content-type": "application/x-www-form-urlencoded",
    });

    // Then predict's failure on the batch is a 400 naming the header for that request
    expect(form.status).toBe(400);
    expect(form.error).toMatch(
      /^predict\(\) raised TypeError\(.*\) for the batch holding this request, whose body was read as a form: the body is JSON but its Content-Type is application\/x-www-form-urlencoded/,
    );
    expect(form.error).toContain(SEND_JSON);
  });

  it("a real form the predict fails on is still its own 500, without a word about JSON", async () => {
    // Given the same predictor
    const { replica, url } = await startReplica({});
    await replica.ready;

    // When a real URL-encoded form without the field is posted
    const answer = await post(url, "petal_length=1.4", {
      "content-type": "application/x-www-form-urlencoded",
    });

    // Then it is predict's failure: a 500 pointing at the logs
    expect(answer.status).toBe(500);
    expect(answer.error).toBe(
      "predict() raised an exception; the API logs have the traceback for request req-1",
    );
  });

  it("with no Content-Type at all predict gets bytes, as in Cortex, and its failure names the header", async () => {
    // Given the same predictor
    const { replica, url } = await startReplica({});
    await replica.ready;

    // When JSON is posted with no Content-Type header (fetch sends none for a byte array)
    const answer = await post(url, new TextEncoder().encode('{"sepal_length": 5.1}'), {});

    // Then predict's failure on the bytes is a 500 that says what to send
    expect(answer.status).toBe(500);
    expect(answer.error).toBe(
      "predict() raised an exception; the API logs have the traceback for request req-1 (the body " +
        "is JSON but the request did not say so, so predict got it as bytes; if predict expects the " +
        `parsed value, ${SEND_JSON})`,
    );
  });
});

describe("an ImportError at start-up", () => {
  it("names the interpreter, that it is the cluster's, and requirements.txt", async () => {
    // Given a predictor importing a module the interpreter does not have
    const { replica } = await startReplica({ predictorPath: "import_error_predictor.py" });

    // When the replica starts
    const error = await replica.ready.then(
      () => null,
      (reason: unknown) => reason,
    );

    // Then the start error says which interpreter ran it, where that came from, and the fix
    expect(error).toBeInstanceOf(ReplicaStartError);
    const python = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], {
      encoding: "utf8",
    }).trim();
    const message = (error as ReplicaStartError).message;
    expect(message).toContain(
      "ModuleNotFoundError: No module named 'axon_definitely_missing_module' (the predictor ran on " +
        `${python} (Python `,
    );
    expect(message).toContain(
      "the cluster's interpreter (AXON_PYTHON or `axon cluster up --python` when set, else the " +
        "first python3 on PATH; the project has no requirements.txt with packages in it, so no environment of its own); " +
        "add axon_definitely_missing_module to requirements.txt in the project folder",
    );
  });

  it("in the API's own environment, says so and names the pip package of a known import name", async () => {
    // Given an environment as the daemon builds one (a venv holding axon-env.json), and a
    // predictor importing sklearn, which that environment lacks
    const envDir = await mkdtemp(path.join(tmpdir(), "axon-first-env-"));
    const project = await mkdtemp(path.join(tmpdir(), "axon-first-project-"));
    onTestFinished(async () => {
      await rm(envDir, { recursive: true, force: true });
      await rm(project, { recursive: true, force: true });
    });
    execFileSync("python3", ["-m", "venv", "--without-pip", envDir]);
    await writeFile(path.join(envDir, "axon-env.json"), "{}");
    await writeFile(
      path.join(project, "predictor.py"),
      "import sklearn.linear_model\n\nclass PythonPredictor:\n    def predict(self, payload):\n        return 1\n",
    );

    // When a replica starts on the environment's interpreter
    const { replica } = await startReplica({
      projectDir: project,
      predictorPath: "predictor.py",
      python: path.join(envDir, "bin", "python"),
    });
    const error = await replica.ready.then(
      () => null,
      (reason: unknown) => reason,
    );

    // Then the message names that interpreter as the API's environment, and scikit-learn
    const message = (error as ReplicaStartError).message;
    expect(message).toContain(
      `(the predictor ran on ${path.join(envDir, "bin", "python")} (Python `,
    );
    expect(message).toContain(
      "the API's environment (built from the project's requirements.txt over ",
    );
    expect(message).toContain("add scikit-learn to requirements.txt in the project folder");
  });
});
