/**
 * The local provider with real replicas (the replica tests' echo predictor, real Python workers)
 * behind its real gateway on 127.0.0.1, in a temp home: rollouts by `update_strategy` under light
 * load, and what a failing replica's answers count for.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseApiConfig, type ApiSpec } from "@axon/config";
import { describe, expect, onTestFinished, test } from "vitest";
import { DomainError } from "../../errors.js";
import { RecordingSink } from "../../events/event-sink.js";
import type { DesiredApi } from "../provider.js";
import { ApiLogs } from "./api-logs.js";
import { crashBackoffMs, LocalProvider } from "./local-provider.js";

const FIXTURES = fileURLToPath(new URL("../../replica/fixtures/", import.meta.url));
const PYTHON = process.env.AXON_TEST_PYTHON ?? "python3";

async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function echoSpec(extra: string): ApiSpec {
  const yaml = `- name: echo\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: echo_predictor.py\n${extra}`;
  const [spec] = parseApiConfig(yaml, "axon.yaml").apis;
  if (spec === undefined) throw new Error("no spec");
  return spec;
}

/** A started provider in a temp home, whose `converge` re-applies the desired state on changes. */
async function startProvider() {
  const home = await mkdtemp(path.join(tmpdir(), "axon-lp-"));
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
  // What the reconciler does, minus the store: apply the desired state whenever it changes and
  // whenever the provider reports a change.
  let desired: DesiredApi | undefined;
  const apply = (): void => {
    // A rejected apply is retried by the next change, as the work queue would (after a test, the
    // stop signal rejects the last ones).
    if (desired !== undefined) provider.apply(desired, stopping.signal).catch(() => {});
  };
  provider.onChange(apply);
  const converge = (next: DesiredApi): void => {
    desired = next;
    apply();
  };
  const url = provider.endpointUrl("/echo").replace("localhost", "127.0.0.1");
  return { provider, events, converge, url };
}

function desiredEcho(versionId: string, replicas: number, spec: ApiSpec): DesiredApi {
  return {
    name: "echo",
    version: { id: versionId, spec, bundle: "fixtures", artifact: { envKey: null } },
    replicas,
    secretEnv: {},
  };
}

describe("LocalProvider rollouts", () => {
  test.each([
    ["0", "1"],
    ["1", "0"],
  ])(
    "a roll of 2 replicas with max_surge %s, max_unavailable %s stays within its bounds and fails no request",
    async (maxSurge, maxUnavailable) => {
      // Given 2 ready replicas of v1 under a light, steady load
      const { provider, converge, url } = await startProvider();
      const strategy = `  update_strategy:\n    max_surge: ${maxSurge}\n    max_unavailable: ${maxUnavailable}\n`;
      converge(desiredEcho("v1", 2, echoSpec(strategy)));
      const ready = (version?: string): number =>
        provider
          .observe("echo")
          .replicas.filter(
            (r) => r.phase === "ready" && (version === undefined || r.versionId === version),
          ).length;
      await waitFor("2 ready replicas of v1", () => ready("v1") === 2);
      const statuses = new Map<number, number>();
      let loading = true;
      const load = (async () => {
        for (let i = 0; loading && i < 20_000; i++) {
          const response = await fetch(url, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ n: i }),
          });
          await response.arrayBuffer();
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        }
      })();

      // When v2 rolls out, sampling the replicas every 5 ms
      const bound = { surge: Number(maxSurge), unavailable: Number(maxUnavailable) };
      let minReady = Infinity;
      let maxLive = 0;
      converge(desiredEcho("v2", 2, echoSpec(`    config:\n      v: 2\n${strategy}`)));
      const deadline = Date.now() + 60_000;
      while (
        ready("v2") < 2 ||
        provider.observe("echo").replicas.some((r) => r.versionId === "v1")
      ) {
        if (Date.now() > deadline) throw new Error("the roll did not finish in 60 s");
        const live = provider.observe("echo").replicas.filter((r) => r.phase !== "stopping");
        minReady = Math.min(minReady, ready());
        maxLive = Math.max(maxLive, live.length);
        await sleep(5);
      }
      await sleep(200);
      loading = false;
      await load;

      // Then the ready count never fell below 2 - max_unavailable, no more than 2 + max_surge
      // replicas ran at once, and every request was answered 200
      expect(minReady).toBeGreaterThanOrEqual(2 - bound.unavailable);
      expect(maxLive).toBeLessThanOrEqual(2 + bound.surge);
      expect(Object.fromEntries(statuses)).toEqual({ 200: expect.any(Number) });
      expect(statuses.get(200)).toBeGreaterThan(20);
    },
  );
});

