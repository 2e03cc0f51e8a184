/**
 * Local `axon cluster up` in a real pseudo-terminal (tmux): the phases tick off in place with
 * their elapsed times while the replica count spins, and the terminal is left clean. Runs the
 * built CLI (`npm run build` first) against the stand-in control plane.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { standInControlPlane } from "../testing/starting-control-plane.js";
import { startTerminal } from "../testing/tmux.js";

/** Needs tmux (Debian's `tmux` package); without it the test is skipped, saying so. */
const noTmux = spawnSync("tmux", ["-V"]).status !== 0;
if (noTmux) console.warn("live-cluster-up.test.ts: tmux is not installed; the pty test is skipped");

describe.skipIf(noTmux)("axon cluster up in a terminal", () => {
  it("ticks off each phase with its time, spins on the replicas, then shows the info", async () => {
    // Given no cluster, and one whose replicas take a few seconds to come back
    const { env } = await standInControlPlane({ STANDIN_LISTS_PER_REPLICA: "8" });

    // When starting it in a terminal
    const terminal = await startTerminal({ args: ["cluster", "up"], env });

    // Then while the replicas start, the phases so far are ticked and the count spins
    const during = await terminal.waitFor(/replicas starting: 1 of 2 ready {2}\d+\.\ds/, 15_000);
    expect(during).toMatch(/^✓ starting the control plane \(pid \d+\) {2}0\.\ds$/m);
    expect(during).toMatch(/^✓ state opened: 2 APIs {2}\d\.\ds$/m);
    expect(during).toMatch(
      /^✓ control-plane API listening on http:\/\/127\.0\.0\.1:\d+ {2}\d\.\ds$/m,
    );
    expect(during).toMatch(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] replicas starting: 1 of 2 ready {2}\d+\.\ds$/m);

    // and at the end the spinner is gone, every phase is ticked, and the info follows
    const exit = await terminal.waitForExit(15_000);
    expect(exit.status).toBe(0);
    expect(exit.cursorVisible).toBe(true);
    expect(exit.screen).toMatch(
      /^✓ replicas ready: 2 of 2 {2}\d+\.\ds\n✓ ready: control plane http:\/\/127\.0\.0\.1:\d+, gateway http:\/\/localhost:1 {2}\d+\.\ds\n/m,
    );
    expect(exit.screen).not.toContain("replicas starting");
    expect(exit.screen).toContain("version: 0.0.0-standin");
  });
});
