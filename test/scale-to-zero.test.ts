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
import { probeCgroups } from "../packages/control-plane/src/providers/local/cgroups.js";
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

  test("a request that wakes an API whose predictor now raises in __init__ gets a 503 at once naming the error, and so does the next", async () => {
    // Given an API whose predictor loads for the deploy but raises in __init__ from a moment on
    // (as a model file that has since gone would), with a predictor.timeout far longer than this
    // test may take
    const c = await makeTestCluster();
    const dir = mkdtempSync(path.join(os.tmpdir(), "axon-zero-fail-"));
    const failAfter = Math.round(Date.now() / 1000) + 40;
    writeFileSync(
      path.join(dir, "predictor.py"),
      "import time\n\nclass PythonPredictor:\n    def __init__(self, config):\n" +
        "        if time.time() > config['fail_after']:\n" +
        "            raise ValueError('model.bin is missing')\n" +
        "    def predict(self, payload):\n        return payload\n",
    );
    writeFileSync(
      path.join(dir, "axon.yaml"),
      "- name: broken\n  kind: RealtimeAPI\n" +
        `  predictor: {type: python, path: predictor.py, timeout: 600s, config: {fail_after: ${failAfter}}}\n` +
        "  autoscaling: {min_replicas: 0, scale_to_zero_after: 10s}\n",
    );
    const deploy = await c.axon(["deploy", dir, "--wait"], { timeoutMs: 120_000 });
    expect(deploy.code, deploy.stderr).toBe(0);
    await waitFor(
      "broken to scale to zero",
      async () => ((await detail(c, "broken")).replicas.requested === 0 ? true : undefined),
      90_000,
    );
    const untilFailing = failAfter * 1000 - Date.now() + 1000;
    if (untilFailing > 0) await new Promise((resolve) => setTimeout(resolve, untilFailing));
    const url = `http://localhost:${c.gatewayPort}/broken`;

    // When a request wakes it (held while the replica starts, which then fails)
    const first = await fetch(url, { method: "POST", body: "{}" });

    // Then it is answered 503 as soon as the start fails — not after the 600 s timeout — with
    // the Python error and a Retry-After
    expect(first.status).toBe(503);
    expect(Number(first.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const { error } = (await first.json()) as { error: string };
    expect(error).toMatch(/^api broken failed to start from zero \(.*model\.bin is missing/);
    expect(error).toContain("axon logs broken");

    // And the next request, while the API is failing, gets the same 503 without being held
    const second = await fetch(url, { method: "POST", body: "{}" });
    expect(second.status).toBe(503);
    expect(((await second.json()) as { error: string }).error).toContain("model.bin is missing");
  }, 240_000);

  test.skipIf(!CGROUP_MEMORY)(
    "a request that wakes an API whose replica the kernel kills for compute.mem gets a 503 at once saying out of memory (compute.mem …)",
    async () => {
      // Given an API limited to 300Mi whose predictor loads small for the deploy but allocates
      // 800 MB in __init__ from a moment on (as a bigger model file would), with a
      // predictor.timeout far longer than this test may take
      const c = await makeTestCluster();
      const dir = mkdtempSync(path.join(os.tmpdir(), "axon-zero-oom-"));
      const growAfter = Math.round(Date.now() / 1000) + 40;
      writeFileSync(
        path.join(dir, "predictor.py"),
        "import time\n\nclass PythonPredictor:\n    def __init__(self, config):\n" +
          "        mb = 800 if time.time() > config['grow_after'] else 1\n" +
          "        self.held = b'x' * (mb * 1024 * 1024)\n" +
          "    def predict(self, payload):\n        return payload\n",
      );
      writeFileSync(
        path.join(dir, "axon.yaml"),
        "- name: hungry\n  kind: RealtimeAPI\n" +
          `  predictor: {type: python, path: predictor.py, timeout: 600s, config: {grow_after: ${growAfter}}}\n` +
          "  compute: {mem: 300Mi}\n" +
          "  autoscaling: {min_replicas: 0, scale_to_zero_after: 10s}\n",
      );
      const deploy = await c.axon(["deploy", dir, "--wait"], { timeoutMs: 120_000 });
      expect(deploy.code, deploy.stderr).toBe(0);
      await waitFor(
        "hungry to scale to zero",
        async () => ((await detail(c, "hungry")).replicas.requested === 0 ? true : undefined),
        90_000,
      );
      const untilGrowing = growAfter * 1000 - Date.now() + 1000;
      if (untilGrowing > 0) await new Promise((resolve) => setTimeout(resolve, untilGrowing));
      const url = `http://localhost:${c.gatewayPort}/hungry`;

      // When a request wakes it (held while the replica starts, which the kernel then kills)
      const first = await fetch(url, { method: "POST", body: "{}" });

      // Then it is answered 503 as soon as the replica is killed — not after the 600 s timeout —
      // saying it ran out of memory, naming the limit, with a Retry-After
      expect(first.status).toBe(503);
      expect(Number(first.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      const { error } = (await first.json()) as { error: string };
      expect(error).toMatch(
        /^api hungry failed to start from zero \(.*out of memory \(compute\.mem 300Mi\)/,
      );
      // (killed by the kernel in the replica's memory cgroup, not measured over the limit after)
      expect(error).toContain("was killed by SIGKILL before it was ready");

      // And the next request, while the API is failing, gets the same 503 without being held
      const second = await fetch(url, { method: "POST", body: "{}" });
      expect(second.status).toBe(503);
      expect(((await second.json()) as { error: string }).error).toContain(
        "out of memory (compute.mem 300Mi)",
      );
    },
    240_000,
  );
});

/** The kernel's memory cgroup is writable here (root on these machines); else the OOM test is moot. */
const CGROUP_MEMORY = probeCgroups("test").memory !== undefined;
