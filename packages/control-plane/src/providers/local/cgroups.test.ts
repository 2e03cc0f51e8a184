/**
 * The cgroup v2 path of cgroups.ts, two ways:
 * - against a folder laid out like cgroupfs and /proc, written by the test. THIS IS NOT THE
 *   KERNEL: the files are plain files, so a write replaces what the kernel would add to or refuse,
 *   nothing is limited and no process moves. It checks what the code finds, writes and reads.
 * - against the real v2 hierarchy of this machine (root only): making a replica cgroup, a process
 *   joining it before it execs, its CPU time counted by `cpu.stat`, and its removal. On these
 *   machines memory and cpu are bound to v1, so that hierarchy offers no limit to test.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, onTestFinished, test } from "vitest";
import { probeCgroupV2, probeCgroups, ReplicaCgroup, type CgroupSupport } from "./cgroups.js";

const SERVICE = "system.slice/axon.service";

/** A root folder holding proc/self/{mountinfo,cgroup} and a cgroup2 tree, as a delegated service sees them. */
async function fakeV2Machine(controllers: string): Promise<{ root: string; own: string }> {
  const root = await mkdtemp(path.join(tmpdir(), "axon-fake-cgroupfs-"));
  onTestFinished(() => rm(root, { recursive: true, force: true }));
  await mkdir(path.join(root, "proc/self"), { recursive: true });
  await writeFile(
    path.join(root, "proc/self/mountinfo"),
    [
      "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw",
      "25 1 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot",
      "",
    ].join("\n"),
  );
  await writeFile(path.join(root, "proc/self/cgroup"), `0::/${SERVICE}\n`);
  const own = path.join(root, "sys/fs/cgroup", SERVICE);
  await mkdir(own, { recursive: true });
  await writeFile(path.join(own, "cgroup.controllers"), `${controllers}\n`);
  await writeFile(path.join(own, "cgroup.subtree_control"), "");
  await writeFile(path.join(own, "cgroup.procs"), "4242\n");
  return { root, own };
}

describe("cgroup v2 against a folder laid out like cgroupfs (not the kernel)", () => {
  test("a delegated memory and cpu controller is found from mountinfo and /proc/self/cgroup, handed down, and a replica's limits are written as v2 files", async () => {
    // Given a service whose cgroup was delegated cpu and memory (among others)
    const { root, own } = await fakeV2Machine("cpuset cpu io memory pids");

    // When the daemon probes, and a replica of 300Mi and 250m is made
    const support = probeCgroups("h1", { root, pid: 4242 });
    const cgroup = ReplicaCgroup.create(support, "r-abc123", {
      memoryBytes: 300 * 1024 * 1024,
      cpus: 0.25,
    });

    // Then v2 is chosen, with one parent for every controller under the daemon's own cgroup
    const parent = path.join(own, "axon-h1");
    expect(support).toEqual({ version: 2, memory: parent, cpu: parent, cpuacct: parent });
    // And the controllers are handed down at both levels
    expect(await readFile(path.join(own, "cgroup.subtree_control"), "utf8")).toBe("+memory +cpu");
    expect(await readFile(path.join(parent, "cgroup.subtree_control"), "utf8")).toBe(
      "+memory +cpu",
    );
    // And the replica's folder holds v2's limit files, joined through one cgroup.procs
    const dir = path.join(parent, "r-abc123");
    expect(await readFile(path.join(dir, "memory.max"), "utf8")).toBe(String(300 * 1024 * 1024));
    expect(await readFile(path.join(dir, "memory.swap.max"), "utf8")).toBe("0");
    expect(await readFile(path.join(dir, "cpu.max"), "utf8")).toBe("25000 100000");
    expect(cgroup?.procsFiles).toEqual([path.join(dir, "cgroup.procs")]);
    expect(cgroup?.limitsMemory).toBe(true);

    // When the kernel would report an OOM kill, a peak and CPU time (written here by the test)
    await writeFile(path.join(dir, "memory.events"), "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n");
    await writeFile(path.join(dir, "memory.peak"), "314572800\n");
    await writeFile(path.join(dir, "cpu.stat"), "usage_usec 1500000\nuser_usec 1400000\n");

    // Then the replica's cgroup reads them from v2's files
    expect(cgroup?.oomKills()).toBe(1);
    expect(cgroup?.peakBytes()).toBe(314572800);
    expect(cgroup?.cpuSeconds()).toBe(1.5);
  });

  test("a cgroup without memory or cpu delegated, or no cgroup2 mount, is not used for v2", async () => {
    // Given a service delegated only pids, and a machine whose mountinfo has no cgroup2
    const { root: pidsOnly } = await fakeV2Machine("pids");
    const { root: noMount } = await fakeV2Machine("cpu memory");
    await writeFile(
      path.join(noMount, "proc/self/mountinfo"),
      "22 1 0:21 / /proc rw - proc proc rw\n",
    );

    // Then v2 is not chosen for either
    expect(probeCgroupV2("h2", { root: pidsOnly })).toBeUndefined();
    expect(probeCgroupV2("h2", { root: noMount })).toBeUndefined();
  });

  test("with only the memory controller delegated, cpu is not limited and memory is", async () => {
    // Given a service delegated memory but not cpu
    const { root, own } = await fakeV2Machine("memory pids");

    // When the daemon probes and makes a replica asking for both
    const support = probeCgroupV2("h3", { root });
    const cgroup = ReplicaCgroup.create(support ?? { memory: undefined, cpu: undefined }, "r-1", {
      memoryBytes: 1024 * 1024 * 1024,
      cpus: 1,
    });

    // Then only memory.max is written, and only memory is handed down
    const dir = path.join(own, "axon-h3", "r-1");
    expect(support?.cpu).toBeUndefined();
    expect(await readFile(path.join(own, "cgroup.subtree_control"), "utf8")).toBe("+memory");
    expect(existsSync(path.join(dir, "memory.max"))).toBe(true);
    expect(existsSync(path.join(dir, "cpu.max"))).toBe(false);
    expect(cgroup?.limitsMemory).toBe(true);
  });
});

