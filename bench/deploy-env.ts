/**
 * Deploy time of the iris example with a cold and a warm Python environment, as ratios to a deploy
 * without requirements.txt (medians of 3, measured in one run against one daemon).
 *
 *   npm run bench:deploy-env        (after `npm run setup`)
 *
 * Each sample is `axon deploy --wait` of a fresh copy of examples/iris-sklearn followed by its first
 * successful prediction, then `axon delete`. Cold: requirements.txt differs each time (a comment
 * line), so a new environment is built (pip resolves scikit-learn from the base interpreter:
 * offline). Warm: the same requirements.txt as an existing environment, so no pip runs.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CLI = path.join(REPO, "packages/cli/dist/main.js");
const RUNS = 3;
const home = mkdtempSync(path.join(os.tmpdir(), "axon-bench-env-"));
const port = 20000 + Math.floor(Math.random() * 20000);
const env = {
  ...process.env,
  AXON_HOME: home,
  AXON_GATEWAY_PORT: String(port),
  AXON_PYTHON: process.env.AXON_PYTHON ?? "/usr/bin/python3",
  PIP_NO_INDEX: "1",
};

function axon(...args: string[]): string {
  return execFileSync(process.execPath, [CLI, ...args], {
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

async function sample(requirements: string | null): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "axon-bench-project-"));
  cpSync(path.join(REPO, "examples/iris-sklearn"), dir, { recursive: true });
  if (requirements !== null) writeFileSync(path.join(dir, "requirements.txt"), requirements);
  const start = performance.now();
  axon("deploy", dir, "--wait");
  const response = await fetch(`http://localhost:${port}/iris-classifier`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: "[5.9,3.0,5.1,1.8]",
  });
  const answer = await response.text();
  const elapsed = performance.now() - start;
  if (answer !== "virginica") throw new Error(`unexpected answer ${answer}`);
  axon("delete", "iris-classifier", "--yes");
  rmSync(dir, { recursive: true, force: true });
  return elapsed;
}

const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

try {
  axon("cluster", "up");
  await sample(null); // warm-up: imports cached by the OS, daemon paths hot
  const plain: number[] = [];
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    plain.push(await sample(null));
    cold.push(await sample(`# cold run ${i} ${Date.now()}\nscikit-learn\n`));
    warm.push(await sample("scikit-learn\n"));
  }
  const base = median(plain);
  const row = (name: string, xs: number[]): string =>
    `${name.padEnd(34)} ${median(xs).toFixed(0).padStart(6)} ms   ${(median(xs) / base).toFixed(2)}×   (runs: ${xs.map((x) => x.toFixed(0)).join(", ")})`;
  console.log(`deploy --wait → first prediction, iris example, median of ${RUNS}`);
  console.log(row("no requirements.txt", plain));
  console.log(row("requirements.txt, cold environment", cold));
  console.log(row("requirements.txt, warm environment", warm));
} finally {
  try {
    axon("cluster", "down", "--yes");
  } catch {
    // already down
  }
  rmSync(home, { recursive: true, force: true });
}
