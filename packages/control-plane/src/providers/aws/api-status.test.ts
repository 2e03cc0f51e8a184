/**
 * An environment's APIs read back from the account on moto: services made the way the deploy makes
 * them (names and tags of api-names.ts, the spec in the task definition's AXON_API_SPEC) are found
 * by their tags alone and mapped onto Axon's status. moto runs with MOTO_ECS_SERVICE_RUNNING=1:
 * every service reports one running task, so a service of desired count 1 has a COMPLETED rollout
 * and one of desired count 2 is still rolling out (moto never starts or stops real tasks).
 */
import { rmSync } from "node:fs";
import type { ApiSpec } from "@axon/config";
import { afterAll, describe, expect, it } from "vitest";
import { apiSpec } from "../../testing/specs.js";
import { REPLICA_ENV } from "./replica-env.js";
import {
  API_TAGS,
  REPLICA_CONTAINER,
  clusterRefs,
  serviceName,
  taskFamily,
  type EcsApiDeps,
} from "./api-names.js";
import { describeAwsApiSpec, describeAwsApis, listAwsApiNames } from "./api-status.js";
import { connectAws } from "./sdk.js";
import { createMotoCluster, type MotoCluster } from "./testing/moto-cluster.js";
import { motoAvailable, startMoto, type MotoServer } from "./testing/moto-server.js";

const HAS_MOTO = motoAvailable();
let moto: MotoServer | undefined;
afterAll(async () => {
  await moto?.stop();
});

/** One moto per file (it takes seconds to start), emptied for every test. */
async function freshCluster(): Promise<MotoCluster> {
  if (moto === undefined) moto = await startMoto({ MOTO_ECS_SERVICE_RUNNING: "1" });
  else await moto.reset();
  return createMotoCluster(moto);
}

function depsOf(cluster: Pick<MotoCluster, "ports" | "refs">): EcsApiDeps {
  return {
    ports: cluster.ports,
    refs: cluster.refs,
    target: cluster.ports.target,
    signal: new AbortController().signal,
    pollMs: 10,
  };
}

/** An API's task definition and service as the deploy makes them; returns the task definition ARN. */
async function createApiService(
  cluster: MotoCluster,
  spec: ApiSpec,
  options: { desiredCount: number; tags?: Record<string, string>; untagged?: boolean },
): Promise<string> {
  const { ports, refs } = cluster;
  const registered = await ports.ecs.registerTaskDefinition({
    family: taskFamily(refs.clusterName, spec.name),
    requiresCompatibilities: ["FARGATE"],
    networkMode: "awsvpc",
    cpu: "1024",
    memory: "2048",
    executionRoleArn: refs.executionRoleArn,
    taskRoleArn: refs.taskRoleArn,
    containerDefinitions: [
      {
        name: REPLICA_CONTAINER,
        image: refs.image,
        essential: true,
        memory: 2048,
        portMappings: [{ containerPort: 8080 }],
        environment: [
          { name: REPLICA_ENV.apiName, value: spec.name },
          { name: REPLICA_ENV.spec, value: JSON.stringify(spec) },
        ],
        logConfiguration: {
          logDriver: "awslogs",
          options: {
            "awslogs-group": refs.logGroupName,
            "awslogs-region": refs.region,
            "awslogs-stream-prefix": spec.name,
          },
        },
      },
    ],
  });
  const taskDefinitionArn = registered.taskDefinition?.taskDefinitionArn ?? "";
  const tags = {
    [API_TAGS.cluster]: refs.clusterName,
    [API_TAGS.env]: refs.envName,
    [API_TAGS.api]: spec.name,
    [API_TAGS.specHash]: `hash-of-${spec.name}`,
    [API_TAGS.bundle]: "ab".repeat(32),
    [API_TAGS.configFile]: "axon.yaml",
    ...options.tags,
  };
  await ports.ecs.createService({
    cluster: refs.clusterName,
    serviceName: serviceName(spec.name),
    taskDefinition: taskDefinitionArn,
    desiredCount: options.desiredCount,
    launchType: "FARGATE",
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: refs.taskSubnetIds,
        securityGroups: [refs.taskSecurityGroupId],
        assignPublicIp: refs.assignPublicIp ? "ENABLED" : "DISABLED",
      },
    },
    ...(options.untagged === true
      ? {}
      : { tags: Object.entries(tags).map(([key, value]) => ({ key, value })) }),
  });
  return taskDefinitionArn;
}

