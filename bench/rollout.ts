/**
 * Rollout and autoscaling benchmark (`npm run bench:rollout`; needs `npm run setup` first): a
 * constant closed-loop load on the iris example (min 2 replicas) while
 *   (1) a code change rolls out twice — every request must still get a 2xx;
 *   (2) the load steps up 4× — the autoscaler must decide a scale-up within `window` + one 10 s
 *       tick — and later back down, so it scales in.
 * The bench's copy of the predictor sleeps 20 ms per request, as a real model takes time: with an
 * answer in 1 ms the load generator, not the replicas, would hold the requests, and the in-flight
 * signal the autoscaler reads would stay near 0 whatever the load. Short windows in the bench's
 * config keep it to about two minutes. Everything runs on
 * 127.0.0.1 in a temp AXON_HOME; the cluster is stopped at the end. Prints the replica-count
 * timeline; the last line is exactly
 *   rollout: N requests, M non-2xx; first scale-up after S s
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = path.join(ROOT, "packages/cli/dist/main.js");
const PYTHON = process.env["AXON_BENCH_PYTHON"] ?? "/usr/bin/python3";
const API = "iris-classifier";
const BASE_LOOPS = 2;
const STEP_LOOPS = 8;
const WINDOW_S = 10;
/** Each phase's upper bound; a phase that takes longer fails the bench (never an endless loop). */
const PHASE_LIMIT_MS = 90_000;
const MAX_REQUESTS = 2_000_000;

const AUTOSCALING = `  autoscaling:
    min_replicas: 2
    max_replicas: 6
    target_replica_concurrency: 2
    window: ${WINDOW_S}s
    upscale_stabilization_period: 0s
    downscale_stabilization_period: 20s
`;

interface Daemon {
  apiUrl: string;
  token: string;
}

interface Counts {
  sent: number;
  ok: number;
  non2xx: number;
  /** Non-2xx answers while a rollout was under way. */
  duringRolls: number;
  statuses: Map<string, number>;
}

function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(1);
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

async function apiDetail(daemon: Daemon): Promise<{
  status: string;
  replicas: { requested: number; upToDate: number; stale: number };
  versions: Array<{ id: string; current: boolean; liveAt: string | null }>;
  events: Array<{ time: string; kind?: string; message: string }>;
}> {
  const response = await fetch(`${daemon.apiUrl}/v1/apis/${API}`, {
    headers: { authorization: `Bearer ${daemon.token}` },
  });
  return (await response.json()) as never;
}

/** The daemon, for `until` to say where things stood when a phase timed out. */
let current: Daemon | undefined;

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + PHASE_LIMIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const state = current === undefined ? undefined : await apiDetail(current);
      fail(
        `timed out after ${PHASE_LIMIT_MS / 1000} s waiting for ${what}; ${JSON.stringify(state?.replicas)}; last events: ${JSON.stringify(state?.events.slice(-6).map((e) => e.message))}`,
      );
    }
    await sleep(250);
  }
}

