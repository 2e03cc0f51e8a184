/**
 * The real daemon — HTTP API, SQLite store, deploy service, reconcile queue and reconciler — over
 * a provider shaped like a managed engine (testing/managed-engine.ts): it is handed a desired
 * state, rolls out by itself and reports tasks by version. A deploy, a roll and a delete go
 * through it exactly as they do locally, which is the evidence that nothing above the provider
 * seam assumes local processes.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { create } from "tar";
import { afterEach, describe, expect, test } from "vitest";
import {
  TOKEN_FILE,
  type ApiDetail,
  type ClusterInfo,
  type DeployResponse,
  type EventLine,
} from "../contract/index.js";
import { Daemon } from "../daemon.js";
import { ManagedEngineProvider } from "../testing/managed-engine.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function startDaemonOnManagedEngine() {
  const home = tempDir("axon-managed-");
  let engine: ManagedEngineProvider | undefined;
  const daemon = new Daemon({
    home,
    apiPort: 0,
    gatewayPort: 0,
    python: { path: "python3", source: "default" },
    isolatedEnvironments: false,
    envGcGraceMs: 3_600_000,
    onEvent: () => {},
    provider: ({ events }) => (engine = new ManagedEngineProvider(events)),
  });
  const record = await daemon.start();
  cleanups.push(() => daemon.stop("test finished"));
  if (engine === undefined) throw new Error("the daemon did not build its provider");
  const token = readFileSync(path.join(home, TOKEN_FILE), "utf8").trim();
  const call = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${record.apiUrl}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  };
  return { engine, call, apiUrl: record.apiUrl, token };
}

/** Follows `GET /v1/events?api=NAME`, collecting its lines. */
function followEvents(d: { apiUrl: string; token: string }, api: string) {
  const lines: EventLine[] = [];
  const controller = new AbortController();
  const ready = Promise.withResolvers<void>();
  void (async () => {
    const response = await fetch(`${d.apiUrl}/v1/events?api=${api}`, {
      headers: { authorization: `Bearer ${d.token}` },
      signal: controller.signal,
    });
    ready.resolve();
    let buffered = "";
    for await (const chunk of response.body ?? []) {
      buffered += Buffer.from(chunk as Uint8Array).toString("utf8");
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        lines.push(JSON.parse(buffered.slice(0, newline)) as EventLine);
        buffered = buffered.slice(newline + 1);
      }
    }
  })().catch(() => {});
  return { lines, subscribed: ready.promise, stop: () => controller.abort() };
}

/** Uploads a one-file project and returns its bundle's sha256. */
async function uploadProject(
  d: { apiUrl: string; token: string },
  predictor: string,
): Promise<string> {
  const dir = tempDir("axon-managed-project-");
  writeFileSync(path.join(dir, "predictor.py"), predictor);
  const archive = path.join(tempDir("axon-managed-archive-"), "project.tar.gz");
  create({ gzip: true, file: archive, cwd: dir, sync: true, portable: true }, ["predictor.py"]);
  const bytes = readFileSync(archive);
  const sha = createHash("sha256").update(bytes).digest("hex");
  const put = await fetch(`${d.apiUrl}/v1/bundles/${sha}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${d.token}`, "content-type": "application/gzip" },
    body: bytes,
  });
  expect(put.status).toBe(200);
  return sha;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const PREDICTOR = "class PythonPredictor:\n    def predict(self, payload):\n        return 'ok'\n";
const config = (extra = ""): string =>
  `- name: scorer\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n${extra}  autoscaling:\n    min_replicas: 2\n`;

