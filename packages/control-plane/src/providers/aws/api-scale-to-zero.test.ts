/**
 * Scale to zero on ECS (issue 31) on a real moto server: for `min_replicas: 0` the scalable target
 * goes down to 0, target tracking reads the floored in-flight metric, and two alarms with their
 * step-scaling policies exist with the shapes api-scale-to-zero.ts explains; they go when
 * min_replicas is raised and when the API's scaling is removed. moto evaluates no alarm, so what
 * AWS does with them is from AWS's documentation (docs/aws-autoscaling.md), not from a test; the
 * rules fake (testing/fake-aws) checks the alarms and steps against AWS's documented limits.
 */
import { parseApiConfig, type ApiSpec } from "@axon/config";
import { afterAll, describe, expect, it } from "vitest";
import {
  REPLICA_CONTAINER,
  scalableResourceId,
  serviceName,
  targetGroupName,
  taskFamily,
  type EcsApiDeps,
} from "./api-names.js";
import {
  idleAlarmName,
  idlePolicyName,
  planScaleToZero,
  wakeAlarmName,
  wakePolicyName,
} from "./api-scale-to-zero.js";
import { applyApiScaling, removeApiScaling } from "./api-scaling.js";
import { FakeAws } from "./testing/fake-aws/fake-aws.js";
import { createMotoCluster, type MotoCluster } from "./testing/moto-cluster.js";
import { motoAvailable, startMoto, type MotoServer } from "./testing/moto-server.js";

const HAS_MOTO = motoAvailable();

const CONFIG = `
- name: sleepy
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
  autoscaling:
    min_replicas: 0
    max_replicas: 4
    scale_to_zero_after: 20m
`;

/** The same API without scale to zero (scale_to_zero_after applies only with min_replicas 0). */
const AWAKE = CONFIG.replace("min_replicas: 0", "min_replicas: 1").replace(
  /\n\s*scale_to_zero_after: 20m/,
  "",
);

function spec(config = CONFIG): ApiSpec {
  const [parsed] = parseApiConfig(config, "axon.yaml").apis;
  if (parsed === undefined) throw new Error("the config has no API");
  return parsed;
}

let server: MotoServer | undefined;
afterAll(async () => {
  await server?.stop();
});

async function freshCluster(): Promise<MotoCluster> {
  server ??= await startMoto();
  await server.reset();
  return createMotoCluster(server);
}

/** The service and target group a deploy makes in real use. */
async function createApi(cluster: MotoCluster, apiName: string): Promise<string> {
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
    desiredCount: 1,
    launchType: "FARGATE",
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: refs.taskSubnetIds,
        securityGroups: [refs.taskSecurityGroupId],
      },
    },
  });
  const group = await ports.elb.createTargetGroup({
    Name: targetGroupName(refs.clusterName, apiName),
    Protocol: "HTTP",
    Port: 8080,
    VpcId: refs.vpcId,
    TargetType: "ip",
  });
  return group.TargetGroups?.[0]?.TargetGroupArn ?? "";
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

