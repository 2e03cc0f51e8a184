/**
 * POST /v1/deploy against a real daemon in this process (real store, bundles, environment builds,
 * Python replicas): what happens when deploys, deletes and disconnecting clients overlap. Builds
 * are held open by a dependencies.sh that waits for a gate file, so the overlap is deterministic.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { create } from "tar";
import { afterEach, describe, expect, test } from "vitest";
import { Daemon } from "../../daemon.js";
import type { ApiSummary, DeployRequest, DeployStreamLine } from "../../contract/index.js";
import { TOKEN_FILE } from "../../contract/index.js";

const PYTHON = process.env.AXON_TEST_PYTHON ?? "python3";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface CallOptions {
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

interface TestDaemon {
  /** Calls the daemon's API with its token. */
  call(method: string, route: string, init?: CallOptions): Promise<Response>;
  home: string;
}

async function startDaemon(): Promise<TestDaemon> {
  const home = tempDir("axon-deploy-route-");
  const daemon = new Daemon({
    home,
    apiPort: 0,
    gatewayPort: 0,
    python: { path: PYTHON, source: "env" },
    isolatedEnvironments: false,
    envGcGraceMs: 3_600_000,
    onEvent: () => {},
  });
  const record = await daemon.start();
  cleanups.push(() => daemon.stop("test finished"));
  const token = readFileSync(path.join(home, TOKEN_FILE), "utf8").trim();
  return {
    home,
    call: (method, route, init = {}) =>
      fetch(`${record.apiUrl}${route}`, {
        ...init,
        method,
        headers: { authorization: `Bearer ${token}`, ...init.headers },
      }),
  };
}

/** Writes a project folder, uploads it as a bundle, and returns the bundle's sha256. */
async function uploadProject(d: TestDaemon, files: Record<string, string>): Promise<string> {
  const dir = tempDir("axon-deploy-project-");
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  const archive = path.join(tempDir("axon-deploy-archive-"), "project.tar.gz");
  create({ gzip: true, file: archive, cwd: dir, sync: true, portable: true }, Object.keys(files));
  const bytes = readFileSync(archive);
  const sha = createHash("sha256").update(bytes).digest("hex");
  const put = await d.call("PUT", `/v1/bundles/${sha}`, {
    headers: { "content-type": "application/gzip" },
    body: bytes,
  });
  expect(put.status).toBe(200);
  return sha;
}

interface StreamingDeploy {
  lines: DeployStreamLine[];
  /** The last line (`result` or `error`), or undefined when the stream broke off. */
  done: Promise<DeployStreamLine | undefined>;
  untilProgress(text: string): Promise<void>;
}

