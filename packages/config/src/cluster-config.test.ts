import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseClusterConfig } from "./cluster-config.js";
import { ConfigError, formatDiagnostic } from "./diagnostics.js";

/** Parses text that must be rejected and returns every diagnostic as one line each. */
function problemsOf(text: string): string[] {
  try {
    parseClusterConfig(text, "cluster.yaml");
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).diagnostics.map(formatDiagnostic);
  }
  throw new Error("expected the cluster config to be rejected");
}

const IMAGE = "image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0";

describe("parseClusterConfig", () => {
  it("fills every default from the schema for a minimal file", () => {
    // Given a file with only the two required keys
    const text = `cluster_name: axon-prod\n${IMAGE}\n`;
    // When it is parsed
    const config = parseClusterConfig(text, "cluster.yaml");
    // Then the default VPC, on-demand Fargate, a public ALB open to all and 30-day logs are chosen
    expect(config).toEqual({
      clusterName: "axon-prod",
      image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0",
      networking: { vpc: "default" },
      capacity: { fargateWeight: 1, fargateSpotWeight: 0, fargateBase: 0 },
      loadBalancer: { scheme: "internet-facing", allowedCidrs: ["0.0.0.0/0"] },
      logRetentionDays: 30,
      tags: {},
    });
  });

  it("Given a cluster.yaml without cluster_name, an empty one and a bad name, When parsed, Then the suggested name does not repeat the axon- prefix the stack adds", () => {
    // Given / When
    const missing = problemsOf(`${IMAGE}\n`);
    const empty = problemsOf("");
    const bad = problemsOf(`cluster_name: Prod\n${IMAGE}\n`);
    // Then
    expect(missing.join("\n")).toContain("(e.g. cluster_name: prod; the stack is then axon-prod)");
    expect(empty.join("\n")).toContain('e.g. "cluster_name: prod" (the stack is then axon-prod)');
    expect(bad.join("\n")).toContain(
      "(for example prod: the stack and ECS cluster are then axon-prod)",
    );
    for (const line of [...missing, ...empty, ...bad]) expect(line).not.toContain("axon-axon-");
  });

  it("reads the example cluster.yaml", () => {
    // Given the example shipped in examples/aws
    const text = readFileSync(
      new URL("../../../examples/aws/cluster.yaml", import.meta.url),
      "utf8",
    );
    // When it is parsed
    const config = parseClusterConfig(text, "cluster.yaml");
    // Then a new VPC without NAT and a spot-heavy capacity mix come out
    expect(config.networking).toEqual({ vpc: "new", vpcCidr: "10.20.0.0/16", natGateway: "none" });
    expect(config.capacity).toEqual({ fargateWeight: 1, fargateSpotWeight: 3, fargateBase: 1 });
    expect(config.region).toBe("us-east-1");
  });

  it("reports a wrong type, an unknown key, an 8-day retention and a bad CIDR together, each at file:line:col", () => {
    // Given a file with four mistakes on four lines
    const text = [
      "cluster_name: axon-prod",
      IMAGE,
      "capacity:",
      "  fargate_weight: lots",
      "log_retention_days: 8",
      "load_balancer:",
      "  allowed_cidr: [10.0.0.0/8]",
      "  scheme: internal",
      "networking:",
      "  vpc: new",
      "  vpc_cidr: 300.0.0.0/16",
      "",
    ].join("\n");
    // When it is parsed
    const problems = problemsOf(text);
    // Then every problem is named with its place and what to do
    expect(problems).toEqual([
      'cluster.yaml:4:19: capacity.fargate_weight: must be an integer (got "lots")',
      "cluster.yaml:5:21: log_retention_days: must be a retention CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653 days (got 8)",
      "cluster.yaml:7:3: load_balancer.allowed_cidr: key allowed_cidr is not supported (did you mean allowed_cidrs?)",
      'cluster.yaml:11:13: networking.vpc_cidr: must be an IPv4 range from /16 to /24 with each number 0–255, e.g. 10.0.0.0/16 (got "300.0.0.0/16")',
    ]);
  });

  it("rejects an allowed CIDR out of range at its list item", () => {
    // Given 300.0.0.0/8 among the allowed ranges
    const text = `cluster_name: c\n${IMAGE}\nload_balancer:\n  allowed_cidrs:\n    - 10.0.0.0/8\n    - 300.0.0.0/8\n`;
    // When it is parsed, Then the second item is named
    expect(problemsOf(text)).toEqual([
      'cluster.yaml:6:7: load_balancer.allowed_cidrs.1: must be an IPv4 range such as 0.0.0.0/0 or 203.0.113.0/24, each number 0–255 (got "300.0.0.0/8")',
    ]);
  });

  it("applies the cross-field rules once the schema passes", () => {
    // Given NAT settings on the default VPC, and no capacity weight at all
    const text = [
      "cluster_name: c",
      IMAGE,
      "networking:",
      "  nat_gateway: single",
      "capacity: {fargate_weight: 0}",
      "",
    ].join("\n");
    // When it is parsed, Then both are reported
    expect(problemsOf(text)).toEqual([
      "cluster.yaml:4:3: networking.nat_gateway: only applies to a new VPC: set networking.vpc: new, or remove nat_gateway",
      "cluster.yaml:5:1: capacity: fargate_weight and fargate_spot_weight cannot both be 0: give one of them a weight, e.g. fargate_weight: 1",
    ]);
  });

  it("names a VPC range that does not start its block, and the missing image", () => {
    // Given a misaligned range and no image
    const text = "cluster_name: c\nnetworking: {vpc: new, vpc_cidr: 10.0.5.0/16}\n";
    // When it is parsed, Then the image is asked for first (schema), the range after a fix
    expect(problemsOf(text)).toEqual([
      "cluster.yaml:1:1: image: must be provided (the replica image's URI; docs/aws.md says how to build and push it)",
    ]);
    expect(problemsOf(`${text}${IMAGE}\n`)).toEqual([
      'cluster.yaml:2:34: networking.vpc_cidr: is not the start of its range (got "10.0.5.0/16"): use 10.0.0.0/16',
    ]);
  });

  it("rejects YAML that is not a map, and tag keys AWS reserves", () => {
    // Given a list, and a tag key starting with aws:
    expect(problemsOf("- a\n- b\n")[0]).toMatch(
      /^cluster\.yaml:1:1: must be a map describing one cluster/,
    );
    const problems = problemsOf(`cluster_name: c\n${IMAGE}\ntags:\n  "aws:team": ml\n`);
    // Then the key is named
    expect(problems).toEqual([
      'cluster.yaml:4:3: tags.aws:team: must be 1 to 128 letters, digits, spaces or _.:/=+-@, not starting with aws: or axon: (got "aws:team")',
    ]);
  });

  const CERT =
    "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789";
  const CERT2 =
    "arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555";

  it("Given one certificate ARN or a list, a domain and its zone, When parsed, Then they resolve to a list and a domain", () => {
    // Given
    const one = `cluster_name: c\nregion: eu-west-1\n${IMAGE}\nload_balancer:\n  certificate_arn: ${CERT}\n  domain: API.Example.com.\n  hosted_zone_id: /hostedzone/Z0123456789ABCDEFGHIJ\n`;
    const list = `cluster_name: c\n${IMAGE}\nload_balancer:\n  certificate_arn: [${CERT}, ${CERT2}]\n`;
    // When
    const first = parseClusterConfig(one, "cluster.yaml");
    const second = parseClusterConfig(list, "cluster.yaml");
    // Then
    expect(first.loadBalancer).toEqual({
      scheme: "internet-facing",
      allowedCidrs: ["0.0.0.0/0"],
      certificateArns: [CERT],
      domain: { name: "api.example.com", hostedZoneId: "Z0123456789ABCDEFGHIJ" },
    });
    expect(second.loadBalancer.certificateArns).toEqual([CERT, CERT2]);
    expect(second.loadBalancer.domain).toBeUndefined();
  });

  it("Given a malformed ARN, one from another region, a domain without its zone, When parsed, Then each names its field and what to do", () => {
    // Given
    const text = `cluster_name: c\nregion: us-east-1\n${IMAGE}\nload_balancer:\n  certificate_arn:\n    - arn:aws:iam::123456789012:server-certificate/x\n    - ${CERT}\n  domain: api.example.com\n`;
    // When / Then
    expect(problemsOf(text)).toEqual([
      'cluster.yaml:6:7: load_balancer.certificate_arn.0: must be an ACM certificate ARN such as arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789 (got "arn:aws:iam::123456789012:server-certificate/x"): copy it from aws acm list-certificates',
      "cluster.yaml:7:7: load_balancer.certificate_arn.1: is in eu-west-1, not the cluster's region us-east-1: a load balancer only uses ACM certificates of its own region; request or import the certificate in us-east-1",
      "cluster.yaml:8:3: load_balancer.domain: needs hosted_zone_id, the Route 53 hosted zone that holds it (aws route53 list-hosted-zones-by-name)",
    ]);
    expect(problemsOf(`cluster_name: c\n${IMAGE}\nload_balancer: {certificate_arn: 42}\n`)).toEqual(
      [
        "cluster.yaml:3:34: load_balancer.certificate_arn: must be an ARN or a list of ARNs (got 42)",
      ],
    );
  });
});
