import { describe, expect, test } from "vitest";
import { renderAwsClusterInfo, renderClusterProgress, renderCostTable } from "./aws-cluster.js";

describe("AWS cluster renderings", () => {
  test("the cost table lists each billable resource, the total, the replica note and the assumptions", () => {
    // Given a plan as the daemon prices a default-VPC cluster
    const text = renderCostTable({
      env: "demo",
      clusterName: "demo",
      region: "us-east-1",
      stackName: "axon-demo",
      costs: {
        lines: [
          {
            item: "Application Load Balancer",
            count: 1,
            pricing: "hourly",
            perHour: 0.0305,
            perMonth: 22.27,
            note: "idle floor",
          },
          {
            item: "Public IPv4 addresses (load balancer)",
            count: 2,
            pricing: "hourly",
            perHour: 0.01,
            perMonth: 7.3,
            note: "one per AZ",
          },
          {
            item: "S3 bundle bucket",
            count: 1,
            pricing: "usage",
            perHour: 0,
            perMonth: 0,
            note: "$0.023 per GB-month",
          },
        ],
        perHour: 0.0405,
        perMonth: 29.57,
        replicaNote: "Replicas are billed on top while they run.",
        assumptions: "us-east-1 on-demand list prices, 2026; verify for your region",
      },
    });
    // Then it reads as a table, usage-priced lines say so
    expect(text).toMatchInlineSnapshot(`
      "cluster demo → stack axon-demo in us-east-1 (environment demo)

      resource                                   $/hour    $/month   note
      Application Load Balancer                  $0.0305   $22.27    idle floor
      Public IPv4 addresses (load balancer) ×2   $0.0100   $7.30     one per AZ
      S3 bundle bucket                           usage     usage     $0.023 per GB-month
      total before replicas                      $0.0405   $29.57

      Replicas are billed on top while they run.
      Prices: us-east-1 on-demand list prices, 2026; verify for your region."
    `);
  });

  test("a failed resource is marked and carries its reason; info says when there is no stack", () => {
    expect(
      renderClusterProgress({
        type: "resource",
        resource: {
          logicalId: "LoadBalancer",
          resourceType: "AWS::ElasticLoadBalancingV2::LoadBalancer",
          status: "CREATE_FAILED",
          reason: "subnets in one AZ",
        },
      }),
    ).toBe(
      "  ✗ LoadBalancer (AWS::ElasticLoadBalancingV2::LoadBalancer) CREATE_FAILED: subnets in one AZ",
    );
    expect(
      renderAwsClusterInfo({
        env: "demo",
        provider: "aws",
        region: "us-east-1",
        stackName: "axon-demo",
        stackStatus: null,
        apis: 0,
      }),
    ).toBe(
      "environment   demo (aws, us-east-1)\nstack         axon-demo: does not exist\napis          0",
    );
  });
});
