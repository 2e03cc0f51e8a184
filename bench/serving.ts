/**
 * Serving benchmark: the iris model behind four HTTP servers, and two constant-response servers
 * as ceilings, measured side by side with `wrk` on
 * loopback in one invocation (`npm run bench:serving`; needs `npm run setup` first).
 *
 *   (a) Flask under gunicorn, 2 sync workers — the seed tutorials' stack, the baseline
 *   (b) FastAPI under uvicorn, 1 worker — Cortex's stack, without Cortex's middlewares
 *   (c) the Axon endpoint as users call it: `axon deploy` → local gateway → replica → worker
 *   (c) with prediction monitoring: the same, tallying each answer's class (`monitoring`)
 *   (d) the same with `server_side_batching`
 *   (e) a constant-response Node `http` server — the ceiling of a front built on `node:http`
 *   (f) a constant-response Axon FrontServer (the front's HTTP layer, no worker) — its ceiling
 *
 * Every server predicts with the same `PythonPredictor` class from examples/iris-sklearn (Flask
 * and FastAPI import it too), so each row does the same Python work per request. Rounds alternate
 * between servers so drift on a shared machine hits every row alike; the table shows medians.
 * Every process is started here, listens on 127.0.0.1 only, and is stopped by its PID.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PYTHON = process.env["AXON_BENCH_PYTHON"] ?? "/usr/bin/python3";
const GUNICORN = "/usr/bin/gunicorn";
const CLI = path.join(ROOT, "packages/cli/dist/main.js");
const BODY = "[5.9,3.0,5.1,1.8]";
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5);
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 5);
const CONNECTIONS = Number(process.env["BENCH_CONNECTIONS"] ?? 16);
const WARMUP_SECONDS = 1;
/** Monitoring's A/B phase: this many back-to-back pairs of (c) and (c) with monitoring. */
const MONITORING_PAIRS = Number(process.env["BENCH_MONITORING_PAIRS"] ?? 8);
const MONITORING_SECONDS = 3;
const START_TIMEOUT_MS = 60_000;

interface Server {
  key: string;
  label: string;
  url: string;
  stop(): Promise<void>;
}

interface Sample {
  rps: number;
  /** Requests answered in the run (wrk's "N requests in"). */
  requests: number;
  p50: number;
  p99: number;
  errors: number;
}

function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(1);
}

function checkPrerequisites(): void {
  const missing: string[] = [];
  for (const file of ["/usr/bin/wrk", GUNICORN, PYTHON, CLI])
    if (!existsSync(file)) missing.push(file);
  if (missing.length > 0) {
    fail(
      `missing ${missing.join(", ")}; run \`npm run setup\` (it installs wrk, gunicorn, Flask, FastAPI, uvicorn and builds the CLI)`,
    );
  }
  try {
    execFileSync(PYTHON, ["-c", "import sklearn, flask, fastapi, uvicorn"], { stdio: "pipe" });
  } catch (error) {
    fail(
      `${PYTHON} cannot import sklearn, flask, fastapi and uvicorn (${String(error).split("\n")[0]}); run \`npm run setup\``,
    );
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls with a real prediction until the server answers 200 (or gives up). */
async function waitUntilServing(url: string, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let last = "";
  while (Date.now() < deadline) {
    if (child !== undefined && child.exitCode !== null)
      throw new Error(`exited with code ${child.exitCode} before serving`);
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: BODY,
      });
      last = `${res.status} ${await res.text()}`;
      if (res.status === 200) return;
    } catch (error) {
      last = String(error);
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer 200 within ${START_TIMEOUT_MS / 1000}s (last: ${last})`);
}

/** Spawns a server in its own process group so stop() ends it and its children by PID. */
async function startProcess(
  key: string,
  label: string,
  command: string,
  args: string[],
  url: string,
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<Server> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${label}: cannot start ${command}`);
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    killGroup(pid, "SIGTERM");
    await Promise.race([exited, sleep(5_000)]);
    killGroup(pid, "SIGKILL");
  };
  try {
    await waitUntilServing(url, child);
  } catch (error) {
    await stop();
    throw new Error(`${label}: ${(error as Error).message}\n${stderr}`);
  }
  return { key, label, url, stop };
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function parseDurationMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (match === null) return Number.NaN;
  const value = Number(match[1]);
  const unit = match[2];
  return unit === "us"
    ? value / 1000
    : unit === "ms"
      ? value
      : unit === "s"
        ? value * 1000
        : value * 60_000;
}

