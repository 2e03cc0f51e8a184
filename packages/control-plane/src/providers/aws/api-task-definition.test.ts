import { readFileSync } from "node:fs";
import { parseApiConfig, type ApiSpec } from "@axon/config";
import { describe, expect, it } from "vitest";
import { DomainError } from "../../errors.js";
import { REPLICA_ENV } from "./replica-env.js";
import type { AwsClusterRefs } from "./api-names.js";
import { fargateSize, taskDefinitionInput } from "./api-task-definition.js";

const IRIS_YAML = readFileSync(
  new URL("../../../../../examples/iris-sklearn/axon.yaml", import.meta.url),
  "utf8",
);

/**
 * The iris example's spec with `extra` lines appended: the file ends inside `predictor`, so lines
 * indented by four spaces extend the predictor and lines indented by two add API sections.
 */
function irisSpec(extra = ""): ApiSpec {
  const [spec] = parseApiConfig(`${IRIS_YAML.trimEnd()}\n${extra}`, "axon.yaml").apis;
  if (spec === undefined) throw new Error("the iris example has no API");
  return spec;
}

function computeSpec(cpu: string, mem?: string, gpu = 0): ApiSpec {
  const lines = [`  compute:`, `    cpu: ${cpu}`];
  if (mem !== undefined) lines.push(`    mem: ${mem}`);
  if (gpu > 0) lines.push(`    gpu: ${gpu}`);
  return irisSpec(lines.join("\n"));
}

const REFS: AwsClusterRefs = {
  envName: "prod",
  region: "us-east-1",
  clusterName: "axon-demo",
  listenerArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/demo/1/2",
  loadBalancerArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/demo/1",
  loadBalancerDnsName: "demo-1.us-east-1.elb.amazonaws.com",
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
const SHA = "a".repeat(64);

describe("fargateSize", () => {
  it.each([
    ["200m", undefined, { cpu: 256, memory: 512 }],
    ["1", undefined, { cpu: 1024, memory: 2048 }],
    ["250m", "1Gi", { cpu: 256, memory: 1024 }],
    ["250m", "4Gi", { cpu: 512, memory: 4096 }],
    ["1", "2500Mi", { cpu: 1024, memory: 3072 }],
    ["1500m", "1Gi", { cpu: 2048, memory: 4096 }],
    ["4", "31Gi", { cpu: 8192, memory: 32768 }],
    ["8", "61Gi", { cpu: 16384, memory: 65536 }],
    ["16", "120Gi", { cpu: 16384, memory: 122880 }],
  ])(
    "Given compute.cpu %s and compute.mem %s, When sized, Then it is the smallest Fargate pair that holds both",
    (cpu, mem, expected) => {
      expect(fargateSize(computeSpec(cpu, mem))).toEqual(expected);
    },
  );

  it.each([
    ["17", undefined, 0, "iris-classifier.compute.cpu", "at most 16 vCPU"],
    ["1", "121Gi", 0, "iris-classifier.compute.mem", "at most 120Gi"],
    ["1", undefined, 1, "iris-classifier.compute.gpu", "no GPUs"],
  ])(
    "Given compute.cpu %s, mem %s and gpu %s, When sized, Then api.fargate_size names %s",
    (cpu, mem, gpu, field, fragment) => {
      const attempt = (): FargateSizeResult => fargateSize(computeSpec(cpu, mem, gpu));
      expect(attempt).toThrow(DomainError);
      try {
        attempt();
      } catch (error) {
        expect(error).toMatchObject({ code: "api.fargate_size", status: 400 });
        expect((error as DomainError).message).toContain(field);
        expect((error as DomainError).message).toContain(fragment);
        expect((error as DomainError).hint).toMatch(/0\.25|120Gi|gpu: 0/);
      }
    },
  );
});

type FargateSizeResult = ReturnType<typeof fargateSize>;

describe("taskDefinitionInput", () => {
  it("Given the iris example with env and a timeout, When built, Then it is a Fargate awsvpc task with the replica container, sorted env, awslogs, a node health check and the drain time", () => {
    // Given
    const spec = irisSpec(
      [
        "    timeout: 30s",
        "    env:",
        "      ZETA: z",
        "      ALPHA: a",
        "  compute:",
        "    cpu: 500m",
        "    mem: 2Gi",
      ].join("\n"),
    );
    // When
    const input = taskDefinitionInput(spec, REFS, SHA);
    // Then
    expect(input).toMatchObject({
      family: "axon-demo-iris-classifier",
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "512",
      memory: "2048",
      executionRoleArn: REFS.executionRoleArn,
      taskRoleArn: REFS.taskRoleArn,
      runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
    });
    const container = input.containerDefinitions?.[0];
    expect(container).toMatchObject({
      name: "replica",
      image: REFS.image,
      essential: true,
      memory: 2048,
      portMappings: [{ containerPort: 8080, protocol: "tcp" }],
      logConfiguration: {
        logDriver: "awslogs",
        options: {
          "awslogs-group": "/axon/demo",
          "awslogs-region": "us-east-1",
          "awslogs-stream-prefix": "iris-classifier",
        },
      },
      stopTimeout: 35,
    });
    const names = (container?.environment ?? []).map((entry) => entry.name ?? "");
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(["ALPHA", "ZETA", REPLICA_ENV.spec]));
    const env = Object.fromEntries(
      (container?.environment ?? []).map((entry) => [entry.name, entry.value]),
    );
    expect(env[REPLICA_ENV.bundle]).toBe(SHA);
    expect(env[REPLICA_ENV.bucket]).toBe(REFS.bucketName);
    expect(JSON.parse(env[REPLICA_ENV.spec] ?? "{}")).toEqual(spec);
    expect(container?.healthCheck?.command?.slice(0, 3)).toEqual(["CMD", "node", "-e"]);
    // The container's check is liveness (/livez answers while the environment downloads), so
    // its start period only covers Node starting; readiness (/healthz) is the target group's
    expect(container?.healthCheck?.command?.[3]).toContain("http://127.0.0.1:8080/livez");
    expect(container?.healthCheck?.command?.[3]).not.toContain("/healthz");
    expect(container?.healthCheck?.startPeriod).toBe(60);
    expect(input.tags).toEqual(
      expect.arrayContaining([
        { key: "axon:cluster", value: "demo" },
        { key: "axon:env", value: "prod" },
        { key: "axon:api", value: "iris-classifier" },
        { key: "axon:bundle", value: SHA },
      ]),
    );
  });

  it("Given a predictor timeout of 10m, When built, Then stopTimeout is Fargate's 120 s ceiling", () => {
    const spec = irisSpec("    timeout: 10m");
    expect(taskDefinitionInput(spec, REFS, SHA).containerDefinitions?.[0]?.stopTimeout).toBe(120);
  });

  it("Given the same spec twice, When built, Then the inputs are equal (hashable)", () => {
    expect(JSON.stringify(taskDefinitionInput(irisSpec(), REFS, SHA))).toBe(
      JSON.stringify(taskDefinitionInput(irisSpec(), REFS, SHA)),
    );
  });
});
