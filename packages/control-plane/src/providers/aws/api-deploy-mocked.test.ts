/**
 * What moto cannot show about a deploy (shared/reference/moto.md): moto 5.2 neither stores nor
 * returns a service's deploymentConfiguration, and has no canary strategy or advanced load-balancer
 * configuration, so the inputs of CreateService / UpdateService and of the canary's alarm are
 * checked here on mocked SDK clients (aws-sdk-client-mock replaces every client's `send`), reached
 * through the same `connectAws` ports the daemon uses.
 */
import { readFileSync } from "node:fs";
import {
  CloudWatchClient,
  DeleteAlarmsCommand,
  DescribeAlarmsCommand,
  PutMetricAlarmCommand,
} from "@aws-sdk/client-cloudwatch";
import {
  CreateServiceCommand,
  DescribeServicesCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  TagResourceCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import {
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
  ModifyTargetGroupAttributesCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { parseApiConfig, type ApiSpec } from "@axon/config";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { bundleKey } from "./replica-env.js";
import { deployApiResources } from "./api-deploy.js";
import {
  alternateTargetGroupName,
  rolloutAlarmName,
  targetGroupName,
  type AwsClusterRefs,
  type EcsApiDeps,
} from "./api-names.js";
import { connectAws } from "./sdk.js";

const ecs = mockClient(ECSClient);
const cloudWatch = mockClient(CloudWatchClient);
const elb = mockClient(ElasticLoadBalancingV2Client);
const s3 = mockClient(S3Client);
afterEach(() => {
  ecs.reset();
  cloudWatch.reset();
  elb.reset();
  s3.reset();
});

const IRIS_YAML = readFileSync(
  new URL("../../../../../examples/iris-sklearn/axon.yaml", import.meta.url),
  "utf8",
);
const SHA = "c".repeat(64);
const ACCOUNT = "arn:aws:elasticloadbalancing:us-east-1:123456789012";
const REFS: AwsClusterRefs = {
  envName: "prod",
  region: "us-east-1",
  clusterName: "axon-demo",
  listenerArn: `${ACCOUNT}:listener/app/axon-demo/50dc6c495c0c9188/f2f7dc8efc522ab2`,
  loadBalancerArn: `${ACCOUNT}:loadbalancer/app/axon-demo/50dc6c495c0c9188`,
  loadBalancerDnsName: "axon-demo-1.us-east-1.elb.amazonaws.com",
  bucketName: "axon-demo-bundles",
  logGroupName: "/axon/demo",
  executionRoleArn: "arn:aws:iam::123456789012:role/exec",
  taskRoleArn: "arn:aws:iam::123456789012:role/task",
  taskSecurityGroupId: "sg-1",
  taskSubnetIds: ["subnet-1", "subnet-2"],
  assignPublicIp: false,
  vpcId: "vpc-1",
  image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0",
  ecsInfrastructureRoleArn: "arn:aws:iam::123456789012:role/ecs-infrastructure",
};
const PRIMARY = `${ACCOUNT}:targetgroup/${targetGroupName(REFS.clusterName, "iris-classifier")}/1`;
const ALTERNATE = `${ACCOUNT}:targetgroup/${alternateTargetGroupName(REFS.clusterName, "iris-classifier")}/2`;
const RULE = `${ACCOUNT}:listener-rule/app/axon-demo/50dc6c495c0c9188/f2f7dc8efc522ab2/9`;
const SERVICE_ARN = "arn:aws:ecs:us-east-1:123456789012:service/axon-demo/iris-classifier";

/** The iris example with `extra` appended (two-space lines add sections to the API). */
function exampleSpec(extra: string): ApiSpec {
  const [spec] = parseApiConfig(`${IRIS_YAML.trimEnd()}\n${extra}`, "axon.yaml").apis;
  if (spec === undefined) throw new Error("the example has no API");
  return spec;
}

async function harness(refs = REFS): Promise<{ deps: EcsApiDeps; order: string[] }> {
  const ports = await connectAws("us-east-1");
  const order: string[] = [];
  s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: bundleKey(SHA) }] });
  elb.on(DescribeTargetGroupsCommand).callsFake((input: { Names?: string[] }) => {
    const name = input.Names?.[0] ?? "";
    const arn = [PRIMARY, ALTERNATE].find((candidate) => candidate.includes(`/${name}/`));
    return { TargetGroups: [{ TargetGroupName: name, TargetGroupArn: arn }] };
  });
  elb.on(ModifyTargetGroupAttributesCommand).resolves({});
  elb.on(DescribeLoadBalancerAttributesCommand).resolves({
    Attributes: [{ Key: "idle_timeout.timeout_seconds", Value: "120" }],
  });
  elb.on(DescribeRulesCommand).resolves({ Rules: [{ IsDefault: true, Priority: "default" }] });
  elb.on(CreateRuleCommand).resolves({ Rules: [{ RuleArn: RULE }] });
  ecs.on(RegisterTaskDefinitionCommand).resolves({
    taskDefinition: {
      taskDefinitionArn:
        "arn:aws:ecs:us-east-1:123456789012:task-definition/axon-demo-iris-classifier:4",
    },
  });
  ecs.on(CreateServiceCommand).callsFake(() => {
    order.push("CreateService");
    return { service: { serviceArn: SERVICE_ARN } };
  });
  ecs.on(UpdateServiceCommand).callsFake(() => {
    order.push("UpdateService");
    return { service: { serviceArn: SERVICE_ARN } };
  });
  ecs.on(TagResourceCommand).callsFake(() => {
    order.push("TagResource");
    return {};
  });
  cloudWatch.on(PutMetricAlarmCommand).callsFake(() => {
    order.push("PutMetricAlarm");
    return {};
  });
  cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
  return {
    order,
    deps: {
      ports,
      refs,
      target: ports.target,
      signal: new AbortController().signal,
      pollMs: 10,
    },
  };
}