function runWrk(url: string, seconds: number, script: string): Sample {
  const out = execFileSync(
    "/usr/bin/wrk",
    ["-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency", "-s", script, url],
    { encoding: "utf8", timeout: (seconds + 30) * 1000 },
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN);
  const p50 = parseDurationMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? "");
  const p99 = parseDurationMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? "");
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0);
  return { rps, requests, p50, p99, errors: non2xx + socketErrors };
}

/**
 * Milliseconds a fixed loop takes on each CPU, run pinned with `taskset` while every server is
 * idle. On a virtual machine the host can slow one vCPU for minutes (seen here: the same loop
 * 1.6× slower on cpu0 than on cpu1, then equal again); a round run in such a phase is not
 * comparable with one that was not, so the bench prints this next to every round. Empty when
 * `taskset` is missing.
 */
function cpuLoopMs(): number[] {
  if (!existsSync(TASKSET)) return [];
  const times: number[] = [];
  const cpus = os_cpus();
  for (let cpu = 0; cpu < cpus; cpu++) {
    const out = execFileSync(TASKSET, ["-c", String(cpu), PYTHON, "-c", CPU_LOOP], {
      encoding: "utf8",
      timeout: 30_000,
    });
    times.push(Number(out.trim()));
  }
  return times;
}

/** Slowest CPU's loop time over the fastest's: 1.0 when the vCPUs run alike. */
function cpuSkew(times: readonly number[]): number {
  return times.length === 0 ? Number.NaN : Math.max(...times) / Math.min(...times);
}

const TASKSET = "/usr/bin/taskset";
/**
 * Python's interpreter loop: the same work at the same speed every time (a JavaScript loop's time
 * depends on when V8 optimises it: 100 or 340 ms for the same loop).
 */
const CPU_LOOP = [
  "import time",
  "t = time.perf_counter()",
  "s = 0",
  "for i in range(2_000_000):",
  "    s += i",
  "print(round((time.perf_counter() - t) * 1000, 1))",
].join("\n");
/** Rounds whose vCPUs differ more than this are marked in the output. */
const SKEWED = 1.25;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const FLASK_APP = `
import os, sys
from flask import Flask, request
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from predictor import PythonPredictor

predictor = PythonPredictor({})
app = Flask(__name__)

@app.route("/predict", methods=["POST"])
def predict():
    return predictor.predict(request.get_json())
`;

const FASTAPI_APP = `
import os, sys
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from predictor import PythonPredictor

predictor = PythonPredictor({})
app = FastAPI()

@app.post("/predict")
async def predict(request: Request):
    return PlainTextResponse(predictor.predict(await request.json()))
`;

/** (f): the replica front's own HTTP server answering a constant; {{FRONT}} is its module path. */
const FRONT_CONSTANT_SERVER = `
import { FrontServer } from "{{FRONT}}";
const body = Buffer.from("virginica");
const server = new FrontServer({
  handler: (request, responder) => responder.send(200, ["content-type", "text/plain; charset=utf-8"], body),
});
await server.listen(Number(process.argv[2]), "127.0.0.1");
`;

const CONSTANT_SERVER = `
const http = require("node:http");
const body = Buffer.from("virginica");
http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "content-length": body.length });
    res.end(body);
  });
}).listen(Number(process.argv[2]), "127.0.0.1");
`;

const AXON_CONFIG = `
- name: iris
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    processes_per_replica: 1
    threads_per_process: 1
- name: iris-monitored
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    processes_per_replica: 1
    threads_per_process: 1
  monitoring:
    model_type: classification
- name: iris-batched
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
    processes_per_replica: 1
    threads_per_process: 8
    server_side_batching:
      max_batch_size: 8
      batch_interval: 2ms
`;

