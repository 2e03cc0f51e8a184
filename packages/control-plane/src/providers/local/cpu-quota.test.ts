/**
 * `compute.cpu` as a CPU quota (compute-limits.ts): on by default exactly where the config wrote
 * the field (the version's artifact says so), measured from the kernel's own CPU accounting of the
 * replica's cgroup while a predictor spins. Needs writable cpu and cpu-accounting cgroups (root
 * on these machines); skipped elsewhere.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseApiConfig } from "@axon/config";
import { describe, expect, onTestFinished, test } from "vitest";
import { RecordingSink } from "../../events/event-sink.js";
import type { Artifact } from "../provider.js";
import { ApiLogs } from "./api-logs.js";
import { probeCgroups } from "./cgroups.js";
import { LocalProvider } from "./local-provider.js";

const FIXTURES = fileURLToPath(new URL("../../replica/fixtures/", import.meta.url));
const PYTHON = process.env.AXON_TEST_PYTHON ?? "python3";
const SUPPORT = probeCgroups("cpu-quota-test");
const CAN_MEASURE = SUPPORT.cpu !== undefined && SUPPORT.cpuacct !== undefined;

async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** The folder of `pid`'s cgroup in the hierarchy holding `controller` (v1 or v2). */
function cgroupOf(pid: number, controller: string): string {
  const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n");
  const v1 = lines.find((l) => l.split(":")[1]?.split(",").includes(controller));
  if (v1 !== undefined) return path.join("/sys/fs/cgroup", controller, v1.split(":")[2] ?? "");
  const v2 = lines.find((l) => l.startsWith("0::"));
  return path.join("/sys/fs/cgroup", v2?.slice(3) ?? "");
}

/** CPU seconds the kernel counted for the cgroup (v1 cpuacct.usage, v2 cpu.stat usage_usec). */
function cpuSecondsOf(dir: string): number {
  try {
    return Number(readFileSync(path.join(dir, "cpuacct.usage"), "utf8")) / 1e9;
  } catch {
    const stat = readFileSync(path.join(dir, "cpu.stat"), "utf8");
    return Number(/^usage_usec (\d+)/m.exec(stat)?.[1] ?? 0) / 1e6;
  }
}

/** Deploys the spinning predictor with `compute` as written (or not) and measures it over 3 s. */
async function measureBusyReplica(computeYaml: string, cpuWritten: boolean) {
  const home = await mkdtemp(path.join(tmpdir(), "axon-cpuquota-"));
  const events = new RecordingSink();
  const stopping = new AbortController();
  const provider = new LocalProvider({
    home,
    projectDir: async () => FIXTURES,
    events,
    logs: new ApiLogs(home),
    python: { path: PYTHON, source: "env" },
    gatewayPort: 0,
    isolatedEnvironments: false,
    envGcGraceMs: 3_600_000,
    stopSignal: stopping.signal,
  });
  onTestFinished(async () => {
    stopping.abort();
    await provider.shutdown();
    await rm(home, { recursive: true, force: true });
  });
  await provider.start(stopping.signal);
  const yaml = `- name: busy\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: busy_predictor.py\n${computeYaml}`;
  const [spec] = parseApiConfig(yaml, "axon.yaml").apis;
  if (spec === undefined) throw new Error("no spec");
  // The artifact as the deploy records it: `cpuWritten` where the config wrote compute.cpu.
  const artifact: Artifact = cpuWritten ? { envKey: null, cpuWritten: true } : { envKey: null };
  await provider.apply(
    {
      name: "busy",
      version: { id: "v1", spec, bundle: "b", artifact },
      replicas: 1,
      secretEnv: {},
    },
    stopping.signal,
  );
  await waitFor("the replica to be ready", () =>
    events.events.some((e) => e.kind === "replica.ready"),
  );
  const [pid] = provider.workerPids("busy");
  if (pid === undefined) throw new Error("no worker");
  const accounting = cgroupOf(pid, "cpuacct");
  const before = cpuSecondsOf(accounting);
  await sleep(3_000);
  const share = (cpuSecondsOf(accounting) - before) / 3;
  return {
    share,
    accounting,
    cpuDir: cgroupOf(pid, "cpu"),
    notes: provider.checkSpec(spec, artifact).notes,
  };
}

describe("compute.cpu as a CPU quota", () => {
  test.skipIf(!CAN_MEASURE)(
    "with cpu: 250m written, a spinning predictor gets at most ~30% of one CPU, by the kernel's count",
    async () => {
      // Given a predictor that spins a CPU from __init__, under a config that wrote cpu: 250m
      // When it has run for 3 s
      const { share, accounting, cpuDir, notes } = await measureBusyReplica(
        "  compute:\n    cpu: 250m\n",
        true,
      );

      // Then its replica's own cgroup counted at most ~0.3 CPU-seconds per second, under a quota
      // of a quarter CPU; and nothing says compute.cpu is unenforced
      expect(path.basename(accounting)).toMatch(/^r-[0-9a-f]{6}$/);
      expect(readFileSync(path.join(cpuDir, "cpu.cfs_quota_us"), "utf8").trim()).toBe("25000");
      expect(share).toBeGreaterThan(0.05);
      expect(share).toBeLessThanOrEqual(0.3);
      expect(notes.filter((n) => n.includes("compute.cpu"))).toEqual([]);
    },
    30_000,
  );

  test.skipIf(!CAN_MEASURE)(
    "without compute.cpu in the config, the default 200m is not enforced: the same predictor uses more than the quota would allow, and get says why",
    async () => {
      // Given the same predictor under a config that does not set compute.cpu (200m by default)
      // When it has run for 3 s
      const { share, accounting, cpuDir, notes } = await measureBusyReplica("", false);

      // Then its replica is counted but has no quota of its own, and it used more than 200m
      expect(path.basename(accounting)).toMatch(/^r-[0-9a-f]{6}$/);
      expect(path.basename(cpuDir)).not.toMatch(/^r-/);
      expect(share).toBeGreaterThan(0.3);
      expect(notes).toContain(
        "compute.cpu 200m is the default (the config does not set it) and is not enforced: replicas may use every CPU; set compute.cpu for the kernel to hold each replica to it with a CPU quota",
      );
    },
    30_000,
  );
});
