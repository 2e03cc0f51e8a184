/**
 * Cortex 0.20's TrafficSplitter on the local engine, end to end with the built CLI, a real daemon
 * and two real APIs (the echo fixture, which names its variant in every answer): the gateway
 * shares a splitter's requests by smooth weighted round robin, `get` shows each API's share, a
 * weight change restarts nothing, and an API a splitter uses cannot be deleted.
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, onTestFinished, test } from "vitest";
import type {
  ApiListResponse,
  DeployPreviewResponse,
  DeployResponse,
  TrafficSplitterSummary,
} from "@axon/control-plane/api";
import { startTerminal } from "../packages/cli/src/testing/tmux.js";
import {
  CLI,
  isAlive,
  makeTestCluster,
  REPO,
  waitFor,
  workerPidsUnder,
  type TestCluster,
} from "./helpers.js";

const ECHO = path.join(REPO, "packages/control-plane/src/replica/fixtures/echo_predictor.py");

function project(weights: [number, number], extra = ""): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "axon-splitter-"));
  copyFileSync(ECHO, path.join(dir, "predictor.py"));
  writeConfig(dir, weights, extra);
  return dir;
}

/** Cortex 0.20's own spelling: two RealtimeAPIs and a TrafficSplitter over them. */
function writeConfig(dir: string, [a, b]: [number, number], extra = ""): void {
  const api = (name: string, variant: string): string =>
    `- name: ${name}\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n    config: {variant: ${variant}}\n`;
  writeFileSync(
    path.join(dir, "cortex.yaml"),
    `${api("echo-a", "a")}${api("echo-b", "b")}- name: echo\n  kind: TrafficSplitter\n  endpoint: /echo\n  apis:\n    - name: echo-a\n      weight: ${a}\n    - name: echo-b\n      weight: ${b}\n${extra}`,
  );
}

async function listed(c: TestCluster): Promise<ApiListResponse> {
  const get = await c.axon(["get", "-o", "json"]);
  expect(get.code, get.stderr).toBe(0);
  return JSON.parse(get.stdout) as ApiListResponse;
}

/** Sends `count` requests one after another; returns how many each variant answered. */
async function sendThrough(url: string, count: number): Promise<Record<string, number>> {
  const answered: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ i }),
    });
    expect(response.status).toBe(200);
    const { config } = (await response.json()) as { config: { variant: string } };
    answered[config.variant] = (answered[config.variant] ?? 0) + 1;
  }
  return answered;
}

