import { spawnSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { residentBytes } from "./compute-limits.js";
import { cpuSecondsOf, peakResidentBytes, treeUsage } from "./process-usage.js";

describe("process usage from /proc", () => {
  test("a process that burned CPU shows it, and its peak memory is at least what it holds now", () => {
    // Given this process after a second of busy work
    const started = process.cpuUsage();
    const until = Date.now() + 300;
    let spin = 0;
    while (Date.now() < until) spin += Math.sqrt(spin + 1);
    const used = process.cpuUsage(started);

    // When its usage is read from /proc
    const cpu = cpuSecondsOf(process.pid);
    const tree = treeUsage(process.pid);

    // Then the CPU seconds cover at least what Node itself counted for the busy loop (to a tick)
    expect(cpu).toBeGreaterThanOrEqual((used.user + used.system) / 1e6 - 0.02);
    expect(tree.cpuSeconds).toBeGreaterThanOrEqual(cpu);
    // And the kernel's high-water mark is never below the resident memory read before it
    const resident = residentBytes(process.pid);
    expect(peakResidentBytes(process.pid)).toBeGreaterThanOrEqual(resident);
    expect(spin).toBeGreaterThan(0);
  });

  test("a process that is gone counts zero", () => {
    const gone = spawnSync("true").pid ?? 0;
    expect(cpuSecondsOf(gone)).toBe(0);
    expect(peakResidentBytes(gone)).toBe(0);
    expect(treeUsage(gone)).toEqual({ cpuSeconds: 0, peakBytes: 0 });
  });
});