/** POST /v1/deploy with streamed progress, as `axon deploy` sends it. */
function startDeploy(d: TestDaemon, body: DeployRequest, signal?: AbortSignal): StreamingDeploy {
  const lines: DeployStreamLine[] = [];
  const done = (async (): Promise<DeployStreamLine | undefined> => {
    try {
      const response = await d.call("POST", "/v1/deploy", {
        headers: { "content-type": "application/json", accept: "application/x-ndjson" },
        body: JSON.stringify(body),
        ...(signal === undefined ? {} : { signal }),
      });
      let buffered = "";
      for await (const chunk of response.body ?? []) {
        buffered += Buffer.from(chunk as Uint8Array).toString("utf8");
        let newline: number;
        while ((newline = buffered.indexOf("\n")) >= 0) {
          lines.push(JSON.parse(buffered.slice(0, newline)) as DeployStreamLine);
          buffered = buffered.slice(newline + 1);
        }
      }
      return lines.at(-1);
    } catch (error) {
      if (signal?.aborted === true) return undefined;
      throw error;
    }
  })();
  const untilProgress = async (text: string): Promise<void> => {
    await waitFor(`progress "${text}"`, () =>
      lines.some((l) => l.type === "progress" && l.message.includes(text)) ? true : undefined,
    );
  };
  return { lines, done, untilProgress };
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function apiNames(d: TestDaemon): Promise<string[]> {
  const list = (await (await d.call("GET", "/v1/apis")).json()) as { apis: ApiSummary[] };
  return list.apis.map((a) => a.name);
}

async function currentVersion(d: TestDaemon, name: string): Promise<string | undefined> {
  const response = await d.call("GET", `/v1/apis/${name}`);
  if (response.status === 404) return undefined;
  const detail = (await response.json()) as { versions: Array<{ id: string }> };
  return detail.versions[0]?.id;
}

/** A gate: builds whose dependencies.sh waits on it hold until `open()`. */
function gate(): { file: string; open(): void } {
  const file = path.join(tempDir("axon-gate-"), "open");
  return { file, open: () => writeFileSync(file, "") };
}

function gatedDependencies(gateFile: string, label: string): string {
  return `echo started ${label}\nwhile [ ! -f ${gateFile} ]; do sleep 0.05; done\n`;
}

function apiConfig(name: string, extra = ""): string {
  return `- name: ${name}\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n${extra}`;
}

const PREDICTOR =
  "class PythonPredictor:\n    def __init__(self, config):\n        pass\n    def predict(self, payload):\n        return 'ok'\n";

describe("POST /v1/deploy with overlapping requests", () => {
  test("two deploys claiming one endpoint at once: one wins, the other gets the endpoint error and records nothing", async () => {
    // Given two projects whose environment builds are held open, both claiming /shared
    const d = await startDaemon();
    const held = gate();
    const endpoint = "  networking:\n    endpoint: /shared\n";
    const deploys = await Promise.all(
      ["race1", "race2"].map(async (name) => {
        const bundle = await uploadProject(d, {
          "predictor.py": PREDICTOR,
          "dependencies.sh": gatedDependencies(held.file, name),
        });
        return { config: apiConfig(name, endpoint), configFileName: "axon.yaml", bundle };
      }),
    );

    // When both are deployed at once and their builds finish together
    const [one, two] = deploys.map((body) => startDeploy(d, body));
    if (one === undefined || two === undefined) throw new Error("two deploys expected");
    await Promise.all([one.untilProgress("started race1"), two.untilProgress("started race2")]);
    held.open();
    const ends = await Promise.all([one.done, two.done]);

    // Then exactly one is recorded, and the other fails as a sequential deploy would
    const results = ends.filter((line) => line?.type === "result");
    const errors = ends.flatMap((line) => (line?.type === "error" ? [line] : []));
    expect(results).toHaveLength(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.error.code).toBe("config.endpoint_taken");
    expect(errors[0]?.error.message).toMatch(
      /networking\.endpoint \/shared is already used by api race[12]/,
    );
    expect(await apiNames(d)).toHaveLength(1);
  });

  test("a client that disconnects during the environment build cancels the deploy: nothing is recorded", async () => {
    // Given a deploy whose environment build is held open
    const d = await startDaemon();
    const held = gate();
    const bundle = await uploadProject(d, {
      "predictor.py": PREDICTOR,
      "dependencies.sh": gatedDependencies(held.file, "cancel-me"),
    });
    const client = new AbortController();
    const deploy = startDeploy(
      d,
      { config: apiConfig("cancel-me"), configFileName: "axon.yaml", bundle },
      client.signal,
    );
    await deploy.untilProgress("started cancel-me");

    // When the client goes away (Ctrl-C of `axon deploy`), the build finishes, and the same
    // project is deployed again (joining or reusing that build)
    client.abort();
    expect(await deploy.done).toBeUndefined();
    held.open();
    const again = await startDeploy(d, {
      config: apiConfig("cancel-me"),
      configFileName: "axon.yaml",
      bundle,
    }).done;

    // Then the cancelled deploy recorded nothing: the second one is the one that creates the API
    expect(again).toMatchObject({
      type: "result",
      result: { results: [{ api: "cancel-me", outcome: "created" }] },
    });
    const detail = (await (await d.call("GET", "/v1/apis/cancel-me")).json()) as {
      versions: unknown[];
    };
    expect(detail.versions).toHaveLength(1);
  });

  test("a delete during a deploy wins: the deploy fails and does not bring the API back", async () => {
    // Given a live API
    const d = await startDaemon();
    const first = await uploadProject(d, { "predictor.py": PREDICTOR });
    const created = startDeploy(d, {
      config: apiConfig("doomed"),
      configFileName: "axon.yaml",
      bundle: first,
    });
    expect((await created.done)?.type).toBe("result");
    await waitFor("doomed to be live", async () => {
      const list = (await (await d.call("GET", "/v1/apis")).json()) as { apis: ApiSummary[] };
      return list.apis[0]?.status === "live" ? true : undefined;
    });

    // When an update of it is building its environment and the API is deleted meanwhile
    const held = gate();
    const second = await uploadProject(d, {
      "predictor.py": PREDICTOR,
      "dependencies.sh": gatedDependencies(held.file, "doomed"),
    });
    const update = startDeploy(d, {
      config: apiConfig("doomed"),
      configFileName: "axon.yaml",
      bundle: second,
    });
    await update.untilProgress("started doomed");
    expect((await d.call("DELETE", "/v1/apis/doomed")).status).toBe(200);
    held.open();

    // Then the deploy says so, and the API stays deleted
    const end = await update.done;
    expect(end?.type).toBe("error");
    if (end?.type !== "error") return;
    expect(end.error.code).toBe("api.deleted_during_deploy");
    expect(end.error.message).toContain("api doomed was deleted while this deploy was running");
    expect(await apiNames(d)).toEqual([]);
  });
});

describe("POST /v1/deploy force", () => {
  test("a change to an API still rolling out is refused without force, and applied with it; an unchanged deploy is not refused", async () => {
    // Given an API whose replica never finishes starting (its predictor's __init__ blocks)
    const d = await startDaemon();
    const bundle = await uploadProject(d, {
      "predictor.py":
        "import time\n\nclass PythonPredictor:\n    def __init__(self, config):\n        time.sleep(600)\n    def predict(self, payload):\n        return 'ok'\n",
    });
    const deploy = (config: string, force?: boolean): Promise<DeployStreamLine | undefined> =>
      startDeploy(d, {
        config,
        configFileName: "axon.yaml",
        bundle,
        ...(force === undefined ? {} : { force }),
      }).done;
    expect((await deploy(apiConfig("slow-api")))?.type).toBe("result");
    const rollingOut = await currentVersion(d, "slow-api");
    const status = (await (await d.call("GET", "/v1/apis/slow-api")).json()) as ApiSummary;
    expect(status.status).toBe("updating");

    // When it is deployed again unchanged, then changed without force
    const unchanged = await deploy(apiConfig("slow-api"));
    const changedConfig = apiConfig("slow-api", "    config:\n      threshold: 2\n");
    const refused = await deploy(changedConfig);

    // Then the unchanged deploy is a no-op, and the change is refused with Cortex's words and a hint
    expect(unchanged).toMatchObject({
      type: "result",
      result: { results: [{ api: "slow-api", outcome: "unchanged" }] },
    });
    expect(refused).toMatchObject({
      type: "error",
      status: 409,
      error: { code: "api.updating" },
    });
    if (refused?.type !== "error") return;
    expect(refused.error.message).toContain("slow-api is updating (override with --force)");
    expect(refused.error.hint).toContain("--force");
    expect(await currentVersion(d, "slow-api")).toBe(rollingOut);

    // When the change is deployed with force
    const forced = await deploy(changedConfig, true);

    // Then it is applied
    expect(forced).toMatchObject({
      type: "result",
      result: { results: [{ api: "slow-api", outcome: "updated" }] },
    });
    expect(await currentVersion(d, "slow-api")).not.toBe(rollingOut);
  });
});

describe("POST /v1/deploy from another folder", () => {
  test("replacing an API last deployed from another project folder says so; redeploying from the same folder does not", async () => {
    // Given an API deployed from one folder
    const d = await startDaemon();
    const bundle = await uploadProject(d, { "predictor.py": PREDICTOR });
    const deploy = (projectPath: string, extra = "") =>
      startDeploy(d, {
        config: apiConfig("twin", extra),
        configFileName: "axon.yaml",
        bundle,
        projectPath,
        force: true,
      }).done;
    expect((await deploy("/home/u/first"))?.type).toBe("result");

    // When a project in another folder deploys an API of the same name, then deploys a change again
    const replaced = await deploy("/home/u/second", "    config:\n      v: 2\n");
    const again = await deploy("/home/u/second", "    config:\n      v: 3\n");

    // Then the first deploy warns, naming both folders, and the second has nothing to say
    expect(replaced).toMatchObject({
      type: "result",
      result: { results: [{ outcome: "updated" }] },
    });
    if (replaced?.type !== "result" || again?.type !== "result") throw new Error("no result");
    expect(replaced.result.warnings).toEqual([
      expect.objectContaining({
        file: "axon.yaml",
        path: "twin.name",
        message: expect.stringContaining(
          "replaced the API twin deployed from another folder, /home/u/first (this deploy is from /home/u/second)",
        ),
      }),
    ]);
    expect(again.result.warnings).toEqual([]);
  });
});

describe("POST /v1/deploy and compute.cpu as written", () => {
  test("writing compute.cpu, even at its default value, is a new version whose replicas get the quota; leaving it out says the default is not enforced", async () => {
    // Given an API deployed without compute.cpu
    const d = await startDaemon();
    const bundle = await uploadProject(d, { "predictor.py": PREDICTOR });
    const deploy = (config: string): Promise<DeployStreamLine | undefined> =>
      startDeploy(d, { config, configFileName: "axon.yaml", bundle }).done;
    const notes = async (): Promise<string[]> =>
      ((await (await d.call("GET", "/v1/apis/cpu-api")).json()) as { notes?: string[] }).notes ??
      [];
    expect((await deploy(apiConfig("cpu-api")))?.type).toBe("result");
    const cpuNotes = (await notes()).filter((n) => n.startsWith("compute.cpu"));
    // (a machine without a writable cpu cgroup says that instead)
    expect(cpuNotes).toEqual([
      expect.stringMatching(/is the default \(the config does not set it\)|without cgroups/),
    ]);

    // When the config writes the default value, then deploys it twice
    const written = apiConfig("cpu-api", "  compute:\n    cpu: 200m\n");
    const first = await deploy(written);
    const again = await deploy(written);

    // Then the first is an update (the spec is the same, what the user asked for is not) and
    // the second changes nothing; the note no longer calls the quota off for the default
    expect(first).toMatchObject({ result: { results: [{ api: "cpu-api", outcome: "updated" }] } });
    expect(again).toMatchObject({
      result: { results: [{ api: "cpu-api", outcome: "unchanged" }] },
    });
    expect((await notes()).filter((n) => n.includes("is the default"))).toEqual([]);
  });
});