async function startAxon(
  dir: string,
): Promise<{ servers: Server[]; home: string; stop(): Promise<void> }> {
  const home = mkdtempSync(path.join(tmpdir(), "axon-bench-home-"));
  const port = await freePort();
  const env = {
    ...process.env,
    AXON_HOME: home,
    AXON_PYTHON: PYTHON,
    AXON_GATEWAY_PORT: String(port),
  };
  writeFileSync(path.join(dir, "axon.yaml"), AXON_CONFIG);
  const stop = async (): Promise<void> => {
    try {
      execFileSync(process.execPath, [CLI, "cluster", "down"], {
        env,
        stdio: "pipe",
        timeout: 30_000,
      });
    } catch {
      // fall through to the PID below
    }
    const pid = Number.parseInt(readIfExists(path.join(home, "daemon.lock")), 10);
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, "SIGKILL"); // its workers exit when their sockets close
      } catch {
        // stopped by cluster down
      }
    }
    rmSync(home, { recursive: true, force: true });
  };
  try {
    execFileSync(
      process.execPath,
      [CLI, "deploy", path.join(dir, "axon.yaml"), "--wait", "--yes"],
      {
        env,
        stdio: "pipe",
        timeout: 120_000,
      },
    );
    const base = `http://127.0.0.1:${port}`;
    await waitUntilServing(`${base}/iris`);
    await waitUntilServing(`${base}/iris-batched`);
    await waitUntilServing(`${base}/iris-monitored`);
    const noop = async (): Promise<void> => {};
    return {
      servers: [
        {
          key: "c",
          label: "(c) Axon endpoint (gateway → replica → 1 worker)",
          url: `${base}/iris`,
          stop: noop,
        },
        {
          key: "cm",
          label: "(c) with prediction monitoring (class counts)",
          url: `${base}/iris-monitored`,
          stop: noop,
        },
        {
          key: "d",
          label: "(d) Axon endpoint, server-side batching",
          url: `${base}/iris-batched`,
          stop: noop,
        },
      ],
      home,
      stop,
    };
  } catch (error) {
    await stop();
    const detail = (error as { stderr?: Buffer }).stderr?.toString() ?? "";
    throw new Error(`(c) axon deploy failed: ${(error as Error).message}\n${detail}`);
  }
}