describe("LocalProvider updates", () => {
  test("a change of autoscaling, networking or update_strategy only restarts nothing", async () => {
    // Given 2 ready replicas of v1
    const { provider, converge, url } = await startProvider();
    converge(desiredEcho("v1", 2, echoSpec("")));
    const ready = () => provider.observe("echo").replicas.filter((r) => r.phase === "ready");
    await waitFor("2 ready replicas", () => ready().length === 2);
    const before = ready().map((r) => r.id);
    const pids = provider.workerPids("echo");
    // When v2 changes only max_replicas, the endpoint and max_surge
    const v2 = echoSpec(
      "  autoscaling:\n    max_replicas: 7\n  networking:\n    endpoint: /echo2\n  update_strategy:\n    max_surge: 2\n",
    );
    converge(desiredEcho("v2", 2, v2));
    // Then the same replicas (same worker processes) are v2's, and the new endpoint serves
    await waitFor("v2 adopted", () => ready().every((r) => r.versionId === "v2"));
    expect(ready().map((r) => r.id)).toEqual(before);
    expect(provider.workerPids("echo")).toEqual(pids);
    const moved = await fetch(url.replace("/echo", "/echo2"), { method: "POST", body: "{}" });
    expect(moved.status).toBe(200);
  });

  test("adding prediction monitoring restarts the replicas (they tally from their start)", async () => {
    // Given a ready replica of v1 without monitoring
    const { provider, converge, url } = await startProvider();
    converge(desiredEcho("v1", 1, echoSpec("")));
    const ready = () => provider.observe("echo").replicas.filter((r) => r.phase === "ready");
    await waitFor("a ready replica", () => ready().length === 1);
    const before = ready()[0]?.id;
    // When v2 only adds `monitoring`
    converge(desiredEcho("v2", 1, echoSpec("  monitoring:\n    model_type: classification\n")));
    await waitFor("v2 ready", () => ready().length === 1 && ready()[0]?.versionId === "v2");
    // Then a new replica serves, and it records what it answers
    expect(ready()[0]?.id).not.toBe(before);
    await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"action": "text", "text": "cat"}',
    });
    expect(provider.drainPredictions("echo")).toMatchObject([
      { versionId: "v2", tally: { count: 1, classes: { cat: 1 } } },
    ]);
  });

  test("a scale-out during a roll ends with the new count, all of the new version", async () => {
    // Given 2 ready replicas of v1, rolling to v2 with one replica at a time
    const { provider, converge } = await startProvider();
    const strategy = "  update_strategy:\n    max_surge: 1\n    max_unavailable: 0\n";
    converge(desiredEcho("v1", 2, echoSpec(strategy)));
    const replicas = () => provider.observe("echo").replicas.filter((r) => r.phase !== "stopping");
    await waitFor("2 ready v1", () => replicas().filter((r) => r.phase === "ready").length === 2);
    const v2 = echoSpec(`    config:\n      v: 2\n${strategy}`);
    converge(desiredEcho("v2", 2, v2));
    await waitFor("the roll to start", () => replicas().some((r) => r.versionId === "v2"));
    // When the autoscaler asks for 4 mid-roll
    converge(desiredEcho("v2", 4, v2));
    // Then it settles at 4 ready replicas of v2 and nothing else
    await waitFor("4 ready v2", () => {
      const now = replicas();
      return now.length === 4 && now.every((r) => r.versionId === "v2" && r.phase === "ready");
    });
  });
});

