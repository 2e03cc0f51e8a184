import { parseClusterConfig } from "@axon/config";
import { describe, expect, it } from "vitest";
import { estimateClusterCost } from "./cluster-costs.js";

const BASE = `cluster_name: c
image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0
`;
const CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789";

describe("estimateClusterCost", () => {
  it("Given HTTPS and a domain, When the plan is priced, Then the certificates and the alias record are lines of their own and add nothing per hour", () => {
    // Given
    const plain = parseClusterConfig(BASE, "cluster.yaml");
    const https = parseClusterConfig(
      `${BASE}load_balancer:\n  certificate_arn: [${CERT}, ${CERT.replace("0a1b", "9f8e")}]\n  domain: api.example.com\n  hosted_zone_id: Z0123456789ABCDEFGHIJ\n`,
      "cluster.yaml",
    );
    // When
    const before = estimateClusterCost(plain);
    const after = estimateClusterCost(https);
    // Then
    const added = after.lines.filter(
      (line) => !before.lines.some((other) => other.item === line.item),
    );
    expect(added.map((line) => [line.item, line.count, line.pricing, line.perHour])).toEqual([
      ["HTTPS listener and ACM certificates", 2, "free", 0],
      ["Route 53 alias record (api.example.com)", 1, "usage", 0],
    ]);
    expect(added[1]?.note).toContain("$0.5/month");
    expect(after.perHour).toBe(before.perHour);
  });
});
