/**
 * Local parity with the cloud, end to end: a GPU this machine lacks is refused at deploy naming
 * the field (nothing deployed); settings without local meaning are said at deploy; `axon get`
 * says which limits are enforced here and which are not.
 */
import { readFileSync, writeFileSync } from "node:fs";
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
    expect(get.stdout).toContain(
      "compute.cpu 1 is not enforced on this machine: replicas may use every CPU",
    );
    expect(get.stdout).toContain(
      "compute.mem 2Gi is enforced by measuring each replica's resident memory",
    );
  });
});
