/**
 * `compute.mem` and `compute.cpu` enforced by the kernel, as Docker did for Cortex's local mode:
 * one cgroup per replica under the daemon's own cgroup. The replica's workers join it before they
 * exec (sandbox.ts's launcher), so a predictor that allocates 800 MB in `__init__` under
 * `mem: 300Mi` is killed by the kernel during start-up, and the provider reads the cgroup's
 * OOM-kill counter to say so. The cgroup is removed when the replica has stopped. It also counts
 * the replica's CPU time (`cpuSeconds`).
 *
 * Two kernel interfaces behind one class, chosen at start (`probeCgroups`):
 * - **v2** (the unified hierarchy; a systemd service with `Delegate=yes`, a user session's
 *   `user@.service`): found from /proc/self/mountinfo (the `cgroup2` mount) and /proc/self/cgroup
 *   (`0::/path`, the daemon's own cgroup), used when that cgroup's `cgroup.controllers` offers
 *   `memory` or `cpu`. Replicas go in `<own>/axon-<tag>/<id>/`, with the controllers enabled in
 *   each level's `cgroup.subtree_control`; since a cgroup with processes cannot enable
 *   controllers for its children (the "no internal processes" rule), the daemon first moves
 *   itself into a leaf `<own>/axon-<tag>-daemon/` when it must. Files: `memory.max`,
 *   `memory.swap.max`, `memory.events` (`oom_kill`), `memory.peak`, `cpu.max`, `cpu.stat`
 *   (`usage_usec`), `cgroup.procs` — Documentation/admin-guide/cgroup-v2.rst.
 * - **v1** (a hierarchy per controller; these machines, as root): the `memory`, `cpu` and
 *   `cpuacct` hierarchies when writable. Files: memory.limit_in_bytes /
 *   memory.memsw.limit_in_bytes / memory.oom_control / memory.max_usage_in_bytes, cpu.cfs_period_us
 *   / cpu.cfs_quota_us, cpuacct.usage — Documentation/admin-guide/cgroup-v1/memory.rst,
 *   scheduler/sched-bwc.rst and cgroup-v1/cpuacct.rst.
 *
 * Where neither is writable, compute-limits.ts's measuring is the fallback.
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** CFS bandwidth period; a quota of `cpu × period` gives `cpu` CPUs' worth per period. */
const CFS_PERIOD_US = 100_000;

/**
 * Where replica cgroups are made on this machine. In v1 each controller has its own hierarchy
 * (the folders differ); in v2 they are one folder. Undefined: not writable here.
 */
export interface CgroupSupport {
  /** Default 1 (v1). */
  version?: 1 | 2;
  memory: string | undefined;
  cpu: string | undefined;
  /** Where each replica's CPU time is counted (v1 `cpuacct`; v2 the same folder's `cpu.stat`). */
  cpuacct?: string | undefined;
}

/** Where the kernel's files are read: `/` on a machine, a folder laid out like it in tests. */
export interface CgroupProbeOptions {
  root?: string;
  /** The process that moves into a leaf on v2 when it must (default: this one). */
  pid?: number;
}

const NONE: CgroupSupport = { memory: undefined, cpu: undefined };

/**
 * The replica cgroups' parent folders, `<own>/axon-<tag>/`: v2 where the daemon's own cgroup was
 * delegated the memory or cpu controller, else the writable v1 hierarchies, else none.
 */
export function probeCgroups(tag: string, options: CgroupProbeOptions = {}): CgroupSupport {
  return probeCgroupV2(tag, options) ?? probeCgroupV1(tag, options);
}