/** This process's cgroup in the real v2 hierarchy (hybrid machines mount it at …/unified). */
function realV2Own(): string | undefined {
  const mount = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" "))
    .find((fields) => fields[fields.indexOf("-") + 1] === "cgroup2")?.[4];
  const relative = readFileSync("/proc/self/cgroup", "utf8")
    .split("\n")
    .find((line) => line.startsWith("0::"))
    ?.slice(3);
  return mount === undefined || relative === undefined ? undefined : path.join(mount, relative);
}

const REAL_V2 = process.getuid?.() === 0 ? realV2Own() : undefined;

describe("cgroup v2 with the kernel", () => {
  test.skipIf(REAL_V2 === undefined)(
    "a replica cgroup in the real v2 hierarchy: a process joins it before it execs, its CPU time is counted, and it is removed once the process is gone",
    async () => {
      // Given a replica cgroup counting CPU (no controllers: this machine's v2 has none to give)
      const parent = path.join(REAL_V2 ?? "", `axon-test-${process.pid}`);
      const support: CgroupSupport = {
        version: 2,
        memory: undefined,
        cpu: undefined,
        cpuacct: parent,
      };
      const cgroup = ReplicaCgroup.create(support, "r-v2test", {
        memoryBytes: undefined,
        cpus: undefined,
      });
      onTestFinished(async () => {
        await cgroup?.remove();
        await rm(parent, { recursive: true, force: true }).catch(() => {});
      });
      const [procs] = cgroup?.procsFiles ?? [];
      if (procs === undefined) throw new Error("no cgroup made");

      // When a shell joins it as the launcher does, then execs a busy loop
      const child = spawn("/bin/sh", [
        "-c",
        'echo $$ > "$1" || exit 125; exec /bin/sh -c "while :; do :; done"',
        "join",
        procs,
      ]);
      onTestFinished(() => {
        child.kill("SIGKILL");
      });
      while ((cgroup?.cpuSeconds() ?? 0) < 0.05 && child.exitCode === null) await sleep(20);

      // Then the kernel lists it in the cgroup and counts its CPU time there
      expect(child.exitCode).toBeNull();
      expect(readFileSync(procs, "utf8").trim()).toBe(String(child.pid));
      expect(cgroup?.cpuSeconds()).toBeGreaterThanOrEqual(0.05);

      // When the replica is removed (what is left in it is killed first)
      await cgroup?.remove();

      // Then the folder is gone and the process with it
      expect(existsSync(path.dirname(procs))).toBe(false);
      await new Promise((resolve) =>
        child.exitCode !== null || child.signalCode !== null
          ? resolve(undefined)
          : child.once("exit", resolve),
      );
      expect(child.signalCode).toBe("SIGKILL");
    },
  );

  test.skipIf(REAL_V2 === undefined)(
    "the probe uses v2 exactly when this machine's v2 cgroup offers memory or cpu",
    () => {
      // Given this machine's own v2 cgroup and what it offers
      const offered = readFileSync(path.join(REAL_V2 ?? "", "cgroup.controllers"), "utf8").split(
        /\s+/,
      );
      const delegated = offered.includes("memory") || offered.includes("cpu");

      // When probed, then v2 is chosen only if it can limit something
      const v2 = probeCgroupV2(`test-${process.pid}`);
      onTestFinished(() =>
        rm(path.join(REAL_V2 ?? "", `axon-test-${process.pid}`), {
          recursive: true,
          force: true,
        }).catch(() => {}),
      );
      expect(v2 !== undefined).toBe(delegated);
    },
  );
});