describe("planScaleToZero", () => {
  it("Given scale_to_zero_after 24h (the schema's most), When planned, Then the idle alarm counts 1440 one-minute periods, within PutMetricAlarm's one day, and the rules fake accepts both alarms and steps", async () => {
    const { cloudWatch, autoScaling } = new FakeAws().ports();
    const refs = {
      clusterName: "axon-demo",
      loadBalancerArn: "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/axon-demo/50dc",
    } as MotoCluster["refs"];
    const plan = planScaleToZero(
      spec(CONFIG.replace("20m", "24h")),
      refs,
      "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/axon-demo-sleepy/73e2",
    );
    expect(plan?.idleMinutes).toBe(1440);
    expect(plan?.idle.alarm).toMatchObject({ EvaluationPeriods: 1440, DatapointsToAlarm: 1440 });
    if (plan === undefined) throw new Error("no plan");
    for (const { alarm, policy } of [plan.idle, plan.wake]) {
      await cloudWatch.putMetricAlarm({ ...alarm });
      await autoScaling.putScalingPolicy({ ...policy });
    }
  });

  it("Given a few seconds (below the load balancer's one-minute metrics), When planned, Then one minute; Given min_replicas 1, Then no plan", () => {
    const refs = { clusterName: "c", loadBalancerArn: "arn:a:b:c:d:loadbalancer/app/c/1" };
    expect(
      planScaleToZero(
        spec(CONFIG.replace("20m", "15s")),
        refs as MotoCluster["refs"],
        "arn:a:b:c:d:targetgroup/t/2",
      )?.idleMinutes,
    ).toBe(1);
    expect(
      planScaleToZero(spec(AWAKE), refs as MotoCluster["refs"], "arn:a:b:c:d:targetgroup/t/2"),
    ).toBeUndefined();
  });
});

