import { describe, expect, it } from "vitest";
import { IRIS_CONFIG, makeIrisProject, makeTempDir, writeFiles } from "../testing/fixtures.js";
import { runCli } from "../testing/run-cli.js";

describe("axon validate", () => {
  it("reports a valid config with its api names", async () => {
    // Given a project with a valid axon.yaml and its predictor
    const dir = await makeIrisProject();

    // When validating from inside the project
    const run = await runCli(["validate"], { cwd: dir });

    // Then it succeeds with the Cortex-style one-liner
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe("✓ axon.yaml: 1 api valid (iris-classifier)\n");
  });

  it("lists every problem with file, line and column, and exits 1", async () => {
    // Given a config with two bad fields and a predictor path that does not exist
    const dir = await makeTempDir();
    await writeFiles(dir, {
      "axon.yaml": `- name: iris-classifier
  kind: RealtimeAPI
  predictor:
    type: python
    path: missing.py
  autoscaling:
    min_replicas: -1
`,
    });

    // When validating it by folder
    const run = await runCli(["validate", dir]);

    // Then all diagnostics are shown as file:line:column: path: message
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^error: axon\.yaml is not a valid API configuration/);
    expect(run.stderr).toMatch(/axon\.yaml:5:\d+: .*predictor\.path: /);
    expect(run.stderr).toMatch(/axon\.yaml:7:\d+: .*min_replicas: /);
  });

  it("prints one JSON document with -o json", async () => {
    // Given a valid project
    const dir = await makeIrisProject();

    // When validating with -o json
    const run = await runCli(["validate", "-o", "json", `${dir}/axon.yaml`]);

    // Then stdout is exactly one JSON document
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ valid: true, apis: ["iris-classifier"] });
  });

  it("names the folder and both file names when there is no config", async () => {
    // Given an empty folder
    const dir = await makeTempDir();

    // When validating it
    const run = await runCli(["validate"], { cwd: dir });

    // Then the error says where it looked and what for
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`no axon.yaml or cortex.yaml in ${dir}`);
  });

  it("finds a Cortex cortex.yaml", async () => {
    // Given a Cortex project
    const dir = await makeIrisProject();
    await writeFiles(dir, { "cortex.yaml": IRIS_CONFIG });
    const { rm } = await import("node:fs/promises");
    await rm(`${dir}/axon.yaml`);

    // When validating it
    const run = await runCli(["validate", dir]);

    // Then cortex.yaml is used
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain("✓ cortex.yaml: 1 api valid");
  });
});