describe("the control plane over a managed engine", () => {
  test("a deploy, a roll and a delete go through the provider seam alone", async () => {
    // Given a daemon whose engine is a managed one, and a project uploaded to it
    const d = await startDaemonOnManagedEngine();
    const { engine } = d;
    const bundle = await uploadProject(d, PREDICTOR);
    const stream = followEvents(d, "scorer");
    await stream.subscribed;
    const info = await d.call<ClusterInfo>("GET", "/v1/info");
    expect(info).toMatchObject({ provider: "managed-test", gatewayUrl: "https://engine.example" });

    // When an API is deployed
    const deploy = (yaml: string) =>
      d.call<DeployResponse>("POST", "/v1/deploy", {
        config: yaml,
        configFileName: "axon.yaml",
        bundle,
      });
    const created = await deploy(config());
    // Then the engine is handed a service with the API's version, its image and 2 tasks
    expect(created.results[0]).toMatchObject({
      outcome: "created",
      endpoint: "https://engine.example/scorer",
    });
    const v1 = await waitFor("the service", async () => engine.services.get("scorer"));
    expect(v1).toMatchObject({
      desiredCount: 2,
      endpoint: "/scorer",
      image: `registry.example/axon:${bundle.slice(0, 12)}`,
    });
    const get = () => d.call<ApiDetail>("GET", "/v1/apis/scorer");
    expect((await get()).status).toBe("updating");

    // When the engine rolls it out by itself
    engine.tick();
    engine.tick();
    // Then the API is live with the engine's tasks, and the rollout is an event
    const live = await waitFor("scorer live", async () => {
      const detail = await get();
      return detail.status === "live" && detail.events.some((e) => e.kind === "rollout.finished")
        ? detail
        : undefined;
    });
    expect(live.replicas).toMatchObject({ requested: 2, upToDate: 2, stale: 0 });
    expect(live.runtime).toMatchObject({ engine: "local", python: { key: v1.image } });

    // When the same config is deployed again and the engine reports in
    const mutationsBefore = [...engine.mutations];
    expect((await deploy(config())).results[0]?.outcome).toBe("unchanged");
    engine.tick();
    await sleep(100);
    // Then nothing about the engine changed
    expect(engine.mutations).toEqual(mutationsBefore);

    // When a change is deployed
    const updated = await deploy(config("    config:\n      threshold: 2\n"));
    expect(updated.results[0]?.outcome).toBe("updated");
    const v2 = await waitFor("the updated service", async () => {
      const service = engine.services.get("scorer");
      return service?.versionId === v1.versionId ? undefined : service;
    });
    expect(v2.desiredCount).toBe(2);
    engine.tick();
    // Then, mid-roll, both versions are reported by version, the old one still serving
    const rolling = await waitFor("both versions", async () => {
      const detail = await get();
      return detail.replicas.stale === 2 ? detail : undefined;
    });
    expect(rolling.replicas).toMatchObject({ upToDate: 0, stale: 2, initializing: 2 });
    expect(rolling.status).toBe("updating");
    // And once the engine finished, only the new version runs and the API says so
    engine.tick();
    engine.tick();
    const rolled = await waitFor("the roll to finish", async () => {
      const detail = await get();
      const finished = detail.events.filter((e) => e.kind === "rollout.finished");
      return finished.length === 2 ? detail : undefined;
    });
    expect(rolled.replicas).toMatchObject({ upToDate: 2, stale: 0 });
    expect(rolled.events.at(-1)?.message).toContain(`version ${v2.versionId} is live`);

    // When the API is deleted
    await d.call("DELETE", "/v1/apis/scorer");
    // Then the engine was told to remove its service, and nothing is left
    expect(engine.services.size).toBe(0);
    expect(engine.mutations).toEqual([
      `createService scorer ${v1.versionId} ×2`,
      `updateService scorer ${v2.versionId} ×2`,
      "deleteService scorer",
    ]);
    expect(engine.apiNames()).toEqual([]);

    // And the events stream told the story with typed events, in order, for this API only
    const story = await waitFor("the delete in the events stream", async () =>
      stream.lines.some((l) => l.event.kind === "api.deleted") ? stream.lines : undefined,
    );
    stream.stop();
    const kinds = story.map((l) => l.event.kind).filter((k) => k !== "replica.starting");
    expect(kinds).toEqual([
      "deploy.recorded",
      "rollout.started",
      "rollout.finished",
      "deploy.recorded",
      "rollout.started",
      "rollout.finished",
      "api.deleted",
    ]);
    expect(story.filter((l) => l.event.kind === "replica.starting")).toHaveLength(4);
    expect(story[0]).toMatchObject({
      level: "info",
      message: `created version ${v1.versionId}`,
      event: { kind: "deploy.recorded", api: "scorer", outcome: "created" },
    });
  });
});
