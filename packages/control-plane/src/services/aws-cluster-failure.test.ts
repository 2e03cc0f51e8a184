/**
 * A cluster whose stack fails, or that an interrupted command left mid-operation, through the
 * service: what moto cannot do (it never fails a stack, finishes every operation at once and
 * records no resource events), so CloudFormation here is a small hand-written fake.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { StackEvent } from "@aws-sdk/client-cloudformation";
import { afterEach, describe, expect, it } from "vitest";
import { DomainError } from "../errors.js";
import { RecordingSink } from "../events/event-sink.js";
import type { AwsPorts, CloudFormationPort } from "../providers/aws/sdk.js";
import { StateStore } from "../state/store.js";
import { bringUpAwsCluster, tearDownAwsCluster, type AwsClusterDeps } from "./aws-cluster.js";
import { listEnvironments } from "./environments.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface FakeStack {
  id: string;
  status: string;
  events: StackEvent[];
  /** Polls left before an *_IN_PROGRESS status finishes (an operation left by an earlier run). */
  pollsLeft?: number;
}

/**
 * CloudFormation that fails the first `failures` creations at the load balancer; `existing` is a
 * stack an earlier, interrupted command left mid-operation.
 */
function fakeCloudFormation(
  failures: number,
  existing?: FakeStack,
): CloudFormationPort & { calls: string[] } {
  const stacks = new Map<string, FakeStack>();
  if (existing !== undefined) stacks.set("axon-demo", existing);
  const calls: string[] = [];
  let created = 0;
  const find = (name: string) =>
    [...stacks.values()].find((stack) => stack.id === name) ?? stacks.get(name);
  const event = (id: string, logicalId: string, status: string, reason?: string): StackEvent => ({
    EventId: `${id}-${logicalId}-${status}`,
    StackId: id,
    StackName: "axon-demo",
    LogicalResourceId: logicalId,
    ResourceType:
      logicalId === "LoadBalancer"
        ? "AWS::ElasticLoadBalancingV2::LoadBalancer"
        : "AWS::ECS::Cluster",
    ResourceStatus: status as StackEvent["ResourceStatus"],
    ...(reason === undefined ? {} : { ResourceStatusReason: reason }),
    Timestamp: new Date(),
  });
  return {
    calls,
    createStack: async (input) => {
      calls.push(`CreateStack ${input.StackName ?? ""}`);
      const id = `stack-${++created}`;
      const fails = created <= failures;
      const events = fails
        ? [
            event(id, "LoadBalancer", "CREATE_IN_PROGRESS"),
            event(
              id,
              "LoadBalancer",
              "CREATE_FAILED",
              "At least two subnets in two different Availability Zones must be specified",
            ),
            event(id, "Cluster", "CREATE_FAILED", "Resource creation cancelled"),
            event(id, "Cluster", "DELETE_COMPLETE"),
          ]
        : [event(id, "Cluster", "CREATE_IN_PROGRESS"), event(id, "Cluster", "CREATE_COMPLETE")];
      stacks.set(input.StackName ?? "", {
        id,
        status: fails ? "ROLLBACK_COMPLETE" : "CREATE_COMPLETE",
        events: events.reverse(),
      });
      return { StackId: id, $metadata: {} };
    },
    describeStacks: async (input) => {
      const stack = find(input.StackName ?? "");
      if (stack?.pollsLeft !== undefined && stack.pollsLeft-- <= 0) {
        stack.status = stack.status.replace("_IN_PROGRESS", "_COMPLETE");
        if (stack.status === "DELETE_COMPLETE") stacks.delete("axon-demo");
      }
      if (stack === undefined) {
        throw Object.assign(new Error(`Stack with id ${input.StackName ?? ""} does not exist`), {
          name: "ValidationError",
        });
      }
      return {
        Stacks: [
          {
            StackId: stack.id,
            StackName: "axon-demo",
            StackStatus: stack.status as never,
            CreationTime: new Date(),
          },
        ],
        $metadata: {},
      };
    },
    describeStackEvents: async (input) => ({
      StackEvents: find(input.StackName ?? "")?.events ?? [],
      $metadata: {},
    }),
    updateStack: async (input) => {
      calls.push(`UpdateStack ${input.StackName ?? ""}`);
      throw Object.assign(new Error("No updates are to be performed."), {
        name: "ValidationError",
      });
    },
    deleteStack: async (input) => {
      calls.push(`DeleteStack ${input.StackName ?? ""}`);
      for (const [name, stack] of stacks) if (stack.id === input.StackName) stacks.delete(name);
      return {};
    },
  };
}

function harness(cloudFormation: CloudFormationPort): {
  deps: AwsClusterDeps;
  sink: RecordingSink;
  progress: string[];
} {
  const dir = mkdtempSync(path.join(os.tmpdir(), "axon-aws-failure-"));
  dirs.push(dir);
  const sink = new RecordingSink();
  const progress: string[] = [];
  const ports = {
    target: { region: "us-east-1", profile: "default" },
    cloudFormation,
    // The account already has the ECS service-linked role (IAM's answer when it does).
    iam: {
      createServiceLinkedRole: () =>
        Promise.reject(
          Object.assign(
            new Error(
              "Service role name AWSServiceRoleForECS has been taken in this account, please try a different suffix.",
            ),
            { name: "InvalidInput" },
          ),
        ),
    },
  } as Partial<AwsPorts> as AwsPorts;
  return {
    deps: {
      store: StateStore.open(path.join(dir, "state.db")),
      events: sink,
      signal: new AbortController().signal,
      pollMs: 1,
      connect: async () => ports,
      onProgress: (message) => progress.push(message),
      onResource: (step) => progress.push(`${step.logicalId} ${step.status}`),
    },
    sink,
    progress,
  };
}

