import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseClusterConfig } from "@axon/config";
import { describe, expect, it } from "vitest";
import {
  BATCH_WORKER_SQS_ACTIONS,
  generateClusterTemplate,
  splitCidr,
} from "./cluster-template.js";

const BASE = `cluster_name: axon-test
image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0
`;

const CERT_A =
  "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789";
const CERT_B =
  "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555";

/** Every networking and capacity variant a cluster.yaml can ask for. */
const VARIANTS: Record<string, string> = {
  "default-vpc-fargate": BASE,
  "default-vpc-spot-internal": `${BASE}capacity: {fargate_weight: 0, fargate_spot_weight: 1}\nload_balancer: {scheme: internal, allowed_cidrs: [10.0.0.0/8]}\n`,
  "new-vpc-no-nat-mixed": `${BASE}networking: {vpc: new}\ncapacity: {fargate_weight: 1, fargate_spot_weight: 3, fargate_base: 2}\n`,
  "new-vpc-single-nat": `${BASE}networking: {vpc: new, vpc_cidr: 10.1.0.0/20, nat_gateway: single}\n`,
  "new-vpc-ha-nat-tags": `${BASE}networking: {vpc: new, nat_gateway: highly_available}\nlog_retention_days: 365\ntags: {team: ml, Name: custom}\n`,
  "default-vpc-https": `${BASE}load_balancer: {certificate_arn: ${CERT_A}}\n`,
  "new-vpc-https-two-certs-domain": `${BASE}networking: {vpc: new}\nload_balancer:\n  certificate_arn: [${CERT_A}, ${CERT_B}]\n  allowed_cidrs: [203.0.113.0/24, 198.51.100.0/24]\n  domain: api.example.com\n  hosted_zone_id: Z0123456789ABCDEFGHIJ\n`,
  "default-vpc-domain-http": `${BASE}load_balancer: {domain: api.example.com, hosted_zone_id: Z0123456789ABCDEFGHIJ}\n`,
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

  it("Given any cluster, When its template is generated, Then the task role may receive, settle and count messages of this cluster's tagged job queues only, and never of a dead-letter queue", () => {
    // Given / When
    const template = templateOf("default-vpc-fargate");
    const resources = template["Resources"] as Record<
      string,
      { Type: string; Properties: Record<string, unknown> }
    >;
    const policies = resources["TaskRole"]?.Properties["Policies"] as Array<{
      PolicyDocument: { Statement: Array<Record<string, unknown>> };
    }>;
    const statements = policies.flatMap((policy) => policy.PolicyDocument.Statement);
    const sqs = statements.filter((statement) =>
      JSON.stringify(statement["Action"]).includes("sqs:"),
    );
    // Then
    // BASE's cluster_name.
    const clusterName = "axon-test";
    expect(sqs).toEqual([
      {
        Effect: "Allow",
        Action: BATCH_WORKER_SQS_ACTIONS,
        Resource: {
          "Fn::Sub": `arn:\${AWS::Partition}:sqs:\${AWS::Region}:\${AWS::AccountId}:axon-${clusterName}-*`,
        },
        Condition: { StringEquals: { "aws:ResourceTag/axon:cluster": clusterName } },
      },
      {
        Effect: "Deny",
        Action: BATCH_WORKER_SQS_ACTIONS,
        Resource: {
          "Fn::Sub": `arn:\${AWS::Partition}:sqs:\${AWS::Region}:\${AWS::AccountId}:axon-${clusterName}-*-dlq`,
        },
      },
    ]);
    // And the worker may write its batches' last failures and the on_job_complete claim, nothing else
    expect(statements).toContainEqual({
      Effect: "Allow",
      Action: "s3:PutObject",
      Resource: [
        { "Fn::Sub": "${BundleBucket.Arn}/jobs/*/failures/*" },
        { "Fn::Sub": "${BundleBucket.Arn}/jobs/*/job-complete" },
      ],
    });
    // No queue creation, sending or deletion: the control plane does those with the user's identity.
    expect(BATCH_WORKER_SQS_ACTIONS).not.toContain("sqs:SendMessage");
    expect(BATCH_WORKER_SQS_ACTIONS).not.toContain("sqs:DeleteQueue");
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

  it("Given two certificates and a domain, When the template is generated, Then 443 serves HTTPS with TLS 1.2/1.3, 80 redirects, the second certificate is added by SNI, an alias A record names the ALB and the outputs say https://domain", () => {
    // Given / When
    const template = templateOf("new-vpc-https-two-certs-domain");
    const resources = template["Resources"] as Record<
      string,
      { Type: string; Properties: Record<string, unknown> }
    >;
    const outputs = template["Outputs"] as Record<string, { Value: unknown }>;
    // Then
    expect(resources["Listener"]?.Properties["DefaultActions"]).toEqual([
      {
        Type: "redirect",
        RedirectConfig: {
          Protocol: "HTTPS",
          Port: "443",
          Host: "#{host}",
          Path: "/#{path}",
          Query: "#{query}",
          StatusCode: "HTTP_301",
        },
      },
    ]);
    expect(resources["HttpsListener"]?.Properties).toMatchObject({
      Port: 443,
      Protocol: "HTTPS",
      SslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
      Certificates: [{ CertificateArn: CERT_A }],
      DefaultActions: [{ Type: "forward", TargetGroupArn: { Ref: "DefaultTargetGroup" } }],
    });
    expect(resources["HttpsListenerCertificates"]?.Properties["Certificates"]).toEqual([
      { CertificateArn: CERT_B },
    ]);
    const ingress = resources["LoadBalancerSecurityGroup"]?.Properties["SecurityGroupIngress"] as {
      FromPort: number;
      CidrIp: string;
    }[];
    expect(ingress.map((rule) => `${rule.FromPort} ${rule.CidrIp}`)).toEqual([
      "80 203.0.113.0/24",
      "80 198.51.100.0/24",
      "443 203.0.113.0/24",
      "443 198.51.100.0/24",
    ]);
    expect(resources["DomainRecord"]?.Properties).toMatchObject({
      HostedZoneId: "Z0123456789ABCDEFGHIJ",
      Name: "api.example.com.",
      Type: "A",
    });
    expect(Object.values(resources).some((r) => r.Properties["Type"] === "AAAA")).toBe(false);
    expect(outputs["HttpsListenerArn"]?.Value).toEqual({ Ref: "HttpsListener" });
    expect(outputs["EndpointBaseUrl"]?.Value).toBe("https://api.example.com");
  });

  it("Given no certificate, When the template is generated, Then there is no HTTPS listener and endpoints are http://", () => {
    // Given / When
    const plain = templateOf("default-vpc-fargate");
    const named = templateOf("default-vpc-domain-http");
    // Then
    const resources = plain["Resources"] as Record<string, unknown>;
    expect(resources["HttpsListener"]).toBeUndefined();
    expect((plain["Outputs"] as Record<string, unknown>)["HttpsListenerArn"]).toBeUndefined();
    expect(
      (plain["Outputs"] as Record<string, { Value: unknown }>)["EndpointBaseUrl"]?.Value,
    ).toEqual({
      "Fn::Sub": "http://${LoadBalancer.DNSName}",
    });
    expect((named["Outputs"] as Record<string, { Value: unknown }>)["EndpointBaseUrl"]?.Value).toBe(
      "http://api.example.com",
    );
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
