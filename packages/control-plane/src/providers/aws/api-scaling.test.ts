/**
 * An API's autoscaling on a real moto server: the scalable target and target-tracking policy as
 * Application Auto Scaling stores them, for a spec parsed from a real config. moto evaluates
 * nothing (no metrics, no scaling), so these tests prove the mapping and the calls, not AWS's
 * scaling behaviour (docs/aws-autoscaling.md says what that is).
 */
import { parseApiConfig, type ApiSpec } from "@axon/config";
import { afterAll, describe, expect, it } from "vitest";
import {
  REPLICA_CONTAINER,
  scalableResourceId,
  scalingPolicyName,
  serviceName,
  taskFamily,
  type AwsClusterRefs,
  type EcsApiDeps,
} from "./api-names.js";
import { applyApiScaling, planApiScaling, removeApiScaling } from "./api-scaling.js";
import { createMotoCluster, type MotoCluster } from "./testing/moto-cluster.js";
import { motoAvailable, startMoto, type MotoServer } from "./testing/moto-server.js";

const HAS_MOTO = motoAvailable();

const CONFIG = `
- name: iris
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
  autoscaling:
    min_replicas: 2
    max_replicas: 6
    target_replica_concurrency: 3
    upscale_stabilization_period: 30s
    downscale_stabilization_period: 4m
`;

function irisSpec(config = CONFIG): ApiSpec {
  const [spec] = parseApiConfig(config, "axon.yaml").apis;
  if (spec === undefined) throw new Error("the config has no API");
  return spec;
}

let server: MotoServer | undefined;
afterAll(async () => {
  await server?.stop();
});

/** One moto server for the file (started by the first test that needs it), reset per test. */
async function freshCluster(): Promise<MotoCluster> {
  server ??= await startMoto();
  await server.reset();
  return createMotoCluster(server);
}

/** The ECS service a scalable target needs (the deploy makes it in real use). */
async function createService(cluster: MotoCluster, apiName: string): Promise<void> {
  const { ports, refs } = cluster;
  const family = taskFamily(refs.clusterName, apiName);
  await ports.ecs.registerTaskDefinition({
    family,
    requiresCompatibilities: ["FARGATE"],
    networkMode: "awsvpc",
    cpu: "256",
    memory: "512",
    containerDefinitions: [{ name: REPLICA_CONTAINER, image: refs.image, memory: 512 }],
  });
  await ports.ecs.createService({
    cluster: refs.clusterName,
    serviceName: serviceName(apiName),
    taskDefinition: family,
    desiredCount: 2,
    launchType: "FARGATE",
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: refs.taskSubnetIds,
        securityGroups: [refs.taskSecurityGroupId],
      },
    },
  });
}

function depsOf(cluster: MotoCluster, progress: string[] = []): EcsApiDeps {
  return {
    target: cluster.ports.target,
    signal: new AbortController().signal,
    pollMs: 20,
    ports: cluster.ports,
    refs: cluster.refs,
    onProgress: (message) => progress.push(message),
  };
}

/** Refs for plans alone (only the cluster's name reaches a plan). */
const DEMO_REFS: AwsClusterRefs = {
  envName: "prod",
  region: "us-east-1",
  clusterName: "axon-demo",
  listenerArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/axon-demo/1/2",
  loadBalancerArn:
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/axon-demo/1",
  loadBalancerDnsName: "axon-demo-1.us-east-1.elb.amazonaws.com",
  bucketName: "axon-demo-bundles",
  logGroupName: "/axon/demo",
  executionRoleArn: "arn:aws:iam::123456789012:role/exec",
  taskRoleArn: "arn:aws:iam::123456789012:role/task",
  taskSecurityGroupId: "sg-1",
  taskSubnetIds: ["subnet-1", "subnet-2"],
  assignPublicIp: true,
  vpcId: "vpc-1",
  image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0",
};

const MUTATING = /:(Register|Deregister|Put|Delete)/;

describe("planApiScaling", () => {
  it("Given a spec with min = max, When planned, Then the target pins the count and a note says so", () => {
    const spec = irisSpec(CONFIG.replace("max_replicas: 6", "max_replicas: 2"));
    const plan = planApiScaling(spec, DEMO_REFS);
    expect(plan.target).toMatchObject({ MinCapacity: 2, MaxCapacity: 2 });
    expect(plan.policy.PolicyType).toBe("TargetTrackingScaling");
    expect(plan.notes.some((note) => note.startsWith("min_replicas = max_replicas = 2"))).toBe(
      true,
    );
  });

  it("Given the default knobs, When planned, Then each unmappable one is a note naming its value", () => {
    const plan = planApiScaling(irisSpec(), DEMO_REFS);
    expect(plan.notes.map((note) => note.split(" has no AWS setting")[0])).toEqual([
      "window 1m0s",
      "max_upscale_factor 1.5",
      "max_downscale_factor 0.75",
      "upscale_tolerance 0.05",
      "downscale_tolerance 0.05",
    ]);
  });
});