const REQUEST = {
  // A new VPC: no default-VPC lookup, so CloudFormation is the only AWS this needs.
  config:
    "cluster_name: demo\nregion: us-east-1\nimage: repo/axon-replica:1\nnetworking: {vpc: new}\n",
  configFileName: "cluster.yaml",
};

describe("a cluster whose stack fails or was left mid-operation", () => {
  it("Given CloudFormation rolls the stack back, When up runs, Then the error names the resource, the env stays registered, and the next up removes the rolled-back stack first", async () => {
    const cloudFormation = fakeCloudFormation(1);
    const { deps, sink, progress } = harness(cloudFormation);

    // When
    const error = await bringUpAwsCluster(deps, REQUEST).catch((caught: unknown) => caught);

    // Then the failure names the load balancer and its reason
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).message).toBe(
      "creating stack axon-demo failed (ROLLBACK_COMPLETE): LoadBalancer (AWS::ElasticLoadBalancingV2::LoadBalancer) CREATE_FAILED: At least two subnets in two different Availability Zones must be specified",
    );
    expect(progress).toContain("LoadBalancer CREATE_FAILED");
    expect(sink.kinds()).toContain("cluster.failed");
    // And cluster down can find it: the environment was registered before anything was created
    expect(listEnvironments(deps.store).environments.map((env) => env.name)).toEqual([
      "local",
      "demo",
    ]);

    // When up runs again
    progress.length = 0;
    const up = await bringUpAwsCluster(deps, REQUEST);

    // Then the rolled-back stack was deleted, and a new one created
    expect(up.outcome).toBe("created");
    expect(progress[0]).toBe(
      "removing stack axon-demo left ROLLBACK_COMPLETE by an earlier attempt",
    );
    expect(cloudFormation.calls).toEqual([
      "CreateStack axon-demo",
      "DeleteStack stack-1",
      "CreateStack axon-demo",
    ]);
  });

  it("Given a rolled-back stack, When down runs, Then it is deleted, and down again is a no-op", async () => {
    const cloudFormation = fakeCloudFormation(1);
    const { deps } = harness(cloudFormation);
    await bringUpAwsCluster(deps, REQUEST).catch(() => undefined);

    expect((await tearDownAwsCluster(deps, "demo")).outcome).toBe("deleted");
    expect((await tearDownAwsCluster(deps, "demo")).outcome).toBe("absent");
    expect(cloudFormation.calls).toEqual(["CreateStack axon-demo", "DeleteStack stack-1"]);
  });

  it("Given a running cluster and the same config, When up runs again, Then CloudFormation's 'No updates' is an unchanged outcome", async () => {
    const cloudFormation = fakeCloudFormation(0);
    const { deps } = harness(cloudFormation);
    expect((await bringUpAwsCluster(deps, REQUEST)).outcome).toBe("created");

    const again = await bringUpAwsCluster(deps, REQUEST);

    expect(again.outcome).toBe("unchanged");
    expect(again.message).toBe(
      "stack axon-demo in us-east-1 is up to date (CREATE_COMPLETE); nothing changed",
    );
    expect(cloudFormation.calls).toEqual(["CreateStack axon-demo", "UpdateStack stack-1"]);
  });

  it("Given a creation an interrupted up left in progress, When up runs again, Then it waits for that one instead of creating another", async () => {
    const cloudFormation = fakeCloudFormation(0, {
      id: "stack-0",
      status: "CREATE_IN_PROGRESS",
      events: [],
      pollsLeft: 2,
    });
    const { deps, progress } = harness(cloudFormation);

    const up = await bringUpAwsCluster(deps, REQUEST);

    expect(up.outcome).toBe("created");
    expect(progress).toContain("stack axon-demo is already being created; waiting for it");
    expect(cloudFormation.calls).toEqual([]);
  });

  it("Given a deletion an interrupted down left in progress, When down runs again, Then it waits for it without deleting twice", async () => {
    const cloudFormation = fakeCloudFormation(0, {
      id: "stack-0",
      status: "DELETE_IN_PROGRESS",
      events: [],
      pollsLeft: 2,
    });
    const { deps } = harness(cloudFormation);
    deps.store.putEnvironment(
      {
        name: "demo",
        provider: "aws",
        region: "us-east-1",
        stackName: "axon-demo",
        clusterName: "demo",
        configFile: null,
        configYaml: null,
      },
      new Date(),
    );

    expect((await tearDownAwsCluster(deps, "demo")).outcome).toBe("deleted");
    expect(cloudFormation.calls).toEqual([]);
    expect((await tearDownAwsCluster(deps, "demo")).outcome).toBe("absent");
  });
});
