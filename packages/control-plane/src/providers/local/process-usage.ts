/**
 * What a replica's worker processes have used, from the kernel's own accounting in /proc (issue
 * 30: local cost per 1,000 predictions, to size `compute` before moving to AWS): CPU time from
 * `/proc/<pid>/stat` (utime + stime, and cutime + cstime of children it waited for), peak resident
 * memory from `VmHWM` in `/proc/<pid>/status` — the high-water mark the kernel keeps, so no peak
 * between two samples is missed (proc(5), https://man7.org/linux/man-pages/man5/proc.5.html).
 */
import { readFileSync } from "node:fs";

/**
 * Clock ticks per second of `/proc/<pid>/stat`'s times (`sysconf(_SC_CLK_TCK)`): USER_HZ, 100 on
 * every Linux architecture Node runs on.
 */
const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcessUsage {
  /** CPU seconds (user + system) of the tree. */
  cpuSeconds: number;
  /** Sum of each process's peak resident memory: an upper bound of the tree's peak. */
  peakBytes: number;
}

/** CPU time and peak memory of `pid` and its descendants (zeros for what is gone). */
export function treeUsage(pid: number): ProcessUsage {
  let cpuSeconds = 0;
  let peakBytes = 0;
  const pending = [pid];
  // Bounded like `treeResidentBytes` (compute-limits.ts): a fork bomb is not walked further.
  for (let seen = 0; pending.length > 0 && seen < 4096; seen++) {
    const next = pending.pop() as number;
    cpuSeconds += cpuSecondsOf(next);
    peakBytes += peakResidentBytes(next);
    let children = "";
    try {
      children = readFileSync(`/proc/${next}/task/${next}/children`, "utf8");
    } catch {
      // gone, or a kernel without the children file: its own usage only
    }
    for (const child of children.split(" ")) if (child.trim() !== "") pending.push(Number(child));
  }
  return { cpuSeconds, peakBytes };
}

/** utime + stime + cutime + cstime of a process, in seconds (0 when it is gone). */
export function cpuSecondsOf(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return 0;
  }
  // The command name (field 2) is in parentheses and may hold spaces: fields count from after it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14–17 of proc(5) (utime, stime, cutime, cstime) are 11–14 after the name and state.
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
  return Number.isFinite(ticks) ? ticks / CLOCK_TICKS_PER_SECOND : 0;
}

/** `VmHWM` (peak resident set) of a process in bytes (0 when it is gone). */
export function peakResidentBytes(pid: number): number {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return 0;
  }
  const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
  return match === null ? 0 : Number(match[1]) * 1024;
}
