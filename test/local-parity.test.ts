/**
 * Local parity with the cloud, end to end: a GPU this machine lacks is refused at deploy naming
 * the field (nothing deployed); settings without local meaning are said at deploy; `axon get`
 * says which limits are enforced here and which are not.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { copyExample, makeTestCluster } from "./helpers.js";

describe("local parity", () => {
  test("a GPU is refused naming the field; cpu, mem and api_gateway are explained", async () => {
    // Given the iris example asking for a GPU (this machine has none)
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    const config = path.join(project, "axon.yaml");
    const original = readFileSync(config, "utf8");
    writeFileSync(config, `${original}  compute:\n    gpu: 1\n`);

    // When it is deployed, then it is refused naming compute.gpu, and nothing is deployed
    const refused = await c.axon(["deploy", project]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      "iris-classifier.compute.gpu: asks for 1 GPU, but this machine has 0",
    );
    const list = await c.axon(["get", "-o", "json"]);
    expect(JSON.parse(list.stdout)).toEqual({ apis: [] });

    // When it asks for a CPU and memory limit and no API gateway instead
    writeFileSync(
      config,
      `${original}  compute:\n    cpu: 1\n    mem: 2Gi\n  networking:\n    api_gateway: none\n`,
    );
    const deployed = await c.axon(["deploy", project, "--wait"]);

    // Then it deploys, saying api_gateway has no local meaning, and get says what is enforced
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stderr).toContain("api_gateway");
    expect(deployed.stderr).toContain("none has no local meaning");
    const get = await c.axon(["get", "iris-classifier"]);
    // (compute.cpu was written: a CPU quota holds it where a cpu cgroup is writable, and then
    // nothing is said; elsewhere get says it is not enforced)
    expect(get.stdout).not.toContain("compute.cpu 1 is the default");
    const cpuNote = get.stdout.split("\n").find((line) => line.includes("compute.cpu 1"));
    if (cpuNote !== undefined) expect(cpuNote).toContain("no CPU quota without cgroups");
    // (by the kernel where a memory cgroup is writable, else by measuring)
    expect(get.stdout).toMatch(/compute\.mem 2Gi is enforced by (the kernel|measuring)/);
  });

  test("a predictor that allocates past compute.mem while it loads fails deploy --wait with the reason", async () => {
    // Given a project whose predictor allocates 800 MB in __init__ under mem: 300Mi
    const c = await makeTestCluster();
    const project = mkdtempSync(path.join(os.tmpdir(), "axon-project-"));
    writeFileSync(
      path.join(project, "predictor.py"),
      'class PythonPredictor:\n    def __init__(self, config):\n        self.held = b"x" * (800 * 1024 * 1024)\n\n    def predict(self, payload):\n        return "ok"\n',
    );
    writeFileSync(
      path.join(project, "axon.yaml"),
      "- name: hog\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n  compute:\n    mem: 300Mi\n",
    );

    // When it is deployed and waited for
    const deployed = await c.axon(["deploy", project, "--wait"], { timeoutMs: 120_000 });

    // Then the deploy fails naming the limit (it is never declared live), and get says error
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(1);
    expect(deployed.stdout + deployed.stderr).toMatch(
      /killed: out of memory \(compute\.mem 300Mi\)|exceeded compute\.mem 300Mi/,
    );
    const get = await c.axon(["get", "hog", "-o", "json"]);
    expect(JSON.parse(get.stdout)).toMatchObject({ status: "error" });
  });
});
