/**
 * The daemon's start-up phases in `$AXON_HOME/startup.json`, which `axon cluster up` shows as
 * they come: the real daemon and local provider (gateway and API on free ports), no APIs.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { Daemon } from "./daemon.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("the daemon's start-up phases", () => {
  test("are written as they happen, with the daemon's and its supervisor's pids, and removed on stop", async () => {
    // Given a fresh home
    const home = mkdtempSync(path.join(os.tmpdir(), "axon-startup-"));
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    const daemon = new Daemon({
      home,
      apiPort: 0,
      gatewayPort: 0,
      python: { path: "python3", source: "default" },
      isolatedEnvironments: false,
      envGcGraceMs: 3_600_000,
      onEvent: () => {},
      supervisorPid: 4242,
    });
    cleanups.push(() => daemon.stop("test finished"));

    // When it starts
    const before = Date.now();
    const record = await daemon.start();

    // Then startup.json names it and holds each phase, in order, timed
    const file = path.join(home, "startup.json");
    const progress = JSON.parse(readFileSync(file, "utf8")) as {
      pid: number;
      supervisorPid: number;
      phases: { at: string; text: string }[];
    };
    expect(progress.pid).toBe(process.pid);
    expect(progress.supervisorPid).toBe(4242);
    expect(progress.phases.map((phase) => phase.text)).toEqual([
      "state opened: 0 APIs",
      expect.stringMatching(/^gateway listening on http:\/\/localhost:\d+, python .+$/),
      `control-plane API listening on ${record.apiUrl}`,
    ]);
    const times = progress.phases.map((phase) => Date.parse(phase.at));
    expect(times[0]).toBeGreaterThanOrEqual(before - 1);
    expect(times).toEqual([...times].sort((a, b) => a - b));

    // and a stop takes the file away with daemon.json
    await daemon.stop("test");
    expect(existsSync(file)).toBe(false);
  });
});