function request(spec: ApiSpec) {
  return {
    spec,
    bundleSha256: SHA,
    readBundle: () => Promise.reject(new Error("the bucket has it: not read")),
    configFile: "axon.yaml",
  };
}

describe("deployApiResources: rollout settings moto does not keep", () => {
  it("Given max_surge 1 and max_unavailable 0 over 3 replicas, When created, Then CreateService carries a rolling deploymentConfiguration in percent with the circuit breaker, and no alarm is made", async () => {
    // Given
    const { deps } = await harness();
    ecs.on(DescribeServicesCommand).resolves({ services: [] });
    const spec = exampleSpec(
      "  autoscaling:\n    min_replicas: 3\n  update_strategy:\n    max_surge: 1\n    max_unavailable: 0",
    );
    // When
    const outcome = await deployApiResources(deps, request(spec));
    // Then
    expect(outcome.outcome).toBe("created");
    const [create] = ecs.commandCalls(CreateServiceCommand);
    const input = create?.args[0].input;
    expect(input).toMatchObject({
      cluster: "axon-demo",
      serviceName: "iris-classifier",
      desiredCount: 3,
      deploymentConfiguration: {
        strategy: "ROLLING",
        maximumPercent: 134,
        minimumHealthyPercent: 100,
        deploymentCircuitBreaker: { enable: true, rollback: true },
      },
      deploymentController: { type: "ECS" },
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: ["subnet-1", "subnet-2"],
          securityGroups: ["sg-1"],
          assignPublicIp: "DISABLED",
        },
      },
      loadBalancers: [{ targetGroupArn: PRIMARY, containerName: "replica", containerPort: 8080 }],
      healthCheckGracePeriodSeconds: 1200,
      propagateTags: "SERVICE",
      enableECSManagedTags: true,
    });
    expect(input?.launchType).toBeUndefined();
    expect(input?.capacityProviderStrategy).toBeUndefined();
    expect(input?.deploymentConfiguration?.alarms).toBeUndefined();
    expect(cloudWatch.commandCalls(PutMetricAlarmCommand)).toEqual([]);
    expect(cloudWatch.commandCalls(DeleteAlarmsCommand)).toEqual([]);
    expect(elb.commandCalls(CreateTargetGroupCommand)).toEqual([]);
  });

  it("Given a running service and a canary of 20% for 5m, When updated, Then the alarm is put first, UpdateService carries CANARY with the alarm and both target groups and no desiredCount, and the hash is tagged last", async () => {
    // Given
    const { deps, order } = await harness();
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        {
          serviceName: "iris-classifier",
          serviceArn: SERVICE_ARN,
          status: "ACTIVE",
          desiredCount: 7,
          loadBalancers: [
            { targetGroupArn: PRIMARY, containerName: "replica", containerPort: 8080 },
          ],
          tags: [{ key: "axon:spec-hash", value: "an older hash" }],
        },
      ],
    });
    const spec = exampleSpec(
      "  update_strategy:\n    canary:\n      traffic_percent: 20\n      bake_time: 5m",
    );
    // When
    const outcome = await deployApiResources(deps, request(spec));
    // Then
    expect(outcome.outcome).toBe("updated");
    expect(order).toEqual(["PutMetricAlarm", "UpdateService", "TagResource"]);
    const update = ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input;
    expect(update).toMatchObject({
      cluster: "axon-demo",
      service: "iris-classifier",
      deploymentConfiguration: {
        strategy: "CANARY",
        canaryConfiguration: { canaryPercent: 20, canaryBakeTimeInMinutes: 5 },
        alarms: {
          alarmNames: [rolloutAlarmName("axon-demo", "iris-classifier")],
          rollback: true,
          enable: true,
        },
        deploymentCircuitBreaker: { enable: true, rollback: true },
      },
      loadBalancers: [
        {
          targetGroupArn: PRIMARY,
          containerName: "replica",
          containerPort: 8080,
          advancedConfiguration: {
            alternateTargetGroupArn: ALTERNATE,
            productionListenerRule: RULE,
            roleArn: REFS.ecsInfrastructureRoleArn,
          },
        },
      ],
    });
    expect(update && "desiredCount" in update).toBe(false);
    // The rule starts with all traffic on the primary group; ECS moves the weights.
    expect(elb.commandCalls(CreateRuleCommand)[0]?.args[0].input.Actions).toEqual([
      {
        Type: "forward",
        ForwardConfig: {
          TargetGroups: [
            { TargetGroupArn: PRIMARY, Weight: 100 },
            { TargetGroupArn: ALTERNATE, Weight: 0 },
          ],
        },
      },
    ]);
    // The alarm: 5xx over requests of either group, per minute, above 1%, missing data fine.
    const alarm = cloudWatch.commandCalls(PutMetricAlarmCommand)[0]?.args[0].input;
    expect(alarm).toMatchObject({
      AlarmName: "axon-demo-iris-classifier-5xx",
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: "notBreaching",
    });
    const metrics = alarm?.Metrics ?? [];
    expect(metrics.filter((metric) => metric.ReturnData === true)).toEqual([
      {
        Id: "rate",
        ReturnData: true,
        Expression: "MAX([rate0, rate1])",
        Label: "5xx % of requests",
      },
    ]);
    expect(metrics.find((metric) => metric.Id === "errors1")?.MetricStat).toEqual({
      Metric: {
        Namespace: "AWS/ApplicationELB",
        MetricName: "HTTPCode_Target_5XX_Count",
        Dimensions: [
          { Name: "TargetGroup", Value: ALTERNATE.slice(ALTERNATE.indexOf("targetgroup/")) },
          { Name: "LoadBalancer", Value: "app/axon-demo/50dc6c495c0c9188" },
        ],
      },
      Period: 60,
      Stat: "Sum",
    });
    expect(
      metrics.find((metric) => metric.Id === "requests0")?.MetricStat?.Metric?.MetricName,
    ).toBe("RequestCount");
    expect(metrics.find((metric) => metric.Id === "rate0")?.Expression).toBe(
      "IF(FILL(requests0, 0) > 0, 100 * FILL(errors0, 0) / FILL(requests0, 0), 0)",
    );
    const tags = ecs.commandCalls(TagResourceCommand)[0]?.args[0].input.tags ?? [];
    expect(tags.find((tag) => tag.key === "axon:spec-hash")?.value).toMatch(/^[0-9a-f]{64}$/);
  });

  it("Given a canary on a cluster without the ECS infrastructure role, When deployed, Then api.canary_unavailable is thrown before any AWS call", async () => {
    // Given
    const { ecsInfrastructureRoleArn: _omitted, ...refs } = REFS;
    const { deps } = await harness(refs);
    const spec = exampleSpec("  update_strategy:\n    canary: {}");
    // When
    const attempt = deployApiResources(deps, request(spec));
    // Then
    await expect(attempt).rejects.toMatchObject({ code: "api.canary_unavailable", status: 409 });
    for (const client of [ecs, cloudWatch, elb, s3]) expect(client.calls()).toEqual([]);
  });
});
