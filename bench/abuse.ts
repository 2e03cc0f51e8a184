/**
 * Abuse benchmark (issue 16): a real daemon on loopback, attacked the way a hostile client or a
 * fault would (`npm run bench:abuse`; needs `npm run build`). Bounded: every request and wait has
 * a deadline, every process started here listens on 127.0.0.1 only and is stopped by its PID.
 *
 * Parts, each against the same daemon:
 *   bodies — 32 parallel POSTs of 60 MiB to an API bounded at `max_replica_concurrency: 4`; the
 *            gateway admits from the head, so the daemon's peak RSS stays near its idle RSS plus
 *            the bodies it admitted (at most `AXON_GATEWAY_MAX_BUFFERED_BYTES`); its RSS is read
 *            again 10 s after the last answer (what it gave back). Goal (issue 27): both within
 *            2× idle
 *   bomb   — a 4.5 GiB decompression bomb in a few MB (45 entries of 100 MiB of zeros, as
 *            concatenated gzip members) PUT as a bundle: refused with 413 while streaming, the
 *            daemon's RSS and its API's answer time (health probed every 50 ms) measured throughout
 *   kill   — `kill -9` of the daemon; the supervisor starts it again and the time until the
 *            endpoint answers 200 again, with no command typed, is measured
 *
 * Last line: `abuse: peak RSS N MB, after the load A MB (idle M MB); back after kill -9 in S s`.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { Header } from "tar";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = path.join(ROOT, "packages/cli/dist/main.js");
const PYTHON = process.env["AXON_BENCH_PYTHON"] ?? "/usr/bin/python3";
const MIB = 1024 * 1024;
const BODIES = 32;
const BODY_BYTES = 60 * MIB;
const REQUEST_TIMEOUT_MS = 120_000;
const RSS_SAMPLE_MS = 20;
/** How long after the bodies' last answer the daemon's RSS is read again. */
const AFTER_LOAD_MS = 10_000;