/** The v1 hierarchies where `<own>/axon-<tag>/` can be made (from /proc/self/cgroup). */
export function probeCgroupV1(tag: string, options: CgroupProbeOptions = {}): CgroupSupport {
  const root = options.root ?? "/";
  let own: string;
  try {
    own = readFileSync(path.join(root, "proc/self/cgroup"), "utf8");
  } catch {
    return NONE;
  }
  const pathOf = (controller: string): string | undefined => {
    for (const line of own.split("\n")) {
      const [, controllers, where] = line.split(":");
      if (controllers?.split(",").includes(controller) && where !== undefined) {
        return path.join(root, "sys/fs/cgroup", controller, where, `axon-${tag}`);
      }
    }
    return undefined;
  };
  return {
    version: 1,
    memory: writableParent(pathOf("memory")),
    cpu: writableParent(pathOf("cpu")),
    cpuacct: writableParent(pathOf("cpuacct")),
  };
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

/**
 * The daemon's own v2 cgroup when it can hold replica cgroups with the memory or cpu controller;
 * undefined otherwise (no cgroup2 mount, no controller delegated, or not writable).
 */
export function probeCgroupV2(
  tag: string,
  options: CgroupProbeOptions = {},
): CgroupSupport | undefined {
  const root = options.root ?? "/";
  try {
    const mountPoint = readFileSync(path.join(root, "proc/self/mountinfo"), "utf8")
      .split("\n")
      .map((line) => line.split(" "))
      // Fields: id parent dev root mount-point options [optional…] - fstype source super-options
      .find((fields) => fields[fields.indexOf("-") + 1] === "cgroup2")?.[4];
    const relative = readFileSync(path.join(root, "proc/self/cgroup"), "utf8")
      .split("\n")
      .find((line) => line.startsWith("0::"))
      ?.slice(3);
    if (mountPoint === undefined || relative === undefined) return undefined;
    const own = path.join(root, mountPoint, relative);
    const offered = words(path.join(own, "cgroup.controllers"));
    const wanted = ["memory", "cpu"].filter((c) => offered.includes(c));
    if (wanted.length === 0) return undefined;
    if (!enableControllers(own, wanted)) {
      // The daemon's cgroup holds processes (the daemon): it moves into a leaf of its own, then
      // its cgroup may hand the controllers down.
      const pid = String(options.pid ?? process.pid);
      const leaf = path.join(own, `axon-${tag}-daemon`);
      mkdirSync(leaf, { recursive: true });
      writeFileSync(path.join(leaf, "cgroup.procs"), pid);
      if (!enableControllers(own, wanted)) {
        // Other processes share the cgroup (a login session's scope): back to where it was.
        writeFileSync(path.join(own, "cgroup.procs"), pid);
        return undefined;
      }
    }
    const parent = path.join(own, `axon-${tag}`);
    ensureV2Parent(parent, wanted);
    return {
      version: 2,
      memory: wanted.includes("memory") ? parent : undefined,
      cpu: wanted.includes("cpu") ? parent : undefined,
      cpuacct: parent,
    };
  } catch {
    return undefined;
  }
}

/** The words of a cgroup file (`memory cpu`), leading `+` dropped; [] when it cannot be read. */
function words(file: string): string[] {
  try {
    return readFileSync(file, "utf8")
      .split(/\s+/)
      .filter((w) => w !== "")
      .map((w) => w.replace(/^\+/, ""));
  } catch {
    return [];
  }
}

/** Hands `controllers` down to `dir`'s children; false when the kernel refuses (EBUSY). */
function enableControllers(dir: string, controllers: string[]): boolean {
  const file = path.join(dir, "cgroup.subtree_control");
  if (controllers.every((c) => words(file).includes(c))) return true;
  try {
    writeFileSync(file, controllers.map((c) => `+${c}`).join(" "));
    return true;
  } catch {
    return false;
  }
}

/** Makes the v2 parent of replica cgroups with the controllers handed down to them. */
function ensureV2Parent(parent: string, controllers: string[]): void {
  mkdirSync(parent, { recursive: true });
  if (!enableControllers(parent, controllers)) {
    throw new Error(`cannot enable ${controllers.join(", ")} in ${parent}/cgroup.subtree_control`);
  }
}

/** One replica's cgroups; see the module comment. */
export class ReplicaCgroup {
  readonly #version: 1 | 2;
  readonly #dirs: string[];
  readonly #memoryDir: string | undefined;
  readonly #accountingDir: string | undefined;

  private constructor(
    version: 1 | 2,
    dirs: string[],
    memoryDir: string | undefined,
    accountingDir: string | undefined,
  ) {
    this.#version = version;
    this.#dirs = dirs;
    this.#memoryDir = memoryDir;
    this.#accountingDir = accountingDir;
  }

  /**
   * Makes `<parent>/<id>` with the limits set (and CPU time counted); undefined when there is
   * nowhere to make it. Throws when a limit cannot be written (the replica must not run
   * unlimited while `cluster info` says the kernel enforces it).
   */
  static create(
    support: CgroupSupport,
    id: string,
    limits: { memoryBytes: number | undefined; cpus: number | undefined },
  ): ReplicaCgroup | undefined {
    const memory = support.memory !== undefined && limits.memoryBytes !== undefined;
    const cpu = support.cpu !== undefined && limits.cpus !== undefined && limits.cpus > 0;
    // The kernel's minimum quota is 1 ms.
    const quota = Math.max(1_000, Math.round((limits.cpus ?? 0) * CFS_PERIOD_US));
    if (support.version === 2) {
      const parent = support.memory ?? support.cpu ?? support.cpuacct;
      if (parent === undefined) return undefined;
      const controllers = [support.memory && "memory", support.cpu && "cpu"].filter(
        (c): c is string => typeof c === "string",
      );
      ensureV2Parent(parent, controllers); // gone if the daemon's stop removed it meanwhile
      const dir = path.join(parent, id);
      mkdirSync(dir, { recursive: true });
      if (memory) {
        writeFileSync(path.join(dir, "memory.max"), String(limits.memoryBytes));
        // v2's memory.max leaves swap out; v1's memsw limit covered it: no swap, as there.
        try {
          writeFileSync(path.join(dir, "memory.swap.max"), "0");
        } catch {
          // no swap accounting on this kernel
        }
      }
      if (cpu) writeFileSync(path.join(dir, "cpu.max"), `${quota} ${CFS_PERIOD_US}`);
      return new ReplicaCgroup(2, [dir], memory ? dir : undefined, dir);
    }
    const dirs: string[] = [];
    const make = (parent: string): string => {
      const dir = path.join(parent, id);
      mkdirSync(dir, { recursive: true });
      dirs.push(dir);
      return dir;
    };
    let memoryDir: string | undefined;
    if (memory && support.memory !== undefined) {
      memoryDir = make(support.memory);
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
    if (cpu && support.cpu !== undefined) {
      const cpuDir = make(support.cpu);
      writeFileSync(path.join(cpuDir, "cpu.cfs_period_us"), String(CFS_PERIOD_US));
      writeFileSync(path.join(cpuDir, "cpu.cfs_quota_us"), String(quota));
    }
    const accountingDir = support.cpuacct === undefined ? undefined : make(support.cpuacct);
    return dirs.length === 0 ? undefined : new ReplicaCgroup(1, dirs, memoryDir, accountingDir);
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
    const file = this.#version === 2 ? "memory.events" : "memory.oom_control";
    try {
      const text = readFileSync(path.join(this.#memoryDir, file), "utf8");
      return Number(/^oom_kill (\d+)/m.exec(text)?.[1] ?? 0);
    } catch {
      return 0;
    }
  }

  /** The most memory the replica's processes held at once (bytes; 0 without a memory cgroup). */
  peakBytes(): number {
    if (this.#memoryDir === undefined) return 0;
    const file = this.#version === 2 ? "memory.peak" : "memory.max_usage_in_bytes";
    try {
      return Number(readFileSync(path.join(this.#memoryDir, file), "utf8"));
    } catch {
      return 0;
    }
  }

  /** CPU time the replica's processes have used, in seconds (undefined: not counted here). */
  cpuSeconds(): number | undefined {
    if (this.#accountingDir === undefined) return undefined;
    try {
      if (this.#version === 2) {
        const stat = readFileSync(path.join(this.#accountingDir, "cpu.stat"), "utf8");
        return Number(/^usage_usec (\d+)/m.exec(stat)?.[1] ?? 0) / 1e6;
      }
      return Number(readFileSync(path.join(this.#accountingDir, "cpuacct.usage"), "utf8")) / 1e9;
    } catch {
      return undefined;
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

/** The distinct parent folders of `support` (v2's are one folder). */
function parentsOf(support: CgroupSupport): string[] {
  return [...new Set([support.memory, support.cpu, support.cpuacct])].filter(
    (p): p is string => p !== undefined,
  );
}

/** Removes replica cgroups a previous daemon left behind (after it was killed). */
export function removeStaleCgroups(support: CgroupSupport): void {
  for (const parent of parentsOf(support)) {
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
  for (const parent of parentsOf(support)) {
    try {
      rmdirSync(parent);
    } catch {
      // not empty: removed by the next daemon's start, or the one after
    }
  }
}
