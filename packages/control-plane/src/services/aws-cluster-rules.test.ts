/**
 * `cluster up` and `cluster down` against the AWS rules fake (providers/aws/testing/fake-aws/
 * RULES.md): what a first real account does that moto does not — no ECS service-linked role on a
 * fresh account (R6), DeleteCluster refused while services drain (R2, R3), a stack deletion that
 * ends DELETE_FAILED (R8). The fake stands in for AWS because no account is reachable here; the
 * state store is a real SQLite file.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { readFileSync } from "node:fs";
import { parseApiConfig } from "@axon/config";
import { afterEach, describe, expect, it } from "vitest";
import { DomainError } from "../errors.js";
import { RecordingSink } from "../events/event-sink.js";
import { deployApiResources } from "../providers/aws/api-deploy.js";
import { clusterRefs } from "../providers/aws/api-names.js";
import { FakeAws } from "../providers/aws/testing/fake-aws/fake-aws.js";
import { StateStore } from "../state/store.js";
import { bringUpAwsCluster, tearDownAwsCluster, type AwsClusterDeps } from "./aws-cluster.js";

const IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0";
const CONFIG = `cluster_name: demo\nregion: us-east-1\nimage: ${IMAGE}\n`;
const IRIS_YAML = readFileSync(
  new URL("../../../../examples/iris-sklearn/axon.yaml", import.meta.url),
  "utf8",
);
const dirs: string[] = [];
const stores: StateStore[] = [];

afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function harness(fake: FakeAws): { deps: AwsClusterDeps; progress: string[] } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "axon-aws-rules-"));
  dirs.push(dir);
  const store = StateStore.open(path.join(dir, "state.db"));
  stores.push(store);
  const progress: string[] = [];
  return {
    progress,
    deps: {
      store,
      events: new RecordingSink(),
      signal: new AbortController().signal,
      pollMs: 1,
      connect: () => Promise.resolve(fake.ports()),
      onProgress: (message) => progress.push(message),
    },
  };
}

/** A cluster with the iris API deployed on it, its tasks running. */
async function clusterWithApi(fake: FakeAws, deps: AwsClusterDeps): Promise<void> {
  await bringUpAwsCluster(deps, { config: CONFIG, configFileName: "cluster.yaml" });
  const outputs = fake.stack("axon-demo")?.outputs ?? {};
  const ports = fake.ports();
  const [spec] = parseApiConfig(
    `${IRIS_YAML.trimEnd()}\n  autoscaling:\n    min_replicas: 2\n`,
    "axon.yaml",
  ).apis;
  if (spec === undefined) throw new Error("no API");
  await deployApiResources(
    {
      ports,
      target: ports.target,
      signal: new AbortController().signal,
      refs: clusterRefs("demo", "us-east-1", "axon-demo", outputs),
    },
    {
      spec,
      bundleSha256: "e".repeat(64),
      readBundle: () => Promise.resolve(new Uint8Array([1])),
      configFile: "axon.yaml",
    },
  );
}

describe("cluster up on a fresh account (RULES.md R6)", () => {
  it("Given an account without the ECS service-linked role, When the cluster is brought up, Then the role is made first and the stack is created", async () => {
    // Given
    const fake = new FakeAws({ serviceLinkedRole: false });
    const { deps } = harness(fake);
    // When
    const response = await bringUpAwsCluster(deps, {
      config: CONFIG,
      configFileName: "cluster.yaml",
    });
    // Then
    expect(response.outcome).toBe("created");
    expect(fake.hasServiceLinkedRole).toBe(true);
    expect(fake.calls.indexOf("iam:CreateServiceLinkedRole")).toBeLessThan(
      fake.calls.indexOf("cloudformation:CreateStack"),
    );
  });

  it("Given an account that has the role, When the cluster is brought up, Then IAM's 'has been taken' answer is taken as done", async () => {
    // Given
    const fake = new FakeAws({ serviceLinkedRole: true });
    const { deps } = harness(fake);
    // When
    const response = await bringUpAwsCluster(deps, {
      config: CONFIG,
      configFileName: "cluster.yaml",
    });
    // Then
    expect(response.outcome).toBe("created");
  });
});

describe("cluster down with APIs still running (RULES.md R2, R3, R8)", () => {
  it("Given a cluster whose API has two tasks, When it is torn down, Then it waits for the service to drain, with progress, and the stack is deleted the first time", async () => {
    // Given
    const fake = new FakeAws({ drainPolls: 4 });
    const { deps, progress } = harness(fake);
    await clusterWithApi(fake, deps);
    // When
    const response = await tearDownAwsCluster(deps, "demo");
    // Then
    expect(response.outcome).toBe("deleted");
    expect(fake.stack("axon-demo")?.status).toBe("DELETE_COMPLETE");
    expect(fake.calls.filter((call) => call === "cloudformation:DeleteStack")).toHaveLength(1);
    expect(progress.some((line) => line.startsWith("waiting for"))).toBe(true);
  });

  it("Given a down interrupted after its APIs were deleted, When down runs again, Then it still waits for the draining service before deleting the stack", async () => {
    // Given
    const fake = new FakeAws({ drainPolls: 4 });
    const { deps } = harness(fake);
    await clusterWithApi(fake, deps);
    const ports = fake.ports();
    await ports.ecs.deleteService({
      cluster: "axon-demo",
      service: "iris-classifier",
      force: true,
    });
    // When
    const response = await tearDownAwsCluster(deps, "demo");
    // Then
    expect(response.outcome).toBe("deleted");
    expect(fake.calls.filter((call) => call === "cloudformation:DeleteStack")).toHaveLength(1);
  });

  it("Given a stack whose security group still has a network interface the first time, When it is torn down, Then the deletion is retried once, naming what blocked it", async () => {
    // Given
    const fake = new FakeAws({ dependencyViolations: 1 });
    const { deps, progress } = harness(fake);
    await clusterWithApi(fake, deps);
    // When
    const response = await tearDownAwsCluster(deps, "demo");
    // Then
    expect(response.outcome).toBe("deleted");
    expect(fake.calls.filter((call) => call === "cloudformation:DeleteStack")).toHaveLength(2);
    expect(progress.join("\n")).toMatch(/TaskSecurityGroup.*DependencyViolation.*retrying once/s);
  });

  it("Given a stack that fails to delete twice, When it is torn down, Then the error names the resource and AWS's reason", async () => {
    // Given
    const fake = new FakeAws({ dependencyViolations: 2 });
    const { deps } = harness(fake);
    await clusterWithApi(fake, deps);
    // When
    const failure = await tearDownAwsCluster(deps, "demo").catch((error: unknown) => error);
    // Then
    expect(failure).toBeInstanceOf(DomainError);
    expect((failure as DomainError).code).toBe("provider.aws.stack_failed");
    expect((failure as DomainError).message).toMatch(/TaskSecurityGroup.*DependencyViolation/);
  });
});