function readIfExists(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function formatTable(
  rows: {
    label: string;
    rps: number;
    minRps: number;
    maxRps: number;
    p50: number;
    p99: number;
    ratio: number;
    errors: number;
  }[],
): string {
  const lines = [
    "| server | req/s | rounds' req/s | p50 ms | p99 ms | × (a) | errors |",
    "|---|---:|---:|---:|---:|---:|---:|",
  ];
  const count = (n: number): string => Math.round(n).toLocaleString("en-US");
  for (const row of rows) {
    lines.push(
      `| ${row.label} | ${count(row.rps)} | ${count(row.minRps)}–${count(row.maxRps)} | ${row.p50.toFixed(2)} | ${row.p99.toFixed(2)} | ${row.ratio.toFixed(1)}× | ${row.errors} |`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  checkPrerequisites();
  const started = Date.now();
  const dir = mkdtempSync(path.join(tmpdir(), "axon-bench-"));
  const stops: (() => Promise<void>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("SIGINT", () => {
    void cleanup().finally(() => process.exit(130));
  });
  try {
    cpSync(path.join(ROOT, "examples/iris-sklearn"), dir, {
      recursive: true,
      filter: (src) => !src.endsWith("model.pkl") && !src.includes("__pycache__"),
    });
    execFileSync(PYTHON, ["train.py"], { cwd: dir, stdio: "pipe" });
    writeFileSync(path.join(dir, "flask_app.py"), FLASK_APP);
    writeFileSync(path.join(dir, "fastapi_app.py"), FASTAPI_APP);
    writeFileSync(path.join(dir, "constant.cjs"), CONSTANT_SERVER);
    const frontModule = path.join(ROOT, "packages/control-plane/dist/replica/front-server.js");
    writeFileSync(
      path.join(dir, "front-constant.mjs"),
      FRONT_CONSTANT_SERVER.replace("{{FRONT}}", pathToFileURL(frontModule).href),
    );
    const script = path.join(dir, "post.lua");
    writeFileSync(
      script,
      `wrk.method = "POST"\nwrk.body = '${BODY}'\nwrk.headers["Content-Type"] = "application/json"\n`,
    );

    console.log(
      `bench: starting servers (loopback, ${ROUNDS} rounds × ${SECONDS}s each, wrk -t1 -c${CONNECTIONS})`,
    );
    const servers: Server[] = [];
    const flaskPort = await freePort();
    const flask = await startProcess(
      "a",
      "(a) Flask + gunicorn, 2 sync workers",
      GUNICORN,
      ["-w", "2", "-b", `127.0.0.1:${flaskPort}`, "--log-level", "warning", "flask_app:app"],
      `http://127.0.0.1:${flaskPort}/predict`,
      { cwd: dir },
    );
    stops.push(() => flask.stop());
    servers.push(flask);
    const uvicornPort = await freePort();
    const fastapi = await startProcess(
      "b",
      "(b) FastAPI + uvicorn, 1 worker",
      PYTHON,
      [
        "-m",
        "uvicorn",
        "fastapi_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        String(uvicornPort),
        "--no-access-log",
        "--log-level",
        "warning",
      ],
      `http://127.0.0.1:${uvicornPort}/predict`,
      { cwd: dir },
    );
    stops.push(() => fastapi.stop());
    servers.push(fastapi);
    const axon = await startAxon(dir);
    stops.push(() => axon.stop());
    servers.push(...axon.servers);
    // The two ceilings: Node's http server and the replica front's own, both answering a constant.
    for (const [key, label, script] of [
      ["e", "(e) Node http, constant response", "constant.cjs"],
      ["f", "(f) Axon front server, constant response", "front-constant.mjs"],
    ] as const) {
      const port = await freePort();
      const ceiling = await startProcess(
        key,
        label,
        process.execPath,
        [path.join(dir, script), String(port)],
        `http://127.0.0.1:${port}/`,
        { cwd: dir },
      );
      stops.push(() => ceiling.stop());
      servers.push(ceiling);
    }

    const samples = new Map<string, Sample[]>(servers.map((server) => [server.key, []]));
    const skews: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const loop = cpuLoopMs();
      const skew = cpuSkew(loop);
      skews.push(skew);
      if (loop.length > 0) {
        console.log(
          `bench: round ${round} vCPU check (a fixed loop, ms per CPU): ${loop.join(", ")}` +
            (skew > SKEWED
              ? ` — one vCPU is ${skew.toFixed(1)}× slower (the host, or other load here)`
              : ""),
        );
      }
      // Odd rounds run the rows in order, even rounds in reverse: a row's place in the round
      // (right after a heavy row, at the round's end) then weighs on every row alike.
      for (const server of round % 2 === 1 ? servers : [...servers].reverse()) {
        runWrk(server.url, WARMUP_SECONDS, script);
        const sample = runWrk(server.url, SECONDS, script);
        samples.get(server.key)?.push(sample);
        console.log(
          `bench: round ${round} ${server.label}: ${Math.round(sample.rps)} req/s, p50 ${sample.p50.toFixed(2)} ms, p99 ${sample.p99.toFixed(2)} ms${sample.errors > 0 ? `, ${sample.errors} errors` : ""}`,
        );
      }
    }

    const summary = servers.map((server) => {
      const list = samples.get(server.key) ?? [];
      return {
        key: server.key,
        label: server.label,
        rps: median(list.map((s) => s.rps)),
        minRps: Math.min(...list.map((s) => s.rps)),
        maxRps: Math.max(...list.map((s) => s.rps)),
        p50: median(list.map((s) => s.p50)),
        p99: median(list.map((s) => s.p99)),
        errors: list.reduce((sum, s) => sum + s.errors, 0),
      };
    });
    const baseline = summary.find((row) => row.key === "a")?.rps ?? Number.NaN;
    const rows = summary.map((row) => ({ ...row, ratio: row.rps / baseline }));
    const table = formatTable(rows);
    const ratioOf = (key: string): number =>
      rows.find((row) => row.key === key)?.ratio ?? Number.NaN;
    const p99Of = (key: string): number => rows.find((row) => row.key === key)?.p99 ?? Number.NaN;
    console.log("");
    console.log(table);
    console.log("");
    // A row's share of another is read from the rounds' paired ratios (both measured in the same
    // round, one right after the other), which cancels what slows a whole round down.
    const paired = (over: string, under: string): number[] => {
      const top = samples.get(over) ?? [];
      const bottom = samples.get(under) ?? [];
      return top.map((sample, index) => sample.rps / (bottom[index]?.rps ?? Number.NaN));
    };
    const percents = (ratios: number[]): string =>
      ratios.map((ratio) => `${(ratio * 100).toFixed(1)}%`).join(", ");
    const batchedOfCeiling = paired("d", "e");
    const unbatchedOk = ratioOf("c") >= 3 && p99Of("c") <= p99Of("a");
    const batchedOk = ratioOf("d") >= 8 || median(batchedOfCeiling) >= 0.9;
    const batchedLine = `batched: (d) at ${(median(batchedOfCeiling) * 100).toFixed(1)}% of (e), median of the rounds' paired ratios ${percents(batchedOfCeiling)}`;
    console.log(batchedLine);
    console.log(
      `targets: unbatched ≥ 3.0× at p99 ≤ (a)'s: ${unbatchedOk ? "met" : "NOT met"}; batched ≥ 8.0× or ≥ 90% of (e): ${batchedOk ? "met" : "NOT met"}` +
        ` (measured in ${Math.round((Date.now() - started) / 1000)} s on ${os_cpus()} cores)`,
    );
    const skewNote = skews.every(Number.isNaN)
      ? ""
      : `vCPU check per round (slowest CPU's loop time over the fastest's): ${skews.map((x) => `${x.toFixed(2)}`).join(", ")}` +
        (skews.some((x) => x > SKEWED)
          ? ` — rounds above ${SKEWED} ran with one vCPU slower than the other (the host, or other load on this machine), which lowers rows unevenly`
          : "");
    if (skewNote !== "") console.log(skewNote);

    // Monitoring's cost is a small difference between two rows, smaller than a round's drift: it
    // gets its own phase of short back-to-back pairs, alternating which of the two goes first.
    const plainRow = servers.find((server) => server.key === "c");
    const monitoredRow = servers.find((server) => server.key === "cm");
    // Throughput on a shared VM drifts by more than the cost itself, so the phase also reads the
    // CPU time the daemon (every front) and the API's worker spent per request (/proc), which the
    // host's noise barely moves: more CPU per request is what monitoring would cost at saturation.
    const monitoringRatios: number[] = [];
    const cpuRatios: number[] = [];
    const cpuPerRequest = new Map<string, number[]>([
      ["c", []],
      ["cm", []],
    ]);
    if (plainRow !== undefined && monitoredRow !== undefined) {
      for (let pair = 0; pair < MONITORING_PAIRS; pair++) {
        const order = pair % 2 === 0 ? [plainRow, monitoredRow] : [monitoredRow, plainRow];
        const rps = new Map<string, number>();
        const cpu = new Map<string, number>();
        for (const server of order) {
          runWrk(server.url, WARMUP_SECONDS, script);
          const pids = axonPids(axon.home, server.key === "c" ? "iris" : "iris-monitored");
          const before = cpuSeconds(pids);
          const sample = runWrk(server.url, MONITORING_SECONDS, script);
          const used = cpuSeconds(pids) - before;
          rps.set(server.key, sample.rps);
          cpu.set(server.key, (used / sample.requests) * 1e6);
          cpuPerRequest.get(server.key)?.push((used / sample.requests) * 1e6);
        }
        monitoringRatios.push((rps.get("cm") ?? Number.NaN) / (rps.get("c") ?? Number.NaN));
        cpuRatios.push((cpu.get("cm") ?? Number.NaN) / (cpu.get("c") ?? Number.NaN));
      }
    }
    const monitoringLine =
      `prediction monitoring: (c) with it at ${(median(monitoringRatios) * 100).toFixed(1)}% of (c)'s req/s, median of ${monitoringRatios.length} back-to-back pairs of ${MONITORING_SECONDS} s: ${percents(monitoringRatios)}; ` +
      `CPU per request (daemon + the API's worker) ${median(cpuPerRequest.get("c") ?? []).toFixed(1)} µs without, ${median(cpuPerRequest.get("cm") ?? []).toFixed(1)} µs with, a difference of ${signedPercent(median(cpuRatios) - 1)} by the pairs' median (target: a cost ≤ 3%)`;
    console.log(monitoringLine);
    writeReadme(table, unbatchedOk, batchedOk, skewNote, [batchedLine, monitoringLine]);
    console.log(
      `serving vs gunicorn+flask: unbatched ${ratioOf("c").toFixed(1)}×, batched ${ratioOf("d").toFixed(1)}×`,
    );
  } finally {
    await cleanup();
  }
}

/** The daemon's pid and the pids of `api`'s workers, from the bench cluster's home. */
function axonPids(home: string, api: string): number[] {
  const daemon = Number(
    (JSON.parse(readIfExists(path.join(home, "daemon.json")) || "{}") as { pid?: number }).pid,
  );
  const workers = JSON.parse(readIfExists(path.join(home, "local-workers.json")) || "[]") as Array<{
    apiName: string;
    pid: number;
  }>;
  return [
    ...(Number.isInteger(daemon) ? [daemon] : []),
    ...workers.filter((worker) => worker.apiName === api).map((worker) => worker.pid),
  ];
}

/** CPU seconds (user + system) the processes have used, from /proc/<pid>/stat. */
function cpuSeconds(pids: number[]): number {
  const ticksPerSecond = 100; // USER_HZ on Linux
  let ticks = 0;
  for (const pid of pids) {
    const stat = readIfExists(`/proc/${pid}/stat`);
    // Fields after the command name (which may hold spaces): state is the 3rd, utime the 14th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }
  return ticks / ticksPerSecond;
}

/** `+2.5%` or `−0.9%`. */
function signedPercent(fraction: number): string {
  return `${fraction < 0 ? "−" : "+"}${Math.abs(fraction * 100).toFixed(1)}%`;
}

function os_cpus(): number {
  return Number(execFileSync("nproc", { encoding: "utf8" }).trim());
}

const README_MARK = "<!-- bench:serving table -->";

/** Replaces the measured table in bench/README.md (between the markers) with this run's. */
function writeReadme(
  table: string,
  unbatchedOk: boolean,
  batchedOk: boolean,
  skewNote: string,
  pairedLines: string[],
): void {
  const file = path.join(ROOT, "bench/README.md");
  const text = readIfExists(file);
  const at = text.indexOf(README_MARK);
  const end = text.indexOf(README_MARK, at + README_MARK.length);
  if (at < 0 || end < 0) return;
  const when = new Date().toISOString().slice(0, 16).replace("T", " ");
  const block = [
    README_MARK,
    "",
    `Last run: ${when} UTC, ${os_cpus()} cores, ${ROUNDS} rounds × ${SECONDS} s, wrk -t1 -c${CONNECTIONS}; medians of the rounds, and their range.`,
    "",
    table,
    "",
    ...(skewNote === "" ? [] : [`${skewNote}.`, ""]),
    ...pairedLines.flatMap((line) => [`${line.charAt(0).toUpperCase()}${line.slice(1)}.`, ""]),
    `Targets: unbatched ≥ 3× (a) at p99 ≤ (a)'s — ${unbatchedOk ? "met" : "not met"}; batched ≥ 8× (a) or ≥ 90% of (e) — ${batchedOk ? "met" : "not met"}.`,
    "",
    README_MARK,
  ].join("\n");
  writeFileSync(file, text.slice(0, at) + block + text.slice(end + README_MARK.length));
}

await main();
