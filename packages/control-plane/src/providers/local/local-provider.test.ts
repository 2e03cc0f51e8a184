/**
 * The local provider with real replicas (the replica tests' echo predictor, real Python workers)
 * behind its real gateway on 127.0.0.1, and a real SQLite store in a temp home.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseApiConfig } from "@axon/config";
import { describe, expect, onTestFinished, test } from "vitest";
import { ApiLogs } from "../../logs/api-logs.js";
import { StateStore } from "../../state/store.js";
import { LocalProvider } from "./local-provider.js";

const FIXTURES = fileURLToPath(new URL("../../replica/fixtures/", import.meta.url));

async function waitFor(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("LocalProvider", () => {
  test("a failed replica's surviving worker still counts the answers it sends while stopping", async () => {
    // Given one replica of an API with two worker processes, behind the gateway
    const home = await mkdtemp(path.join(tmpdir(), "axon-lp-"));
    const store = StateStore.open(path.join(home, "state.db"));
    const provider = new LocalProvider({
      store,
      logs: new ApiLogs(home),
      runDir: path.join(home, "run"),
    });
    onTestFinished(async () => {
      await provider.shutdown();
      store.close();
      await rm(home, { recursive: true, force: true });
    });
    const port = await provider.gateway.listen(0, "127.0.0.1");
    const yaml = [
      "- name: echo",
      "  kind: RealtimeAPI",
      "  predictor:",
      "    type: python",
      "    path: echo_predictor.py",
      "    processes_per_replica: 2",
    ].join("\n");
    const [spec] = parseApiConfig(yaml, "axon.yaml").apis;
    if (spec === undefined) throw new Error("no spec");
    provider.setRoute("echo", "/echo");
    provider.createReplica({
      apiName: "echo",
      versionId: "v1",
      spec,
      projectDir: FIXTURES,
      python: "python3",
      secretEnv: {},
    });
    const replica = (): { phase: string; pids: number[] } | undefined =>
      provider.listReplicas("echo")[0];
    await waitFor("the replica to be ready", () => replica()?.phase === "ready");

    // When each worker is busy with a 3 s request
    const post = (): Promise<number> =>
      fetch(`http://127.0.0.1:${port}/echo`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ action: "sleep", seconds: 3 }),
      }).then((res) => res.status);
    const slow = [post(), post()];
    await waitFor("both requests in flight", () =>
      provider.replicaMetrics().some((r) => r.inFlight === 2),
    );
    // And worker 0 dies four times within the minute, which fails the replica
    for (let death = 1; death <= 4; death++) {
      const pid = replica()?.pids[0];
      if (pid === undefined) throw new Error("no worker 0");
      process.kill(pid, "SIGKILL");
      if (death < 4) await waitFor(`replacement ${death}`, () => replica()?.pids[0] !== pid);
    }
    await waitFor("the replica to fail", () => replica() === undefined);

    // Then worker 1's request still gets its 200 during the failed replica's grace, and the API's
    // counts include it
    expect((await Promise.all(slow)).sort((a, b) => a - b)).toEqual([200, 502]);
    expect(provider.apiRequestStats("echo").statusClasses).toMatchObject({ "2XX": 1, "5XX": 1 });
  });
});
