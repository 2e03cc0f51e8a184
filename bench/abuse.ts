/**
 * Abuse benchmark (issue 16): a real daemon on loopback, attacked the way a hostile client or a
 * fault would (`npm run bench:abuse`; needs `npm run build`). Bounded: every request and wait has
 * a deadline, every process started here listens on 127.0.0.1 only and is stopped by its PID.
 *
 * Parts, each against the same daemon:
 *   bodies — 32 parallel POSTs of 60 MiB to an API bounded at `max_replica_concurrency: 4`; the
 *            gateway admits from the head, so the daemon's peak RSS stays near its idle RSS plus
 *            the bodies it admitted (at most `AXON_GATEWAY_MAX_BUFFERED_BYTES`, default 256 MiB)
 *   bomb   — (the bundles part of issue 16 adds it here)
 *   kill   — (the supervision part of issue 16 adds it here: `kill -9` of the daemon, time until
 *            the endpoint answers again)
 *
 * Last line: `abuse: peak RSS N MB (idle M MB); back after kill -9 in S s`.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = path.join(ROOT, "packages/cli/dist/main.js");
const PYTHON = process.env["AXON_BENCH_PYTHON"] ?? "/usr/bin/python3";
const MIB = 1024 * 1024;
const BODIES = 32;
const BODY_BYTES = 60 * MIB;
const REQUEST_TIMEOUT_MS = 120_000;
const RSS_SAMPLE_MS = 20;

/** What each part measured; the last line is printed from it. */
interface Results {
  idleRssMb: number;
  peakRssMb: number;
  backAfterKillSeconds: number | null;
}

/** An API that holds each request half a second, 4 at once at most. */
const PREDICTOR = `import time


class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload):
        time.sleep(0.5)
        return {"bytes": len(payload)}
`;

const CONFIG = `- name: bodies
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
  autoscaling:
    min_replicas: 1
    max_replicas: 1
    max_replica_concurrency: 4
`;

interface Daemon {
  home: string;
  env: NodeJS.ProcessEnv;
  pid: number;
  gatewayUrl: string;
}

function cli(daemon: { env: NodeJS.ProcessEnv }, args: string[], timeoutMs = 120_000): string {
  return execFileSync(process.execPath, [CLI, ...args], {
    env: daemon.env,
    stdio: "pipe",
    timeout: timeoutMs,
  }).toString();
}

/** A port free on 127.0.0.1 right now, for the gateway. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        resolve(typeof address === "object" && address !== null ? address.port : 0),
      );
    });
  });
}

/** Deploys the bodies API with a fresh AXON_HOME (which starts the daemon). */
async function startDaemon(project: string): Promise<Daemon> {
  const home = mkdtempSync(path.join(tmpdir(), "axon-abuse-home-"));
  const port = String(await freePort());
  const env = { ...process.env, AXON_HOME: home, AXON_PYTHON: PYTHON, AXON_GATEWAY_PORT: port };
  const daemon = { home, env, pid: 0, gatewayUrl: "" };
  cli(daemon, ["deploy", path.join(project, "axon.yaml"), "--wait", "--yes"]);
  daemon.pid = Number.parseInt(readFileSync(path.join(home, "daemon.lock"), "utf8"), 10);
  const info = JSON.parse(cli(daemon, ["cluster", "info", "-o", "json"])) as {
    gatewayUrl?: string;
  };
  if (info.gatewayUrl === undefined) throw new Error("cluster info has no gatewayUrl");
  daemon.gatewayUrl = info.gatewayUrl;
  return daemon;
}

function stopDaemon(daemon: Daemon): void {
  try {
    cli(daemon, ["cluster", "down"], 30_000);
  } catch {
    // the PID below
  }
  try {
    if (daemon.pid > 0) process.kill(daemon.pid, "SIGKILL"); // its workers exit with it
  } catch {
    // already stopped
  }
  rmSync(daemon.home, { recursive: true, force: true });
}

/** Resident set size of a process, in MB (VmRSS). */
function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  return kb === undefined ? 0 : Number(kb) / 1024;
}

/** Samples a process's RSS until stopped; returns the peak. */
function sampleRss(pid: number): { stop(): number } {
  let peak = rssMb(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, RSS_SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssMb(pid));
    },
  };
}

/** One POST of `body` on its own connection: its status, or the error code if none came. */
function post(url: string, body: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const request = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        agent: false,
        timeout: REQUEST_TIMEOUT_MS,
        headers: {
          "content-type": "application/octet-stream",
          "content-length": String(body.length),
        },
      },
      (response) => {
        response.resume();
        response.on("end", () => resolve(String(response.statusCode)));
      },
    );
    // A refused upload is answered before its body is read and the connection then closes: the
    // client may see EPIPE/ECONNRESET after (or, rarely, instead of) the answer.
    request.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
    request.on("timeout", () => request.destroy());
    request.end(body);
  });
}

/** Part "bodies": 32 × 60 MiB at once against a bound of 4. */
async function bodiesPart(daemon: Daemon, results: Results): Promise<void> {
  const url = `${daemon.gatewayUrl}/bodies`;
  const body = Buffer.alloc(BODY_BYTES, 0x61); // one buffer, written to every connection
  const sampler = sampleRss(daemon.pid);
  const started = performance.now();
  const outcomes = await Promise.all(Array.from({ length: BODIES }, () => post(url, body)));
  const seconds = (performance.now() - started) / 1000;
  results.peakRssMb = Math.max(results.peakRssMb, sampler.stop());
  const counts = new Map<string, number>();
  for (const outcome of outcomes) counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  const summary = [...counts].map(([outcome, n]) => `${n}× ${outcome}`).join(", ");
  console.log(
    `bodies: ${BODIES} × ${BODY_BYTES / MIB} MiB POSTs at max_replica_concurrency 4 in ${seconds.toFixed(1)} s: ${summary}`,
  );
  console.log(
    `bodies: daemon RSS idle ${results.idleRssMb.toFixed(0)} MB, peak ${results.peakRssMb.toFixed(0)} MB (+${(results.peakRssMb - results.idleRssMb).toFixed(0)} MB)`,
  );
}

async function main(): Promise<void> {
  const project = mkdtempSync(path.join(tmpdir(), "axon-abuse-project-"));
  writeFileSync(path.join(project, "predictor.py"), PREDICTOR);
  writeFileSync(path.join(project, "axon.yaml"), CONFIG);
  const daemon = await startDaemon(project);
  const results: Results = { idleRssMb: 0, peakRssMb: 0, backAfterKillSeconds: null };
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // let start-up garbage settle
    results.idleRssMb = rssMb(daemon.pid);
    results.peakRssMb = results.idleRssMb;
    await bodiesPart(daemon, results);
    // Part "bomb" (bundles): upload a bundle that expands past the limit; peak RSS into `results`.
    // Part "kill" (supervision): kill -9 the daemon; `results.backAfterKillSeconds`.
  } finally {
    stopDaemon(daemon);
    rmSync(project, { recursive: true, force: true });
  }
  const back =
    results.backAfterKillSeconds === null ? "n/a" : results.backAfterKillSeconds.toFixed(1);
  console.log(
    `abuse: peak RSS ${results.peakRssMb.toFixed(0)} MB (idle ${results.idleRssMb.toFixed(0)} MB); back after kill -9 in ${back} s`,
  );
}

await main();
