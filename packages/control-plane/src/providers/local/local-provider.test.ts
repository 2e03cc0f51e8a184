/**
 * The local provider with real replicas (the replica tests' echo predictor, real Python workers)
 * behind its real gateway on 127.0.0.1, in a temp home: rollouts by `update_strategy` under light
 * load, and what a failing replica's answers count for.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
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
import { probeCgroups } from "./cgroups.js";
import { crashBackoffMs, LocalProvider, type LocalProviderOptions } from "./local-provider.js";
import { probeSandbox } from "./sandbox.js";

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
async function startProvider(overrides: Partial<LocalProviderOptions> & { home?: string } = {}) {
  const home = overrides.home ?? (await mkdtemp(path.join(tmpdir(), "axon-lp-")));
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
    ...overrides,
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
  return { provider, events, converge, url, home };
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

function memorySpec(mb: number, mem: string): ApiSpec {
  const yaml = `- name: echo\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: memory_predictor.py\n    config:\n      mb: ${mb}\n  compute:\n    mem: ${mem}\n`;
  const [spec] = parseApiConfig(yaml, "axon.yaml").apis;
  if (spec === undefined) throw new Error("no spec");
  return spec;
}

/** The kernel's memory cgroup is writable here (root on these machines); else the test is moot. */
const CGROUP_MEMORY = probeCgroups("test").memory !== undefined;

describe("LocalProvider compute.mem", () => {
  test.skipIf(!CGROUP_MEMORY)(
    "with a writable cgroup, a predictor that allocates past compute.mem in __init__ is killed while starting and the failure says out of memory",
    async () => {
      // Given an API limited to 300Mi whose predictor allocates 800 MB while it loads
      const { provider, events, converge } = await startProvider();
      converge(desiredEcho("v1", 1, memorySpec(800, "300Mi")));

      // When it starts
      await waitFor("the replica to fail", () =>
        events.events.some((e) => e.kind === "replica.failed"),
      );

      // Then the kernel killed it during start-up: it was never ready, and the reason says so
      expect(events.events.some((e) => e.kind === "replica.ready")).toBe(false);
      const failure = provider.observe("echo").failure;
      expect(failure?.message).toMatch(
        /^killed: out of memory \(compute\.mem 300Mi\): worker 0 of replica r-[0-9a-f]+ was killed by SIGKILL before it was ready; raise compute\.mem/,
      );
      expect(provider.engineInfo().sandbox?.limits).toBe("cgroup");
    },
  );

  test("measured (no writable cgroup): a predictor already above compute.mem when it loads fails before it is declared ready", async () => {
    // Given an API limited to 64Mi whose predictor holds 160 MB, on a machine without cgroups
    const { provider, events, converge } = await startProvider({
      cgroups: { memory: undefined, cpu: undefined },
    });
    converge(desiredEcho("v1", 1, memorySpec(160, "64Mi")));
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
    // And it never was ready (the load in __init__ is checked before the replica is)
    expect(events.events.some((e) => e.kind === "replica.ready")).toBe(false);
    expect(provider.engineInfo().sandbox?.limits).toBe("measured");
  });
});

/** The cgroup folder of `pid` in a v1 hierarchy (`memory`, `cpu`). */
function cgroupDirOf(pid: number, controller: string): string {
  const line = readFileSync(`/proc/${pid}/cgroup`, "utf8")
    .split("\n")
    .find((l) => l.split(":")[1]?.split(",").includes(controller));
  return path.join("/sys/fs/cgroup", controller, line?.split(":")[2] ?? "");
}

describe("LocalProvider compute.cpu", () => {
  test.skipIf(probeCgroups("test").cpu === undefined)(
    "with AXON_CPU_QUOTA=1, a replica's workers hold a CFS quota of compute.cpu, and its cgroups go when it stops",
    async () => {
      // Given an API asking for 500m CPU and 256Mi, with the quota on
      const { provider, events, converge } = await startProvider({ cpuQuota: "always" });
      converge(desiredEcho("v1", 1, echoSpec("  compute:\n    cpu: 500m\n    mem: 256Mi\n")));

      // When its replica is ready
      await waitFor("the replica to be ready", () =>
        events.events.some((e) => e.kind === "replica.ready"),
      );

      // Then its worker process sits in cgroups holding half a CPU and 256 MiB
      const [pid] = provider.workerPids("echo");
      if (pid === undefined) throw new Error("no worker");
      const cpuDir = cgroupDirOf(pid, "cpu");
      const memoryDir = cgroupDirOf(pid, "memory");
      expect(readFileSync(path.join(cpuDir, "cpu.cfs_quota_us"), "utf8").trim()).toBe("50000");
      expect(readFileSync(path.join(cpuDir, "cpu.cfs_period_us"), "utf8").trim()).toBe("100000");
      expect(readFileSync(path.join(memoryDir, "memory.limit_in_bytes"), "utf8").trim()).toBe(
        String(256 * 1024 * 1024),
      );

      // And when the API is removed, the cgroups are removed with the replica
      await provider.remove("echo", new AbortController().signal);
      expect([existsSync(cpuDir), existsSync(memoryDir)]).toEqual([false, false]);
    },
  );
});