describe.skipIf(!HAS_MOTO)(
  "scale to zero's alarms and policies on moto (skipped when python3 has no moto)",
  () => {
    it("Given an API with min_replicas 0, When its scaling is applied, Then the target reaches 0, target tracking reads the floored metric, and the idle and wake alarms invoke their step policies", async () => {
      const cluster = await freshCluster();
      const groupArn = await createApi(cluster, "sleepy");
      const progress: string[] = [];

      await applyApiScaling(depsOf(cluster, progress), spec());

      const { ports, refs } = cluster;
      const resourceId = scalableResourceId(refs.clusterName, "sleepy");
      const targets = await ports.autoScaling.describeScalableTargets({
        ServiceNamespace: "ecs",
        ResourceIds: [resourceId],
      });
      expect(targets.ScalableTargets?.[0]).toMatchObject({ MinCapacity: 0, MaxCapacity: 4 });
      const policies = await ports.autoScaling.describeScalingPolicies({
        ServiceNamespace: "ecs",
        ResourceId: resourceId,
      });
      const byName = new Map(
        (policies.ScalingPolicies ?? []).map((policy) => [policy.PolicyName, policy]),
      );
      expect(new Set(byName.keys())).toEqual(
        new Set(["sleepy-in-flight", idlePolicyName("sleepy"), wakePolicyName("sleepy")]),
      );
      const tracking = byName.get("sleepy-in-flight")?.TargetTrackingScalingPolicyConfiguration;
      expect(
        tracking?.CustomizedMetricSpecification?.Metrics?.map((m) => m.Expression ?? m.Id),
      ).toEqual(["inflight", "inflight + 0.001"]);
      expect(byName.get(idlePolicyName("sleepy"))?.StepScalingPolicyConfiguration).toMatchObject({
        AdjustmentType: "ExactCapacity",
        StepAdjustments: [{ MetricIntervalUpperBound: 0, ScalingAdjustment: 0 }],
      });
      expect(byName.get(wakePolicyName("sleepy"))?.StepScalingPolicyConfiguration).toMatchObject({
        AdjustmentType: "ChangeInCapacity",
        StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }],
        Cooldown: 300,
      });

      const alarms = await ports.cloudWatch.describeAlarms({
        AlarmNames: [
          idleAlarmName(refs.clusterName, "sleepy"),
          wakeAlarmName(refs.clusterName, "sleepy"),
        ],
      });
      const idle = alarms.MetricAlarms?.find((a) => a.AlarmName?.endsWith("-idle"));
      const wake = alarms.MetricAlarms?.find((a) => a.AlarmName?.endsWith("-wake"));
      expect(idle).toMatchObject({
        ComparisonOperator: "LessThanThreshold",
        Threshold: 1,
        EvaluationPeriods: 20,
        DatapointsToAlarm: 20,
        TreatMissingData: "breaching",
        AlarmActions: [byName.get(idlePolicyName("sleepy"))?.PolicyARN],
      });
      const requests = idle?.Metrics?.find((m) => m.Id === "requests")?.MetricStat;
      expect(requests?.Metric).toMatchObject({
        Namespace: "AWS/ApplicationELB",
        MetricName: "RequestCount",
        Dimensions: [
          { Name: "TargetGroup", Value: groupArn.split(":").slice(5).join(":") },
          {
            Name: "LoadBalancer",
            Value: refs.loadBalancerArn
              .split(":")
              .slice(5)
              .join(":")
              .replace(/^loadbalancer\//, ""),
          },
        ],
      });
      expect(requests).toMatchObject({ Period: 60, Stat: "Sum" });
      expect(wake).toMatchObject({
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        EvaluationPeriods: 1,
        TreatMissingData: "notBreaching",
        AlarmActions: [byName.get(wakePolicyName("sleepy"))?.PolicyARN],
      });
      expect(wake?.Metrics?.find((m) => m.ReturnData === true)?.Expression).toBe(
        "IF(FILL(elb503, 0) > 0 AND FILL(healthy, 0) < 1, 1, 0)",
      );
      expect(progress.at(-1)).toMatch(/^scale to zero set: 0 tasks after 20 idle minute\(s\)/);
    });

    it("Given scale to zero applied, When applied again unchanged, Then only reads are made; When scale_to_zero_after changes, Then only the idle alarm is put", async () => {
      const cluster = await freshCluster();
      await createApi(cluster, "sleepy");
      await applyApiScaling(depsOf(cluster), spec());
      cluster.calls.length = 0;

      await applyApiScaling(depsOf(cluster), spec());

      expect(
        cluster.calls.filter((call) => /:(Register|Deregister|Put|Delete)/.test(call)),
      ).toEqual([]);
      await applyApiScaling(depsOf(cluster), spec(CONFIG.replace("20m", "45m")));
      expect(
        cluster.calls.filter((call) => /:(Register|Deregister|Put|Delete)/.test(call)),
      ).toEqual(["cloudwatch:PutMetricAlarm"]);
      const alarms = await cluster.ports.cloudWatch.describeAlarms({
        AlarmNames: [idleAlarmName(cluster.refs.clusterName, "sleepy")],
      });
      expect(alarms.MetricAlarms?.[0]?.EvaluationPeriods).toBe(45);
    });

    it("Given scale to zero applied, When min_replicas becomes 1 and then the scaling is removed, Then its alarms and step policies go, and then everything", async () => {
      const cluster = await freshCluster();
      await createApi(cluster, "sleepy");
      const deps = depsOf(cluster);
      await applyApiScaling(deps, spec());
      const { ports, refs } = cluster;
      const alarmNames = [
        idleAlarmName(refs.clusterName, "sleepy"),
        wakeAlarmName(refs.clusterName, "sleepy"),
      ];
      const resourceId = scalableResourceId(refs.clusterName, "sleepy");
      const policyNames = async () =>
        (
          await ports.autoScaling.describeScalingPolicies({
            ServiceNamespace: "ecs",
            ResourceId: resourceId,
          })
        ).ScalingPolicies?.map((p) => p.PolicyName);

      await applyApiScaling(deps, spec(AWAKE));

      expect(
        (await ports.cloudWatch.describeAlarms({ AlarmNames: alarmNames })).MetricAlarms,
      ).toEqual([]);
      expect(await policyNames()).toEqual(["sleepy-in-flight"]);

      await applyApiScaling(deps, spec());
      expect(
        (await ports.cloudWatch.describeAlarms({ AlarmNames: alarmNames })).MetricAlarms,
      ).toHaveLength(2);
      await removeApiScaling(deps, "sleepy");
      expect(
        (await ports.cloudWatch.describeAlarms({ AlarmNames: alarmNames })).MetricAlarms,
      ).toEqual([]);
      expect(await policyNames()).toEqual([]);
    });
  },
);
