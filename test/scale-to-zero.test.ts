/**
 * Scale to zero on the local engine, end to end with the built CLI, a real daemon and the echo
 * fixture: an API with `min_replicas: 0` goes to zero replicas after `scale_to_zero_after`
 * without requests — holding no Python process — and its next request is held while a replica
 * starts, then answered 200. `get` says it is idle and how long a start took.
 */
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import type { ApiDetail } from "@axon/control-plane/api";
import { makeTestCluster, REPO, waitFor, workerPidsUnder, type TestCluster } from "./helpers.js";

const ECHO = path.join(REPO, "packages/control-plane/src/replica/fixtures/echo_predictor.py");

async function detail(c: TestCluster, name: string): Promise<ApiDetail> {
  const get = await c.axon(["get", name, "-o", "json"]);
  expect(get.code, get.stderr).toBe(0);
  return JSON.parse(get.stdout) as ApiDetail;
}

describe("scale to zero on the local engine", () => {
  test("an idle API goes to zero replicas and no Python process; its first request is held through a start and answered 200", async () => {
    // Given an echo API that may idle at zero after 10 s, beside an ordinary one
    const c = await makeTestCluster();
    const dir = mkdtempSync(path.join(os.tmpdir(), "axon-zero-"));
    copyFileSync(ECHO, path.join(dir, "predictor.py"));
    writeFileSync(
      path.join(dir, "axon.yaml"),
      "- name: sleepy\n  kind: RealtimeAPI\n  predictor: {type: python, path: predictor.py}\n" +
        "  autoscaling: {min_replicas: 0, scale_to_zero_after: 10s}\n" +
        "- name: awake\n  kind: RealtimeAPI\n  predictor: {type: python, path: predictor.py}\n",
    );
    const deploy = await c.axon(["deploy", dir, "--wait"], { timeoutMs: 180_000 });
    expect(deploy.code, deploy.stderr).toBe(0);
    const url = `http://localhost:${c.gatewayPort}/sleepy`;
    expect((await fetch(url, { method: "POST", body: "{}" })).status).toBe(200);
    const withBoth = workerPidsUnder(c.home).length;

    // When no request comes for scale_to_zero_after (the autoscaler ticks every 10 s)
    const idle = await waitFor(
      "sleepy to scale to zero",
      async () => {
        const d = await detail(c, "sleepy");
        return d.replicas.requested === 0 && d.replicas.upToDate === 0 ? d : undefined;
      },
      90_000,
    );

    // Then get says it is idle and how long a start takes, and its Python processes are gone
    expect(idle.status).toBe("live");
    expect(idle.statusMessage).toMatch(/^idle \(0 replicas, starts in ~\d+s on request\)$/);
    await waitFor("sleepy's worker to exit", () =>
      workerPidsUnder(c.home).length === withBoth - 1 ? true : undefined,
    );
    expect((await detail(c, "awake")).replicas.upToDate).toBe(1);

    // When a request arrives
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ hello: "again" }),
    });
    // Then it was held while a replica started, and answered
    expect(response.status).toBe(200);
    expect(((await response.json()) as { payload: unknown }).payload).toEqual({ hello: "again" });
    const woken = await detail(c, "sleepy");
    expect(woken.replicas.requested).toBe(1);
    expect(woken.statusMessage).toBeUndefined();
  }, 240_000);
});