describe("TrafficSplitter on the local engine", () => {
  test("1,000 requests through a 70/30 splitter reach the two APIs 700/300; a weight change restarts nothing; a used API cannot be deleted", async () => {
    // Given a Cortex 0.20 config: two echo APIs and a 70/30 splitter over them, deployed
    const c = await makeTestCluster();
    const dir = project([70, 30]);
    const deploy = await c.axon(["deploy", dir, "--wait", "-o", "json"], { timeoutMs: 180_000 });
    expect(deploy.code, deploy.stderr).toBe(0);
    const deployed = JSON.parse(deploy.stdout) as DeployResponse;
    expect(deployed.results.map((r) => [r.api, r.kind, r.outcome])).toEqual([
      ["echo-a", "RealtimeAPI", "created"],
      ["echo-b", "RealtimeAPI", "created"],
      ["echo", "TrafficSplitter", "created"],
    ]);
    const url = `http://localhost:${c.gatewayPort}/echo`;

    // When 1,000 requests go through the splitter
    const answered = await sendThrough(url, 1000);

    // Then exactly 700/300: smooth weighted round robin gives each API exactly its weight in every
    // 100 consecutive requests from the first (weights totalling 100), so the bound here is 0; at
    // any other count it is within one request of the weights
    expect(answered).toEqual({ a: 700, b: 300 });
    // And `get` lists the splitter with its weights, shares and error rates
    const list = await listed(c);
    expect(list.apis.map((api) => api.name)).toEqual(["echo-a", "echo-b"]);
    expect(list.trafficSplitters).toEqual([
      {
        name: "echo",
        kind: "TrafficSplitter",
        endpoint: url,
        lastUpdated: expect.any(String),
        // What the counts cover, in the field as ECS says its own (one shape on both engines)
        window:
          "the splitter's own requests since the control plane started (a request to an api's own endpoint is not counted)",
        apis: [
          { name: "echo-a", weight: 70, requests: 700, share: 0.7, errorRate: 0 },
          { name: "echo-b", weight: 30, requests: 300, share: 0.3, errorRate: 0 },
        ],
      },
    ]);

    // When the weights change to 10/90 and the config is deployed again
    const workersBefore = workerPidsUnder(c.home).sort((x, y) => x - y);
    expect(workersBefore.length).toBeGreaterThanOrEqual(2);
    writeConfig(dir, [10, 90]);
    // And `deploy --plan` first says so: only the splitter updates, its weights the change
    const plan = await c.axon(["deploy", dir, "--plan", "-o", "json"]);
    expect(plan.code, plan.stderr).toBe(3);
    const planned = JSON.parse(plan.stdout) as DeployPreviewResponse;
    expect(planned.apis.map((p) => [p.api, p.kind, p.outcome])).toEqual([
      ["echo-a", "RealtimeAPI", "unchanged"],
      ["echo-b", "RealtimeAPI", "unchanged"],
      ["echo", "TrafficSplitter", "updated"],
    ]);
    expect(planned.apis[2]?.changedFields.map((change) => change.field)).toEqual(["apis"]);
    const again = await c.axon(["deploy", dir, "-o", "json"]);
    expect(again.code, again.stderr).toBe(0);

    // Then only the splitter changed: no API was updated and no worker restarted
    expect(
      (JSON.parse(again.stdout) as DeployResponse).results.map((r) => [r.api, r.outcome]),
    ).toEqual([
      ["echo-a", "unchanged"],
      ["echo-b", "unchanged"],
      ["echo", "updated"],
    ]);
    expect(workerPidsUnder(c.home).sort((x, y) => x - y)).toEqual(workersBefore);
    expect(await sendThrough(url, 100)).toEqual({ a: 10, b: 90 });
    // And `get <splitter>` shows its detail (not an api-not-found error): the new weights and
    // the 1,100 requests so far, 700 + 10 to echo-a and 300 + 90 to echo-b
    const detail = await c.axon(["get", "echo"]);
    expect(detail.code, detail.stderr).toBe(0);
    expect(detail.stdout).toMatch(
      /^traffic splitter echo\nendpoint: http:\/\/localhost:\d+\/echo\n/,
    );
    expect(detail.stdout).toMatch(
      /\necho-a +10% +710 +64\.5% +0\.0%\necho-b +90% +390 +35\.5% +0\.0%\n/,
    );

    // When the daemon is killed and started again
    const pid = c.daemonPid() ?? -1;
    process.kill(pid, "SIGKILL");
    await waitFor("the daemon to die", () => (isAlive(pid) ? undefined : true));
    await waitFor("its workers to exit", () =>
      workersBefore.every((w) => !isAlive(w)) ? true : undefined,
    );
    expect((await c.axon(["cluster", "up"])).code).toBe(0);
    await waitFor(
      "both APIs live again",
      async () => ((await listed(c)).apis.every((api) => api.status === "live") ? true : undefined),
      120_000,
    );
    // Then the splitter routes again from the store, with its last weights
    expect(await sendThrough(url, 100)).toEqual({ a: 10, b: 90 });

    // When an API the splitter uses is deleted
    const refused = await c.axon(["delete", "echo-a", "--yes"]);
    // Then it is refused, naming the splitter (Cortex's message), and the API still serves
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      "cannot delete api because it is used by the following TrafficSplitter: echo",
    );
    expect((await listed(c)).apis.map((api) => api.name)).toEqual(["echo-a", "echo-b"]);

    // When the splitter is deleted, then the API
    expect((await c.axon(["delete", "echo", "--yes"])).code).toBe(0);
    expect((await c.axon(["delete", "echo-a", "--yes"])).code).toBe(0);
    // Then the splitter's endpoint is gone
    const gone = await fetch(url, { method: "POST", body: "{}" });
    expect(gone.status).toBe(404);
    expect((await listed(c)).trafficSplitters).toBeUndefined();
  }, 300_000);

  test("a splitter naming an API that is neither deployed nor in the file is refused, naming it", async () => {
    // Given a config whose splitter names echo-c, which nothing defines
    const c = await makeTestCluster();
    const dir = project([70, 30]);
    writeFileSync(
      path.join(dir, "cortex.yaml"),
      "- name: echo\n  kind: TrafficSplitter\n  apis:\n    - {name: echo-c, weight: 100}\n",
    );
    // When deployed
    const deploy = await c.axon(["deploy", dir]);
    // Then the plan refuses it before anything runs
    expect(deploy.code).toBe(1);
    expect(deploy.stderr).toContain(
      "cortex.yaml: echo: apis[0].name: api echo-c is not deployed and not defined in cortex.yaml",
    );
    expect((await listed(c)).trafficSplitters).toBeUndefined();
  }, 120_000);

  test("get <splitter> --watch redraws the splitter's detail as requests come: as NDJSON, as text off a terminal, and live on one", async () => {
    // Given a deployed 70/30 splitter that has served nothing yet
    const c = await makeTestCluster();
    const dir = project([70, 30]);
    const deploy = await c.axon(["deploy", dir, "--wait"], { timeoutMs: 180_000 });
    expect(deploy.code, deploy.stderr).toBe(0);
    const url = `http://localhost:${c.gatewayPort}/echo`;

    // When it is watched as JSON, off a terminal
    const json = watching(c, ["get", "echo", "--watch", "-o", "json"]);
    const first = JSON.parse(await json.waitForLine(/^\{/)) as TrafficSplitterSummary;
    // Then each look is the splitter's summary: nothing counted yet
    expect(first).toMatchObject({ name: "echo", kind: "TrafficSplitter" });
    expect(first.apis.map((api) => api.requests ?? 0)).toEqual([0, 0]);
    // When 10 requests go through it
    expect(await sendThrough(url, 10)).toEqual({ a: 7, b: 3 });
    // Then a later look has the moved counts and shares
    const moved = JSON.parse(
      await json.waitForLine(/"requests":7,"share":0\.7,/),
    ) as TrafficSplitterSummary;
    expect(moved.apis.map((api) => [api.name, api.requests, api.share])).toEqual([
      ["echo-a", 7, 0.7],
      ["echo-b", 3, 0.3],
    ]);
    // And Ctrl-C ends it with 130
    expect(await json.interrupt()).toBe(130);

    // When it is watched as text, off a terminal
    const text = watching(c, ["get", "echo", "--watch"]);
    await text.waitForLine(/^echo-a +70% +7 +70\.0% +0\.0%$/);
    await sendThrough(url, 10);
    // Then the detail is printed again with the new counts (once per change, not per look)
    await text.waitForLine(/^echo-b +30% +6 +30\.0% +0\.0%$/);
    const frames = text.output().split(/\n(?=traffic splitter echo\n)/);
    expect(frames.length).toBeGreaterThanOrEqual(2);
    expect(new Set(frames).size).toBe(frames.length);
    expect(await text.interrupt()).toBe(130);

    // When it is watched on a terminal
    const terminal = await startTerminal({
      args: ["get", "echo", "--watch"],
      env: {
        AXON_HOME: c.home,
        AXON_GATEWAY_PORT: String(c.gatewayPort),
        AXON_PYTHON: c.env["AXON_PYTHON"] ?? "python3",
      },
    });
    const screen = await terminal.waitFor(/echo-a +70% +14 /);
    // Then the screen has the watch header and the splitter's detail
    expect(screen).toMatch(/^axon get echo --watch {2}\d\d:\d\d:\d\d · every 1s · Ctrl-C to stop/);
    expect(screen).toContain("traffic splitter echo");
    // When more requests come, the detail is redrawn in place
    await sendThrough(url, 10);
    const redrawn = await terminal.waitFor(/echo-a +70% +21 +70\.0%/);
    expect(redrawn.match(/traffic splitter echo/g)).toHaveLength(1);
    // And Ctrl-C ends it with 130
    await terminal.press("C-c");
    expect((await terminal.waitForExit()).status).toBe(130);
  }, 300_000);
});

/** The built CLI running a long command (a watch), read line by line, stopped by its PID. */
function watching(
  c: TestCluster,
  args: string[],
): {
  waitForLine(pattern: RegExp): Promise<string>;
  output(): string;
  interrupt(): Promise<number | null>;
} {
  const child = spawn(process.execPath, [CLI, ...args], { env: c.env, stdio: "pipe" });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  onTestFinished(() => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, "SIGKILL");
  });
  return {
    waitForLine: (pattern) =>
      waitFor(`a line matching ${pattern} (stderr: ${stderr})`, () =>
        stdout
          .split("\n")
          .slice(0, -1)
          .findLast((line) => pattern.test(line)),
      ),
    output: () => stdout,
    async interrupt() {
      if (child.pid !== undefined) process.kill(child.pid, "SIGINT");
      return exited;
    },
  };
}