async function main(): Promise<void> {
  for (const file of [CLI, PYTHON])
    if (!existsSync(file)) fail(`missing ${file}; run \`npm run setup\``);
  const home = mkdtempSync(path.join(tmpdir(), "axon-bench-rollout-home-"));
  const project = mkdtempSync(path.join(tmpdir(), "axon-bench-rollout-"));
  cpSync(path.join(ROOT, "examples/iris-sklearn"), project, { recursive: true });
  if (!existsSync(path.join(project, "model.pkl")))
    fail("examples/iris-sklearn/model.pkl is missing; run `npm run setup`");
  const predictor = path.join(project, "predictor.py");
  writeFileSync(
    predictor,
    readFileSync(predictor, "utf8")
      .replace("import os\n", "import os\nimport time\n")
      .replace(
        "    def predict(self, payload):\n",
        "    def predict(self, payload):\n        time.sleep(0.02)\n",
      ),
  );
  const config = path.join(project, "axon.yaml");
  writeFileSync(config, `${readFileSync(config, "utf8")}${AUTOSCALING}`);
  const port = await freePort();
  const env = {
    ...process.env,
    AXON_HOME: home,
    AXON_GATEWAY_PORT: String(port),
    AXON_PYTHON: PYTHON,
  };
  const endpoint = `http://127.0.0.1:${port}/${API}`;
  const started = Date.now();
  const at = (): string => `${((Date.now() - started) / 1000).toFixed(1)}s`;

  try {
    axon(["deploy", project, "--wait"], env);
    const record = JSON.parse(readFileSync(path.join(home, "daemon.json"), "utf8")) as {
      apiUrl: string;
    };
    const daemon: Daemon = (current = {
      apiUrl: record.apiUrl,
      token: readFileSync(path.join(home, "token"), "utf8").trim(),
    });
    await until("2 ready replicas", async () =>
      (await apiDetail(daemon)).replicas.upToDate >= 2 ? true : undefined,
    );
    console.error(`bench: ${at()} iris live with 2 replicas; load: ${BASE_LOOPS} closed loops`);

    const counts: Counts = { sent: 0, ok: 0, non2xx: 0, duringRolls: 0, statuses: new Map() };
    let rolling = false;
    let loops = BASE_LOOPS;
    let stopped = false;
    const loop = async (index: number): Promise<void> => {
      while (!stopped && counts.sent < MAX_REQUESTS) {
        if (index >= loops) {
          await sleep(50);
          continue;
        }
        counts.sent++;
        let status = "error";
        try {
          const response = await fetch(endpoint, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: "[5.9,3.0,5.1,1.8]",
          });
          await response.arrayBuffer();
          status = String(response.status);
        } catch (error) {
          status = `error ${(error as Error).message}`;
        }
        if (status.startsWith("2")) counts.ok++;
        else {
          counts.non2xx++;
          if (rolling) counts.duringRolls++;
          counts.statuses.set(status, (counts.statuses.get(status) ?? 0) + 1);
        }
      }
    };
    const workers = Array.from({ length: STEP_LOOPS }, (_, i) => loop(i));

    const timeline: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const d = await apiDetail(daemon);
        timeline.push(
          `${at()} ${d.replicas.requested} requested: ${d.replicas.upToDate} ready of the current version, ${d.replicas.stale} of an older one (${loops} loops)`,
        );
        await sleep(2_000);
      }
    })();

    // (1) two code changes roll out under the load
    for (const round of [1, 2]) {
      writeFileSync(
        path.join(project, "predictor.py"),
        `${readFileSync(path.join(project, "predictor.py"), "utf8")}\n# change ${round}\n`,
      );
      rolling = true;
      axon(["deploy", project], env);
      const target = (await apiDetail(daemon)).versions.find((v) => v.current)?.id;
      await until(`rollout ${round}`, async () => {
        const d = await apiDetail(daemon);
        const current = d.versions.find((v) => v.current);
        return current?.id === target && current?.liveAt !== null && d.replicas.stale === 0
          ? true
          : undefined;
      });
      rolling = false;
      console.error(
        `bench: ${at()} rollout ${round} done; ${counts.sent} requests so far, ${counts.duringRolls} non-2xx during rolls`,
      );
    }

    // (2) the load steps up 4×: the first scale-up decision, then back down
    const stepAt = Date.now();
    loops = STEP_LOOPS;
    console.error(`bench: ${at()} load step: ${STEP_LOOPS} loops`);
    const firstUp = await until("a scale-up decision", async () => {
      const scaled = (await apiDetail(daemon)).events.find(
        (e) =>
          e.kind === "api.scaled" &&
          Date.parse(e.time) >= stepAt &&
          e.message.startsWith("scaled up"),
      );
      return scaled === undefined ? undefined : scaled;
    });
    const firstUpSeconds = (Date.parse(firstUp.time) - stepAt) / 1000;
    console.error(
      `bench: ${at()} ${firstUp.message} (${firstUpSeconds.toFixed(1)} s after the step)`,
    );
    await until("the scale-out to settle", async () => {
      const d = await apiDetail(daemon);
      return d.replicas.requested >= 4 && d.replicas.upToDate >= d.replicas.requested
        ? true
        : undefined;
    });
    loops = BASE_LOOPS;
    console.error(`bench: ${at()} load back to ${BASE_LOOPS} loops`);
    await until("a scale-in", async () =>
      (await apiDetail(daemon)).replicas.requested <= 3 ? true : undefined,
    );

    stopped = true;
    sampling = false;
    await Promise.all([...workers, sampler]);
    console.log("replica timeline:");
    for (const line of timeline) console.log(`  ${line}`);
    for (const event of (await apiDetail(daemon)).events.filter((e) => e.kind === "api.scaled")) {
      console.log(`  event: ${event.message}`);
    }
    if (counts.statuses.size > 0)
      console.log(`non-2xx: ${JSON.stringify(Object.fromEntries(counts.statuses))}`);
    console.log(
      `target: 0 non-2xx during the rolls (measured ${counts.duringRolls}); first scale-up within window + 10 s = ${WINDOW_S + 10} s`,
    );
    console.log(
      `rollout: ${counts.sent} requests, ${counts.non2xx} non-2xx; first scale-up after ${firstUpSeconds.toFixed(1)} s`,
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