describe("LocalProvider", () => {
  test("a failed replica's surviving worker still counts the answers it sends while stopping", async () => {
    // Given one replica of an API with two worker processes, behind the gateway
    const { provider, events, converge, url } = await startProvider();
    converge(desiredEcho("v1", 1, echoSpec("    processes_per_replica: 2\n")));
    const replica = () => provider.observe("echo").replicas[0];
    await waitFor("the replica to be ready", () => replica()?.phase === "ready");

    // When each worker is busy with a 3 s request
    const post = (): Promise<number> =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ action: "sleep", seconds: 3 }),
      }).then((res) => res.status);
    const slow = [post(), post()];
    await waitFor("both requests in flight", () =>
      provider.replicaMetrics().some((r) => r.inFlight === 2),
    );
    // And worker 0 dies four times within the minute, which fails the replica
    const first = replica()?.id;
    for (let death = 1; death <= 4; death++) {
      const pid = provider.workerPids("echo")[0];
      if (pid === undefined) throw new Error("no worker 0");
      process.kill(pid, "SIGKILL");
      if (death < 4)
        await waitFor(`replacement ${death}`, () => provider.workerPids("echo")[0] !== pid);
    }
    await waitFor("the replica to fail", () => replica()?.id !== first);

    // Then worker 1's request still gets its 200 during the failed replica's grace, and the API's
    // counts include it
    expect((await Promise.all(slow)).sort((a, b) => a - b)).toEqual([200, 502]);
    expect(provider.apiRequestStats("echo").statusClasses).toMatchObject({ "2XX": 1, "5XX": 1 });
    // And the failure was reported once, as a typed event
    expect(events.events.filter((e) => e.kind === "replica.failed")).toEqual([
      {
        kind: "replica.failed",
        api: "echo",
        replicaId: first,
        versionId: "v1",
        reason: expect.stringContaining("worker 0"),
      },
    ]);
  });
});

describe("LocalProvider compute.mem", () => {
  test("a replica whose workers hold more than compute.mem is stopped, saying by how much", async () => {
    // Given an API limited to 64Mi whose predictor holds 160 MB
    const { provider, events, converge } = await startProvider();
    const yaml = `- name: echo\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: memory_predictor.py\n    config:\n      mb: 160\n  compute:\n    mem: 64Mi\n`;
    const [spec] = parseApiConfig(yaml, "axon.yaml").apis;
    if (spec === undefined) throw new Error("no spec");
    converge(desiredEcho("v1", 1, spec));
    // When it loads, then it fails with the limit and its peak
    await waitFor("the replica to fail", () =>
      events.events.some((e) => e.kind === "replica.failed"),
    );
    const failed = events.events.find((e) => e.kind === "replica.failed");
    expect(failed).toMatchObject({
      reason: expect.stringMatching(
        /^replica exceeded compute\.mem 64Mi \(peak (6[5-9]|[7-9]\d|1\d\d) MiB\); raise compute\.mem or use less memory in the predictor$/,
      ),
    });
    expect(provider.observe("echo").failure?.message).toContain("exceeded compute.mem 64Mi");
  });
});

describe("crashBackoffMs", () => {
  test("doubles from 1 s up to a minute", () => {
    expect([1, 2, 3, 4, 10].map(crashBackoffMs)).toEqual([1000, 2000, 4000, 8000, 60000]);
  });
});

describe("LocalProvider prepare", () => {
  test("refuses a project whose Python does not compile, naming file, line and column", async () => {
    // Given a project whose predictor lacks a colon on line 2, and a module that compiles
    const { provider } = await startProvider();
    const projectDir = await mkdtemp(path.join(tmpdir(), "axon-syntax-"));
    onTestFinished(() => rm(projectDir, { recursive: true, force: true }));
    await writeFile(
      path.join(projectDir, "predictor.py"),
      "class PythonPredictor:\n    def predict(self, payload)\n        return payload\n",
    );
    await mkdir(path.join(projectDir, "lib"));
    await writeFile(path.join(projectDir, "lib", "ok.py"), "VALUE = 1\n");

    // When the deploy asks the provider to prepare it
    const error = await provider.prepare({ bundle: "b", projectDir }).then(
      () => null,
      (reason: unknown) => reason,
    );

    // Then it is a config error the CLI shows like one, at the user's line
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({
      code: "config.invalid",
      message: "predictor.py does not compile",
      diagnostics: [
        {
          file: "predictor.py",
          line: 2,
          column: 31,
          path: "",
          message: "SyntaxError: expected ':'",
        },
      ],
    });

    // And once fixed, the same project prepares
    await writeFile(path.join(projectDir, "predictor.py"), "class PythonPredictor:\n    pass\n");
    await expect(provider.prepare({ bundle: "b", projectDir })).resolves.toEqual({ envKey: null });
  });
});