describe.skipIf(!HAS_MOTO)(
  "an AWS environment's APIs read from the account (skipped when python3 has no moto)",
  () => {
    it("Given two tagged services and an untagged one, When the APIs are listed, Then the tagged ones are found by their tags, also with a brand-new home", async () => {
      const cluster = await freshCluster();
      await createApiService(cluster, apiSpec("iris"), { desiredCount: 1 });
      await createApiService(cluster, apiSpec("mnist"), { desiredCount: 2 });
      await createApiService(cluster, apiSpec("not-ours"), { desiredCount: 1, untagged: true });

      expect(await listAwsApiNames(depsOf(cluster))).toEqual(["iris", "mnist"]);

      // Nothing local: the home is gone; new ports and the refs from the stack's outputs suffice.
      rmSync(cluster.home, { recursive: true, force: true });
      const ports = await connectAws("us-east-1", moto?.awsEnv() ?? {});
      const stack = await ports.cloudFormation.describeStacks({ StackName: "axon-demo" });
      const outputs = Object.fromEntries(
        (stack.Stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]),
      );
      const refs = clusterRefs("prod", "us-east-1", "axon-demo", outputs);
      expect(await listAwsApiNames(depsOf({ ports, refs }))).toEqual(["iris", "mnist"]);
    });

    it("Given a service whose desired task runs and one still rolling out, When described, Then one is live and the other updating, with replicas, tags, endpoint and revision", async () => {
      const cluster = await freshCluster();
      const irisArn = await createApiService(
        cluster,
        apiSpec("iris", "  networking:\n    endpoint: /v1/iris\n"),
        { desiredCount: 1 },
      );
      await createApiService(cluster, apiSpec("mnist"), { desiredCount: 2 });
      const deps = depsOf(cluster);
      cluster.calls.length = 0;

      const [iris, mnist, ...rest] = await describeAwsApis(deps);

      expect(rest).toEqual([]);
      expect(iris).toMatchObject({
        name: "iris",
        status: "live",
        replicas: { requested: 1, upToDate: 1, stale: 0, initializing: 0, failed: 0 },
        endpoint: `http://${cluster.refs.loadBalancerDnsName}/v1/iris`,
        taskDefinitionArn: irisArn,
        revision: 1,
        specHash: "hash-of-iris",
        bundle: "ab".repeat(32),
        configFile: "axon.yaml",
        rollout: { state: "COMPLETED", stage: "rolling: 1 of 1 new tasks running" },
        stoppedTasks: [],
        events: [],
      });
      expect(iris?.statusMessage).toBeUndefined();
      expect(iris?.serviceArn).toMatch(/^arn:aws:ecs:us-east-1:123456789012:service\//);
      expect(Number.isNaN(Date.parse(iris?.lastUpdated ?? ""))).toBe(false);
      expect(mnist).toMatchObject({
        name: "mnist",
        status: "updating",
        statusMessage: "rolling: 1 of 2 new tasks running",
        replicas: { requested: 2, upToDate: 1, stale: 0, initializing: 1, failed: 0 },
        endpoint: `http://${cluster.refs.loadBalancerDnsName}/mnist`,
        rollout: { state: "IN_PROGRESS", stage: "rolling: 1 of 2 new tasks running" },
        stoppedTasks: [],
      });
      // moto has no service deployments: those calls failed and the deployments array was read.
      expect(cluster.calls.filter((call) => call === "ecs:DescribeServices")).toHaveLength(1);
      expect(cluster.calls).toContain("ecs:ListServiceDeployments");
      expect(cluster.calls).toContain("ecs:ListTasks");
    });

    it("Given a spec cache, When described twice, Then each task definition is read once", async () => {
      const cluster = await freshCluster();
      await createApiService(cluster, apiSpec("iris"), { desiredCount: 1 });
      const deps = depsOf(cluster);
      const specs = new Map<string, ApiSpec | undefined>();
      cluster.calls.length = 0;

      await describeAwsApis(deps, ["iris"], { specs });
      await describeAwsApis(deps, ["iris"], { specs });

      expect(cluster.calls.filter((call) => call === "ecs:DescribeTaskDefinition")).toHaveLength(1);
    });

    it("Given names, some missing or untagged, When described, Then only the tagged APIs come back, in the order asked, 10 services per DescribeServices", async () => {
      const cluster = await freshCluster();
      await createApiService(cluster, apiSpec("iris"), { desiredCount: 1 });
      await createApiService(cluster, apiSpec("mnist"), { desiredCount: 1 });
      await createApiService(cluster, apiSpec("plain"), { desiredCount: 1, untagged: true });
      const missing = Array.from({ length: 10 }, (_, index) => `gone-${index}`);
      cluster.calls.length = 0;

      const states = await describeAwsApis(depsOf(cluster), ["mnist", ...missing, "plain", "iris"]);

      expect(states.map((state) => state.name)).toEqual(["mnist", "iris"]);
      expect(cluster.calls.filter((call) => call === "ecs:DescribeServices")).toHaveLength(2);
    });

    it("Given a deployed API, When its spec is read back, Then it is the spec the task definition carries", async () => {
      const cluster = await freshCluster();
      const spec = apiSpec("iris", "  compute:\n    cpu: 1\n");
      await createApiService(cluster, spec, { desiredCount: 1 });
      const deps = depsOf(cluster);
      const [state] = await describeAwsApis(deps, ["iris"]);
      if (state === undefined) throw new Error("iris was not described");

      expect(await describeAwsApiSpec(deps, state)).toEqual(spec);
    });
  },
);