describe("LocalProvider replicas that cannot be spawned", () => {
  test.each([
    [
      "an environment too large for the kernel (E2BIG)",
      {},
      { BIG: "x".repeat(200_000) },
      /could not start its workers: the operating system refused to start the Python interpreter \(spawn E2BIG/,
    ],
    [
      "a missing interpreter (ENOENT)",
      { python: { path: "/nonexistent/python3", source: "env" } },
      {},
      /cannot run the Python interpreter '\/nonexistent\/python3'/,
    ],
  ] as const)(
    "%s is a failure of the version, counted on every try, not an apply error",
    async (_what, overrides, env, reason) => {
      // Given a version whose replicas cannot be spawned at all
      const { provider, events } = await startProvider(overrides);
      const spec = echoSpec("");
      const desired = desiredEcho("v1", 1, { ...spec, predictor: { ...spec.predictor, env } });
      const stop = new AbortController();
      onTestFinished(() => stop.abort());

      // When it is applied, and applied again once each backoff is over
      for (let attempt = 1; attempt <= 3; attempt++) {
        await waitFor(
          `failure ${attempt - 1}`,
          () => (provider.observe("echo").failure?.count ?? 0) >= attempt - 1,
        );
        let result = await provider.apply(desired, stop.signal);
        while (result.requeueAfterMs !== undefined) {
          await sleep(result.requeueAfterMs);
          result = await provider.apply(desired, stop.signal);
        }
        await waitFor(
          `failure ${attempt}`,
          () => (provider.observe("echo").failure?.count ?? 0) >= attempt,
        );
      }

      // Then each try is a failure of v1 with the reason (three in a row: the reconciler rolls
      // it back, or says error when there is nothing to roll back to), and nothing runs
      const failure = provider.observe("echo").failure;
      expect(failure).toMatchObject({ versionId: "v1", count: 3 });
      expect(failure?.message).toMatch(reason);
      expect(events.events.filter((e) => e.kind === "replica.failed")).toHaveLength(3);
      expect(provider.observe("echo").replicas).toEqual([]);
    },
  );
});

const SANDBOX = probeSandbox().bwrap !== undefined;

describe("LocalProvider sandbox", () => {
  test.skipIf(!SANDBOX)(
    "a snooping predictor reads its own project but not the token, state.db, secrets or another API's project, directly or through the daemon's /proc",
    async () => {
      // Given a home laid out like the daemon's, with a second API's project and secrets in it,
      // and the snooping predictor's own project under it too
      const home = await mkdtemp(path.join(tmpdir(), "axon-snoop-"));
      const own = path.join(home, "projects", "own");
      const other = path.join(home, "projects", "other");
      await mkdir(own, { recursive: true });
      await mkdir(other, { recursive: true });
      await mkdir(path.join(home, "secrets"));
      await writeFile(path.join(home, "token"), "secret-token\n", { mode: 0o600 });
      await writeFile(path.join(home, "daemon.json"), "{}", { mode: 0o600 });
      await writeFile(path.join(home, "state.db"), "SQLite format 3", { mode: 0o600 });
      await writeFile(path.join(home, "secrets", "other.json"), '{"AWS_SECRET_ACCESS_KEY":"x"}');
      await writeFile(path.join(other, "predictor.py"), "# another API's code\n");
      await writeFile(
        path.join(own, "snoop_predictor.py"),
        await readFile(path.join(FIXTURES, "snoop_predictor.py")),
      );
      const daemonRoot = `/proc/${process.pid}/root`;
      const targets = [
        path.join(home, "token"),
        path.join(home, "daemon.json"),
        path.join(home, "state.db"),
        path.join(home, "secrets", "other.json"),
        path.join(other, "predictor.py"),
        `${daemonRoot}${path.join(home, "token")}`,
        `${daemonRoot}${path.join(other, "predictor.py")}`,
        `/proc/${process.pid}/environ`,
      ];
      const { events, converge, url } = await startProvider({
        home,
        projectDir: async () => own,
      });
      const yaml = `- name: echo\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: snoop_predictor.py\n    config:\n      paths: ${JSON.stringify([path.join(own, "snoop_predictor.py"), ...targets])}\n`;
      const [spec] = parseApiConfig(yaml, "axon.yaml").apis;
      if (spec === undefined) throw new Error("no spec");

      // When it is deployed and asked what it could read
      converge(desiredEcho("v1", 1, spec));
      await waitFor("the replica to be ready", () =>
        events.events.some((e) => e.kind === "replica.ready"),
      );
      const response = await fetch(url, { method: "POST", body: "{}" });
      const results = (await response.json()) as Record<string, string>;

      // Then it could read its own project file and nothing else, and write caches under $HOME
      expect(results[path.join(own, "snoop_predictor.py")]).toBe("read");
      expect(results["HOME"]).toBe("written");
      for (const target of targets) {
        expect({ target, result: results[target] }).not.toEqual({ target, result: "read" });
        expect(results[target]).toMatch(/^(FileNotFoundError|PermissionError)$/);
      }
    },
  );

  test("where bubblewrap cannot run, cluster info says predictors are trusted code", async () => {
    // Given a machine without a usable bubblewrap
    const { provider } = await startProvider({
      sandbox: { bwrap: undefined, reason: "bubblewrap is not installed" },
    });

    // Then the engine says so plainly
    expect(provider.engineInfo().sandbox).toMatchObject({
      isolation: "none",
      summary: expect.stringContaining("predictors are trusted code"),
    });
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