describe.skipIf(!HAS_MOTO)(
  "an API's autoscaling on moto (skipped when python3 has no moto: pip install 'moto[server]')",
  () => {
    it("Given an API's service, When scaling is applied, Then a scalable target and a target-tracking policy on the in-flight metric exist with the spec's values", async () => {
      const cluster = await freshCluster();
      await createService(cluster, "iris");
      const progress: string[] = [];

      const outcome = await applyApiScaling(depsOf(cluster, progress), irisSpec());

      expect(outcome).toBe("created");
      const resourceId = scalableResourceId(cluster.refs.clusterName, "iris");
      const targets = await cluster.ports.autoScaling.describeScalableTargets({
        ServiceNamespace: "ecs",
        ResourceIds: [resourceId],
      });
      expect(targets.ScalableTargets).toHaveLength(1);
      expect(targets.ScalableTargets?.[0]).toMatchObject({
        ResourceId: "service/axon-demo/iris",
        ScalableDimension: "ecs:service:DesiredCount",
        MinCapacity: 2,
        MaxCapacity: 6,
      });
      const policies = await cluster.ports.autoScaling.describeScalingPolicies({
        ServiceNamespace: "ecs",
        ResourceId: resourceId,
      });
      expect(policies.ScalingPolicies).toHaveLength(1);
      const policy = policies.ScalingPolicies?.[0];
      expect(policy?.PolicyName).toBe(scalingPolicyName("iris"));
      expect(policy?.PolicyType).toBe("TargetTrackingScaling");
      expect(policy?.TargetTrackingScalingPolicyConfiguration).toMatchObject({
        TargetValue: 3,
        ScaleOutCooldown: 30,
        ScaleInCooldown: 240,
        CustomizedMetricSpecification: {
          Namespace: "Axon",
          MetricName: "InFlightRequests",
          Statistic: "Average",
          Unit: "Count",
          Dimensions: [
            { Name: "Cluster", Value: "axon-demo" },
            { Name: "Api", Value: "iris" },
          ],
        },
      });
      expect(progress).toEqual([
        "scalable target registered: 2–6 replicas",
        "scaling policy iris-in-flight created: 3 in flight per replica, cooldowns out 30s / in 240s",
      ]);
    });

    it("Given scaling already applied, When applied again with the same spec, Then it is unchanged and makes no mutating call", async () => {
      const cluster = await freshCluster();
      await createService(cluster, "iris");
      await applyApiScaling(depsOf(cluster), irisSpec());
      cluster.calls.length = 0;
      const progress: string[] = [];

      const outcome = await applyApiScaling(depsOf(cluster, progress), irisSpec());

      expect(outcome).toBe("unchanged");
      expect(cluster.calls.filter((call) => MUTATING.test(call))).toEqual([]);
      expect(cluster.calls.sort()).toEqual([
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScalingPolicies",
      ]);
      expect(progress).toEqual([]);
    });

    it("Given scaling applied, When max_replicas changes, Then the target is updated and the unchanged policy is not put again", async () => {
      const cluster = await freshCluster();
      await createService(cluster, "iris");
      await applyApiScaling(depsOf(cluster), irisSpec());
      cluster.calls.length = 0;

      const outcome = await applyApiScaling(
        depsOf(cluster),
        irisSpec(CONFIG.replace("max_replicas: 6", "max_replicas: 10")),
      );

      expect(outcome).toBe("updated");
      expect(cluster.calls.filter((call) => MUTATING.test(call))).toEqual([
        "application-autoscaling:RegisterScalableTarget",
      ]);
      const targets = await cluster.ports.autoScaling.describeScalableTargets({
        ServiceNamespace: "ecs",
        ResourceIds: [scalableResourceId(cluster.refs.clusterName, "iris")],
      });
      expect(targets.ScalableTargets?.[0]).toMatchObject({ MinCapacity: 2, MaxCapacity: 10 });
    });

    it("Given scaling applied, When the target concurrency changes, Then only the policy is put again", async () => {
      const cluster = await freshCluster();
      await createService(cluster, "iris");
      await applyApiScaling(depsOf(cluster), irisSpec());
      cluster.calls.length = 0;

      const outcome = await applyApiScaling(
        depsOf(cluster),
        irisSpec(
          CONFIG.replace("target_replica_concurrency: 3", "target_replica_concurrency: 4.5"),
        ),
      );

      expect(outcome).toBe("updated");
      expect(cluster.calls.filter((call) => MUTATING.test(call))).toEqual([
        "application-autoscaling:PutScalingPolicy",
      ]);
      const policies = await cluster.ports.autoScaling.describeScalingPolicies({
        ServiceNamespace: "ecs",
        ResourceId: scalableResourceId(cluster.refs.clusterName, "iris"),
      });
      expect(policies.ScalingPolicies).toHaveLength(1);
      expect(
        policies.ScalingPolicies?.[0]?.TargetTrackingScalingPolicyConfiguration?.TargetValue,
      ).toBe(4.5);
    });

    it("Given scaling applied, When removed (twice), Then no scalable target and no policy are left and the second removal is fine", async () => {
      const cluster = await freshCluster();
      await createService(cluster, "iris");
      await applyApiScaling(depsOf(cluster), irisSpec());
      const resourceId = scalableResourceId(cluster.refs.clusterName, "iris");

      await removeApiScaling(depsOf(cluster), "iris");
      cluster.calls.length = 0;
      await removeApiScaling(depsOf(cluster), "iris");

      expect(cluster.calls.filter((call) => MUTATING.test(call))).toEqual([]);

      const targets = await cluster.ports.autoScaling.describeScalableTargets({
        ServiceNamespace: "ecs",
      });
      expect(targets.ScalableTargets ?? []).toEqual([]);
      const policies = await cluster.ports.autoScaling.describeScalingPolicies({
        ServiceNamespace: "ecs",
        ResourceId: resourceId,
      });
      expect(policies.ScalingPolicies ?? []).toEqual([]);
    });
  },
);
