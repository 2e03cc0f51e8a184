/**
 * Cold-start benchmark (`npm run bench:cold-start`; needs `npm run setup` first): the iris example
 * with `min_replicas: 0` and `scale_to_zero_after: 10s` on a temp AXON_HOME, 127.0.0.1 only.
 *   (1) a warm request (a replica is up) is timed;
 *   (2) the bench waits until the API has scaled to zero (bounded: 90 s), then times the first
 *       request, which the gateway holds while a replica starts;
 *   (3) it prints the Retry-After the gateway would give a caller past the hold limit: the
 *       measured start of the API's last replica, as `get` reports it.
 * The cluster is stopped at the end. The last line is exactly
 *   cold-start: first request S ms (status 200) vs warm W ms; Retry-After R s
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = path.join(ROOT, "packages/cli/dist/main.js");
const PYTHON = process.env["AXON_BENCH_PYTHON"] ?? "/usr/bin/python3";
const API = "iris-classifier";
const REQUEST = JSON.stringify([5.9, 3.0, 5.1, 1.8]);
const IDLE_LIMIT_MS = 90_000;

interface Detail {
  statusMessage?: string;
  replicas: { requested: number; upToDate: number };
  idle?: { startSeconds?: number };
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

function axon(args: string[], env: NodeJS.ProcessEnv): string {
  return execFileSync(process.execPath, [CLI, ...args], { env, encoding: "utf8", stdio: "pipe" });
}

async function timedPredict(endpoint: string): Promise<{ ms: number; status: number }> {
  const started = performance.now();
  const response = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: REQUEST,
  });
  await response.text();
  return { ms: performance.now() - started, status: response.status };
}

async function main(): Promise<void> {
  const home = mkdtempSync(path.join(tmpdir(), "axon-bench-cold-"));
  const project = mkdtempSync(path.join(tmpdir(), "axon-bench-cold-project-"));
  cpSync(path.join(ROOT, "examples/iris-sklearn"), project, { recursive: true });
  const config = path.join(project, "axon.yaml");
  writeFileSync(
    config,
    `${readFileSync(config, "utf8").trimEnd()}\n  autoscaling:\n    min_replicas: 0\n    scale_to_zero_after: 10s\n`,
  );
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AXON_HOME: home,
    AXON_GATEWAY_PORT: String(port),
    AXON_PYTHON: PYTHON,
  };
  const endpoint = `http://127.0.0.1:${port}/${API}`;
  const detail = (): Detail => JSON.parse(axon(["get", API, "-o", "json"], env)) as Detail;
  try {
    axon(["deploy", project, "--wait"], env);
    await timedPredict(endpoint); // the first answer of a fresh replica warms its imports
    const warm = await timedPredict(endpoint);
    console.log(`warm request: ${warm.ms.toFixed(1)} ms (status ${warm.status})`);

    const deadline = Date.now() + IDLE_LIMIT_MS;
    let idle = detail();
    while (idle.replicas.requested !== 0 || idle.replicas.upToDate !== 0) {
      if (Date.now() > deadline) throw new Error(`${API} did not scale to zero within 90 s`);
      await sleep(1000);
      idle = detail();
    }
    console.log(`idle: ${idle.statusMessage ?? "(no status message)"}`);

    const cold = await timedPredict(endpoint);
    console.log(`first request after idle: ${cold.ms.toFixed(1)} ms (status ${cold.status})`);
    const retryAfter = Math.max(1, Math.ceil(idle.idle?.startSeconds ?? 1));
    console.log(
      `cold-start: first request ${cold.ms.toFixed(0)} ms (status ${cold.status}) vs warm ${warm.ms.toFixed(1)} ms; Retry-After ${retryAfter} s`,
    );
  } finally {
    try {
      axon(["cluster", "down", "--yes"], env);
    } catch {
      // Already down.
    }
    rmSync(home, { recursive: true, force: true });
    rmSync(project, { recursive: true, force: true });
  }
}

await main();
