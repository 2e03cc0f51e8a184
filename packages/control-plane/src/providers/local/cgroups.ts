/**
 * `compute.mem` and `compute.cpu` enforced by the kernel, as Docker did for Cortex's local mode:
 * one cgroup per replica under the daemon's own cgroup, in the v1 `memory` and `cpu` hierarchies
 * when they are writable (root on these machines). The replica's workers join it before they exec
 * (sandbox.ts's launcher), so a predictor that allocates 800 MB in `__init__` under `mem: 300Mi`
 * is killed by the kernel during start-up, and the provider reads the cgroup's OOM-kill counter to
 * say so. The cgroup is removed when the replica has stopped.
 *
 * cgroup v2 (a user session's delegated `user@.service` subtree) is not used yet; there, and where
 * nothing is writable, compute-limits.ts's measuring is the fallback.
 *
 * Files: memory.limit_in_bytes / memory.memsw.limit_in_bytes / memory.oom_control /
 * memory.max_usage_in_bytes, and cpu.cfs_period_us / cpu.cfs_quota_us — the kernel's cgroup-v1
 * documentation (Documentation/admin-guide/cgroup-v1/memory.rst and scheduler/sched-bwc.rst).
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const V1_ROOT = "/sys/fs/cgroup";
/** CFS bandwidth period; a quota of `cpu × period` gives `cpu` CPUs' worth per period. */
const CFS_PERIOD_US = 100_000;

/** The writable v1 hierarchies of this machine, with the parent cgroup of every replica's. */
export interface CgroupSupport {
  memory: string | undefined;
  cpu: string | undefined;
}

/**
 * Finds the daemon's own cgroup in the v1 `memory` and `cpu` hierarchies (from
 * /proc/self/cgroup) and checks that a child can be made there: `<own>/axon-<tag>/`.
 */
export function probeCgroups(tag: string): CgroupSupport {
  let own: string;
  try {
    own = readFileSync("/proc/self/cgroup", "utf8");
  } catch {
    return { memory: undefined, cpu: undefined };
  }
  const pathOf = (controller: string): string | undefined => {
    for (const line of own.split("\n")) {
      const [, controllers, where] = line.split(":");
      if (controllers?.split(",").includes(controller) && where !== undefined) {
        return path.join(V1_ROOT, controller, where, `axon-${tag}`);
      }
    }
    return undefined;
  };
  return { memory: writableParent(pathOf("memory")), cpu: writableParent(pathOf("cpu")) };
}

function writableParent(dir: string | undefined): string | undefined {
  if (dir === undefined) return undefined;
  try {
    mkdirSync(dir, { recursive: true });
    const probe = path.join(dir, `probe-${process.pid}`);
    mkdirSync(probe);
    rmdirSync(probe);
    // Made again by the first replica's cgroup: a probe leaves nothing behind.
    try {
      rmdirSync(dir);
    } catch {
      // holds replica cgroups (another daemon of this home is starting): keep it
    }
    return dir;
  } catch {
    return undefined;
  }
}

/** One replica's cgroups; see the module comment. */
export class ReplicaCgroup {
  readonly #dirs: string[];
  readonly #memoryDir: string | undefined;

  private constructor(dirs: string[], memoryDir: string | undefined) {
    this.#dirs = dirs;
    this.#memoryDir = memoryDir;
  }

