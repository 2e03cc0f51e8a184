/**
 * The live views in a real pseudo-terminal (tmux): what the screen shows, that Ctrl-C ends them
 * with 130 and leaves the terminal clean (cursor shown, alternate screen left), and that a resize
 * redraws. They run the built CLI (`npm run build` first) against the fake control plane.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { makeApiDetail } from "../testing/fake-control-plane.js";
import { makeIrisProject, startFakeDaemon } from "../testing/fixtures.js";
import { startTerminal } from "../testing/tmux.js";

/** These need tmux (Debian's `tmux` package); without it they are skipped, saying so. */
const noTmux = spawnSync("tmux", ["-V"]).status !== 0;
if (noTmux) console.warn("live-views.test.ts: tmux is not installed; the pty tests are skipped");

describe.skipIf(noTmux)("axon get --watch in a terminal", () => {
  it("redraws the api in place, follows a resize, and Ctrl-C restores the screen", async () => {
    // Given a live api that has served requests
    const daemon = await startFakeDaemon();
    const api = makeApiDetail("iris-classifier", `${daemon.url}/iris-classifier`, "live");
    api.metrics = {
      requests: { "2XX": 1520, "4XX": 0, "5XX": 3 },
      avgLatencyMs: 2.31,
      p99LatencyMs: 5.12,
      inFlight: 0,
    };
    api.events = [{ time: new Date().toISOString(), type: "info", message: "created version v-1" }];
    daemon.apis.set("iris-classifier", api);

    // When watching it in a 100×30 terminal
    const terminal = await startTerminal({
      args: ["get", "iris-classifier", "--watch"],
      env: daemon.env,
    });
    const screen = await terminal.waitFor("created version v-1");

    // Then the screen shows its numbers and events
    expect(screen).toMatch(/^axon get --watch {2}\d\d:\d\d:\d\d · every 1s · Ctrl-C to stop/);
    expect(screen).toContain("iris-classifier   live   ");
    expect(screen).toContain("replicas    1 ready of 1 requested");
    expect(screen).toContain("responses   1520 ok (2XX) · 3 server errors (5XX)");

    // When the terminal shrinks to 60 columns
    await terminal.resize(60, 30);
    const narrow = await terminal.waitFor(/^p99 .*\n/m);

    // Then it is redrawn to fit
    expect(narrow.split("\n").every((line) => line.length <= 60)).toBe(true);
    expect(narrow).toContain("events");

    // When Ctrl-C is pressed
    await terminal.press("C-c");
    const exit = await terminal.waitForExit();

    // Then it exits 130, the watch screen is gone and the cursor is back
    expect(exit.status).toBe(130);
    expect(exit.alternateScreen).toBe(false);
    expect(exit.cursorVisible).toBe(true);
    expect(exit.screen).not.toContain("Ctrl-C to stop");
  });
});

describe.skipIf(noTmux)("colours and dumb terminals", () => {
  it("NO_COLOR keeps the live view but draws it without colours or attributes", async () => {
    // Given a live api
    const daemon = await startFakeDaemon();
    daemon.apis.set("iris", makeApiDetail("iris", `${daemon.url}/iris`, "live"));

    // When watching it with NO_COLOR, and again without
    const plain = await startTerminal({
      args: ["get", "-w"],
      env: { ...daemon.env, NO_COLOR: "1" },
    });
    const coloured = await startTerminal({ args: ["get", "-w"], env: daemon.env });
    await plain.waitFor("req/s, last 2m");
    await coloured.waitFor("req/s, last 2m");

    // Then only the second screen carries SGR sequences (green "live", bold header)
    expect(await plain.styledScreen()).not.toContain("\u001b[");
    expect(await coloured.styledScreen()).toContain("\u001b[");
    await plain.press("C-c");
    await coloured.press("C-c");
    expect((await plain.waitForExit()).status).toBe(130);
    expect((await coloured.waitForExit()).status).toBe(130);
  });

  it("TERM=dumb gets the plain view instead, and Ctrl-C still exits 130", async () => {
    // Given a live api
    const daemon = await startFakeDaemon();
    daemon.apis.set("iris", makeApiDetail("iris", `${daemon.url}/iris`, "live"));

    // When watching it on a dumb terminal
    const terminal = await startTerminal({
      args: ["get", "iris", "-w"],
      env: { ...daemon.env, TERM: "dumb" },
    });
    const screen = await terminal.waitFor("example curl:");

    // Then it is the plain detail view, with no live header
    expect(screen).toMatch(/^status {3}up-to-date {3}requested {3}last update\nlive /);
    expect(screen).not.toContain("Ctrl-C to stop");
    await terminal.press("C-c");
    expect((await terminal.waitForExit()).status).toBe(130);
  });
});

describe.skipIf(noTmux)("axon deploy in a terminal", () => {
  it("shows each step and the replica, then the endpoint and next commands", async () => {
    // Given a project and a control plane whose replica starts and becomes ready
    const dir = await makeIrisProject();
    const daemon = await startFakeDaemon({
      statusSequence: [{ status: "updating" }, { status: "updating" }, { status: "live" }],
    });

    // When deploying it in a terminal
    const terminal = await startTerminal({ args: ["deploy", dir], env: daemon.env });
    const exit = await terminal.waitForExit();

    // Then the screen tells the story top to bottom, and the terminal is left as it was
    expect(exit.status).toBe(0);
    expect(exit.cursorVisible).toBe(true);
    expect(exit.screen).toContain("✓ axon.yaml validated: 1 api (iris-classifier)");
    expect(exit.screen).toMatch(/✓ project packed: 1 file, \d+ B\n✓ project uploaded \(/);
    expect(exit.screen).toContain("✓ creating iris-classifier (RealtimeAPI)");
    expect(exit.screen).toContain("\n\niris-classifier  live\n  r-aaa111  ✓ ready in 0.4s\n");
    expect(exit.screen).toContain(`✓ iris-classifier is live at ${daemon.url}/iris-classifier`);
    expect(exit.screen).toContain("axon logs iris-classifier -f");
  });

  it("Ctrl-C while a replica loads stops watching, says the deploy goes on, and exits 130", async () => {
    // Given a replica that keeps loading its predictor
    const dir = await makeIrisProject();
    const daemon = await startFakeDaemon({
      statusSequence: [{ status: "updating" }],
      deployEvents: (api) => [
        { kind: "replica.starting", api, replicaId: "r-slow00", versionId: "v-1", pids: [1] },
      ],
    });
    const terminal = await startTerminal({ args: ["deploy", dir], env: daemon.env });
    await terminal.waitFor(/r-slow00 {2}\S loading predictor {2}\d+\.\ds/);

    // When Ctrl-C is pressed
    await terminal.press("C-c");
    const exit = await terminal.waitForExit();

    // Then it says what happened to the deploy, and leaves the cursor visible
    expect(exit.status).toBe(130);
    expect(exit.cursorVisible).toBe(true);
    expect(exit.screen).toContain(
      "stopped watching: the deploy was recorded and goes on without this terminal",
    );
  });
});
