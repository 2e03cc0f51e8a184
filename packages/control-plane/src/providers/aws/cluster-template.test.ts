import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseClusterConfig } from "@axon/config";
import { describe, expect, it } from "vitest";
import { generateClusterTemplate, splitCidr } from "./cluster-template.js";

const BASE = `cluster_name: axon-test
image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0
`;

/** Every networking and capacity variant a cluster.yaml can ask for. */
const VARIANTS: Record<string, string> = {
  "default-vpc-fargate": BASE,
  "default-vpc-spot-internal": `${BASE}capacity: {fargate_weight: 0, fargate_spot_weight: 1}\nload_balancer: {scheme: internal, allowed_cidrs: [10.0.0.0/8]}\n`,
  "new-vpc-no-nat-mixed": `${BASE}networking: {vpc: new}\ncapacity: {fargate_weight: 1, fargate_spot_weight: 3, fargate_base: 2}\n`,
  "new-vpc-single-nat": `${BASE}networking: {vpc: new, vpc_cidr: 10.1.0.0/20, nat_gateway: single}\n`,
  "new-vpc-ha-nat-tags": `${BASE}networking: {vpc: new, nat_gateway: highly_available}\nlog_retention_days: 365\ntags: {team: ml, Name: custom}\n`,
};

const DEFAULT_VPC = {
  vpcId: "vpc-0a1b2c3d4e5f60718",
  subnetIds: ["subnet-0a1b2c3d4e5f60718", "subnet-0b1b2c3d4e5f60718"],
};

function templateOf(name: string): Record<string, unknown> {
  const config = parseClusterConfig(VARIANTS[name] ?? "", "cluster.yaml");
  return generateClusterTemplate({ config, envName: "test-env", defaultVpc: DEFAULT_VPC });
}

const cfnLint = spawnSync("cfn-lint", ["--version"], { encoding: "utf8" });
const hasCfnLint = cfnLint.status === 0;

describe("generateClusterTemplate", () => {
  it.skipIf(!hasCfnLint)(
    "Given each networking/capacity variant, When cfn-lint checks the templates, Then it reports nothing (skipped only when cfn-lint is not installed)",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "axon-cfn-"));
      try {
        const files = Object.keys(VARIANTS).map((name) => {
          const file = join(dir, `${name}.json`);
          writeFileSync(file, JSON.stringify(templateOf(name), null, 2));
          return file;
        });
        // One cfn-lint process for every variant: it starts slowly (~2 s).
        const run = spawnSync("cfn-lint", ["--regions", "us-east-1", "--", ...files], {
          encoding: "utf8",
        });
        expect(run.stdout + run.stderr).toBe("");
        expect(run.status).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it("Given a new VPC with highly_available NAT, Then replicas run in private subnets behind two NAT gateways", () => {
    const template = templateOf("new-vpc-ha-nat-tags");
    const resources = template["Resources"] as Record<
      string,
      { Type: string; Properties: Record<string, unknown> }
    >;
    const types = Object.values(resources).map((resource) => resource.Type);
    expect(types.filter((type) => type === "AWS::EC2::NatGateway")).toHaveLength(2);
    expect(types.filter((type) => type === "AWS::EC2::Subnet")).toHaveLength(4);
    const outputs = template["Outputs"] as Record<string, { Value: unknown }>;
    expect(outputs["AssignPublicIp"]?.Value).toBe("DISABLED");
    expect(outputs["TaskSubnetIds"]?.Value).toEqual({
      "Fn::Join": [",", [{ Ref: "PrivateSubnetA" }, { Ref: "PrivateSubnetB" }]],
    });
    // Every taggable resource carries the cluster and environment tags (and the user's, Name wins)
    const vpcTags = resources["Vpc"]?.Properties["Tags"];
    expect(vpcTags).toEqual([
      { Key: "team", Value: "ml" },
      { Key: "axon:cluster", Value: "axon-test" },
      { Key: "axon:env", Value: "test-env" },
      { Key: "Name", Value: "axon-axon-test" },
    ]);
    expect(resources["LogGroup"]?.Properties["RetentionInDays"]).toBe(365);
  });

  it("Given the default VPC and spot only, Then no network is created and the strategy is FARGATE_SPOT alone", () => {
    const template = templateOf("default-vpc-spot-internal");
    const resources = template["Resources"] as Record<
      string,
      { Type: string; Properties: Record<string, unknown> }
    >;
    expect(Object.values(resources).some((resource) => resource.Type === "AWS::EC2::VPC")).toBe(
      false,
    );
    expect(resources["Cluster"]?.Properties["DefaultCapacityProviderStrategy"]).toEqual([
      { CapacityProvider: "FARGATE_SPOT", Weight: 1 },
    ]);
    expect(resources["LoadBalancer"]?.Properties["Scheme"]).toBe("internal");
    expect(resources["LoadBalancerSecurityGroup"]?.Properties["SecurityGroupIngress"]).toEqual([
      expect.objectContaining({ CidrIp: "10.0.0.0/8", FromPort: 80 }),
    ]);
  });

  it("Given any cluster, When its template is generated, Then the listener's default action is a forward (ECS canaries refuse mixed actions) and ECS's infrastructure role trusts ecs.amazonaws.com as AWS documents it", () => {
    // Given / When
    const template = templateOf("default-vpc-fargate");
    const resources = template["Resources"] as Record<
      string,
      { Type: string; Properties: Record<string, unknown> }
    >;
    // Then
    expect(resources["Listener"]?.Properties["DefaultActions"]).toEqual([
      { Type: "forward", TargetGroupArn: { Ref: "DefaultTargetGroup" } },
    ]);
    expect(resources["DefaultTargetGroup"]?.Type).toBe("AWS::ElasticLoadBalancingV2::TargetGroup");
    expect(resources["EcsInfrastructureRole"]?.Properties["AssumeRolePolicyDocument"]).toEqual({
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Principal: { Service: "ecs.amazonaws.com" }, Action: "sts:AssumeRole" },
      ],
    });
  });

  it("splits a range into equal subnets", () => {
    expect(splitCidr("10.0.0.0/16", 4)).toEqual([
      "10.0.0.0/18",
      "10.0.64.0/18",
      "10.0.128.0/18",
      "10.0.192.0/18",
    ]);
    expect(splitCidr("10.1.0.0/20", 4)).toEqual([
      "10.1.0.0/22",
      "10.1.4.0/22",
      "10.1.8.0/22",
      "10.1.12.0/22",
    ]);
  });
});
