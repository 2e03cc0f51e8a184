import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { runCli } from "../../testing/run-cli.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "axon-cluster-aws-"));
  dirs.push(dir);
  return dir;
}

describe("axon cluster up --provider aws, before anything reaches the control plane", () => {
  test("Given no --config, it says which flag to pass", async () => {
    const home = tempDir();
    const run = await runCli(["cluster", "up", "--provider", "aws", "--home", home]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatchInlineSnapshot(`
      "error: cluster up --provider aws needs the cluster config
      hint: pass --config cluster.yaml (examples/aws/cluster.yaml shows every setting)
      "
    `);
  });

  test("Given --config without --provider aws, it refuses instead of starting the local cluster", async () => {
    const home = tempDir();
    const run = await runCli(["cluster", "up", "--config", "cluster.yaml", "--home", home]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("error: --config is the cluster config of an aws cluster");
  });

  test("Given a cluster.yaml with mistakes, it lists them at file:line:col and starts nothing", async () => {
    // Given
    const dir = tempDir();
    writeFileSync(
      path.join(dir, "cluster.yaml"),
      "cluster_name: Demo\nimage: repo/axon-replica:1\nlog_retention_days: 8\n",
    );
    // When
    const run = await runCli(
      ["cluster", "up", "--provider", "aws", "--config", "cluster.yaml", "--home", dir],
      { cwd: dir },
    );
    // Then
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatchInlineSnapshot(`
      "error: cluster.yaml is not a valid cluster configuration (2 problems); nothing was created
        cluster.yaml:1:15: cluster_name: must contain only lower-case letters, digits and single dashes, start with a letter and not end with a dash (for example prod: the stack and ECS cluster are then axon-prod) (got "Demo")
        cluster.yaml:3:21: log_retention_days: must be a retention CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653 days (got 8)
      hint: fix the fields listed and run the command again
      "
    `);
    // And no control plane was started for it
    expect(run.stderr).not.toContain("starting the local cluster");
  });
});