/** What each part measured; the last line is printed from it. */
interface Results {
  idleRssMb: number;
  peakRssMb: number;
  /** RSS AFTER_LOAD_MS after the bodies part ended. */
  afterLoadRssMb: number;
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

/** The daemon's record (daemon.json): its pid and supervisor, API URL. */
function daemonRecord(home: string): { pid: number; supervisorPid?: number; apiUrl: string } {
  return JSON.parse(readFileSync(path.join(home, "daemon.json"), "utf8")) as {
    pid: number;
    supervisorPid?: number;
    apiUrl: string;
  };
}

function stopDaemon(daemon: Daemon): void {
  let supervisor: number | undefined;
  try {
    supervisor = daemonRecord(daemon.home).supervisorPid;
  } catch {
    // no record: no daemon
  }
  try {
    cli(daemon, ["cluster", "down"], 30_000);
  } catch {
    // the PIDs below
  }
  // The supervisor first, or it would start the daemon again.
  for (const pid of [supervisor ?? 0, daemon.pid]) {
    try {
      if (pid > 0) process.kill(pid, "SIGKILL"); // the daemon's workers exit with it
    } catch {
      // already stopped
    }
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
  await new Promise((resolve) => setTimeout(resolve, AFTER_LOAD_MS));
  results.afterLoadRssMb = rssMb(daemon.pid);
  const times = (mb: number): string => `${(mb / results.idleRssMb).toFixed(2)}× idle`;
  console.log(
    `bodies: daemon RSS idle ${results.idleRssMb.toFixed(0)} MB, peak ${results.peakRssMb.toFixed(0)} MB (+${(results.peakRssMb - results.idleRssMb).toFixed(0)} MB, ${times(results.peakRssMb)}), ${AFTER_LOAD_MS / 1000} s after the load ${results.afterLoadRssMb.toFixed(0)} MB (${times(results.afterLoadRssMb)})`,
  );
}

const BOMB_ENTRIES = 45;
const BOMB_ENTRY_BYTES = 100 * MIB;
const HEALTH_PROBE_MS = 50;

/**
 * 45 tar entries of 100 MiB of zeros: 4.5 GiB inflated, over the 4 GiB limit. Built as gzip
 * members (one per header, one shared for the zeros) so making it costs one 100 MiB deflate;
 * gzip readers join concatenated members into one stream.
 */
function makeBomb(): Buffer {
  const zeros = gzipSync(Buffer.alloc(BOMB_ENTRY_BYTES), { level: 9 });
  const parts: Buffer[] = [];
  for (let i = 0; i < BOMB_ENTRIES; i++) {
    const block = Buffer.alloc(512);
    new Header({
      path: `zeros-${i}.bin`,
      size: BOMB_ENTRY_BYTES,
      type: "File",
      mode: 0o644,
      mtime: new Date(0),
    }).encode(block);
    parts.push(gzipSync(block), zeros);
  }
  parts.push(gzipSync(Buffer.alloc(1024))); // end of archive
  return Buffer.concat(parts);
}

/** Milliseconds until GET /v1/health answers (an event loop that froze shows here). */
async function healthMs(apiUrl: string): Promise<number> {
  const started = performance.now();
  await fetch(`${apiUrl}/v1/health`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  return performance.now() - started;
}

/** Part "bomb": the bundle upload of a decompression bomb. */
async function bombPart(daemon: Daemon, results: Results): Promise<void> {
  const bomb = makeBomb();
  const sha = createHash("sha256").update(bomb).digest("hex");
  const { apiUrl } = daemonRecord(daemon.home);
  const token = readFileSync(path.join(daemon.home, "token"), "utf8").trim();
  const before = rssMb(daemon.pid);
  const sampler = sampleRss(daemon.pid);
  let slowest = 0;
  let probing = true;
  const probes = (async (): Promise<void> => {
    while (probing) {
      slowest = Math.max(slowest, await healthMs(apiUrl));
      await new Promise((resolve) => setTimeout(resolve, HEALTH_PROBE_MS));
    }
  })();
  const started = performance.now();
  const response = await fetch(`${apiUrl}/v1/bundles/${sha}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/gzip" },
    body: bomb,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const answer = (await response.json()) as { code?: string; message?: string };
  const seconds = (performance.now() - started) / 1000;
  probing = false;
  await probes;
  const peak = sampler.stop();
  results.peakRssMb = Math.max(results.peakRssMb, peak);
  console.log(
    `bomb: ${((BOMB_ENTRIES * BOMB_ENTRY_BYTES) / 1024 / MIB).toFixed(1)} GiB in ${(bomb.length / MIB).toFixed(1)} MB answered ${response.status} ${answer.code ?? ""} in ${seconds.toFixed(1)} s ("${answer.message ?? ""}")`,
  );
  console.log(
    `bomb: daemon RSS ${before.toFixed(0)} MB before the upload, peak ${peak.toFixed(0)} MB during it; slowest health answer meanwhile ${slowest.toFixed(0)} ms (probed every ${HEALTH_PROBE_MS} ms)`,
  );
}

/** Part "kill": SIGKILL the daemon and time the endpoint's first 200 after it. */
async function killPart(daemon: Daemon, results: Results): Promise<void> {
  const url = `${daemon.gatewayUrl}/bodies`;
  const killed = performance.now();
  process.kill(daemon.pid, "SIGKILL");
  const deadline = killed + REQUEST_TIMEOUT_MS;
  for (;;) {
    const status = await post(url, Buffer.from("x")).catch(() => "error");
    if (status === "200") break;
    if (performance.now() > deadline) throw new Error("the endpoint did not answer again");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  results.backAfterKillSeconds = (performance.now() - killed) / 1000;
  const before = daemon.pid;
  daemon.pid = daemonRecord(daemon.home).pid;
  console.log(
    `kill: daemon pid ${before} killed with SIGKILL; its supervisor started pid ${daemon.pid}; the endpoint answered 200 again after ${results.backAfterKillSeconds.toFixed(1)} s`,
  );
}

async function main(): Promise<void> {
  const project = mkdtempSync(path.join(tmpdir(), "axon-abuse-project-"));
  writeFileSync(path.join(project, "predictor.py"), PREDICTOR);
  writeFileSync(path.join(project, "axon.yaml"), CONFIG);
  const daemon = await startDaemon(project);
  const results: Results = {
    idleRssMb: 0,
    peakRssMb: 0,
    afterLoadRssMb: 0,
    backAfterKillSeconds: null,
  };
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // let start-up garbage settle
    results.idleRssMb = rssMb(daemon.pid);
    results.peakRssMb = results.idleRssMb;
    await bodiesPart(daemon, results);
    await bombPart(daemon, results);
    await killPart(daemon, results);
  } finally {
    stopDaemon(daemon);
    rmSync(project, { recursive: true, force: true });
  }
  const back =
    results.backAfterKillSeconds === null ? "n/a" : results.backAfterKillSeconds.toFixed(1);
  console.log(
    `abuse: peak RSS ${results.peakRssMb.toFixed(0)} MB, after the load ${results.afterLoadRssMb.toFixed(0)} MB (idle ${results.idleRssMb.toFixed(0)} MB); back after kill -9 in ${back} s`,
  );
}

await main();