  /**
   * Makes `<parent>/<id>` with the limits set; undefined when there is nothing to enforce or
   * nowhere to do it. Throws when a limit cannot be written (the replica must not run unlimited
   * while `cluster info` says the kernel enforces it).
   */
  static create(
    support: CgroupSupport,
    id: string,
    limits: { memoryBytes: number | undefined; cpus: number | undefined },
  ): ReplicaCgroup | undefined {
    const dirs: string[] = [];
    let memoryDir: string | undefined;
    if (support.memory !== undefined && limits.memoryBytes !== undefined) {
      memoryDir = path.join(support.memory, id);
      mkdirSync(memoryDir, { recursive: true });
      dirs.push(memoryDir);
      writeFileSync(path.join(memoryDir, "memory.limit_in_bytes"), String(limits.memoryBytes));
      // With swap accounting the limit covers swap too (memsw must be ≥ the memory limit, so it
      // is written second); without it the file is absent and memory alone is limited.
      try {
        writeFileSync(
          path.join(memoryDir, "memory.memsw.limit_in_bytes"),
          String(limits.memoryBytes),
        );
      } catch {
        // no swap accounting on this kernel
      }
    }
    if (support.cpu !== undefined && limits.cpus !== undefined && limits.cpus > 0) {
      const cpuDir = path.join(support.cpu, id);
      mkdirSync(cpuDir, { recursive: true });
      dirs.push(cpuDir);
      writeFileSync(path.join(cpuDir, "cpu.cfs_period_us"), String(CFS_PERIOD_US));
      // The kernel's minimum quota is 1 ms.
      const quota = Math.max(1_000, Math.round(limits.cpus * CFS_PERIOD_US));
      writeFileSync(path.join(cpuDir, "cpu.cfs_quota_us"), String(quota));
    }
    return dirs.length === 0 ? undefined : new ReplicaCgroup(dirs, memoryDir);
  }

  /** The `cgroup.procs` files a worker writes its pid to before it execs. */
  get procsFiles(): string[] {
    return this.#dirs.map((dir) => path.join(dir, "cgroup.procs"));
  }

  get limitsMemory(): boolean {
    return this.#memoryDir !== undefined;
  }

  /** How many processes the kernel's OOM killer ended in this cgroup (0 without a memory one). */
  oomKills(): number {
    if (this.#memoryDir === undefined) return 0;
    try {
      const text = readFileSync(path.join(this.#memoryDir, "memory.oom_control"), "utf8");
      return Number(/^oom_kill (\d+)/m.exec(text)?.[1] ?? 0);
    } catch {
      return 0;
    }
  }

  /** The most memory the replica's processes held at once (bytes; 0 without a memory cgroup). */
  peakBytes(): number {
    if (this.#memoryDir === undefined) return 0;
    try {
      return Number(readFileSync(path.join(this.#memoryDir, "memory.max_usage_in_bytes"), "utf8"));
    } catch {
      return 0;
    }
  }

  /**
   * Removes the cgroups once the replica has stopped. What is still in them is left of it (the
   * sandbox's inner processes end a moment after the one spawned, by their parent-death signal;
   * a process a predictor started may not end at all): it is killed, and the removal retried for
   * up to REMOVE_WAIT_MS, since the kernel refuses to remove a cgroup that holds a process.
   */
  async remove(): Promise<void> {
    const deadline = Date.now() + REMOVE_WAIT_MS;
    let left = [...this.#dirs];
    while (left.length > 0) {
      left = left.filter((dir) => !tryRemove(dir));
      if (left.length === 0 || Date.now() > deadline) return;
      await sleep(REMOVE_RETRY_MS);
    }
  }
}

/** How long `remove` keeps trying (a busy cgroup is removed at the next daemon start). */
const REMOVE_WAIT_MS = 3_000;
const REMOVE_RETRY_MS = 25;

/** Kills what is left in `dir` and removes it; true once it is gone. */
function tryRemove(dir: string): boolean {
  let procs = "";
  try {
    procs = readFileSync(path.join(dir, "cgroup.procs"), "utf8");
  } catch {
    return true; // already gone
  }
  for (const pid of procs.split("\n")) {
    if (pid.trim() === "") continue;
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // exited meanwhile
    }
  }
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

/** Removes replica cgroups a previous daemon left behind (after it was killed). */
export function removeStaleCgroups(support: CgroupSupport): void {
  for (const parent of [support.memory, support.cpu]) {
    if (parent === undefined) continue;
    let names: string[];
    try {
      names = readdirSync(parent);
    } catch {
      continue;
    }
    // cgroupfs lists control files and child cgroups alike; replica cgroups are named r-….
    // What is still in them was a previous daemon's replica of this home: ended with it.
    for (const name of names.filter((n) => n.startsWith("r-"))) tryRemove(path.join(parent, name));
  }
}

/** Removes the daemon's parent cgroups when it stops (left when a replica's could not go). */
export function removeCgroupParents(support: CgroupSupport): void {
  for (const parent of [support.memory, support.cpu]) {
    if (parent === undefined) continue;
    try {
      rmdirSync(parent);
    } catch {
      // not empty: removed by the next daemon's start, or the one after
    }
  }
}
