import { render } from "ink-testing-library";
import { describe, expect, it } from "vitest";
import type { ClusterProgressLine } from "../client/api-client.js";
import { initialClusterProgress, reduceClusterProgress } from "./cluster-progress-state.js";
import { ClusterProgressView } from "./ClusterProgressView.js";
import { ColorProvider } from "./Tint.js";

const T0 = new Date("2026-12-03T17:00:00.000Z");
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);

function resource(
  logicalId: string,
  resourceType: string,
  status: string,
  reason?: string,
): ClusterProgressLine {
  return {
    type: "resource",
    resource: { logicalId, resourceType, status, ...(reason === undefined ? {} : { reason }) },
  };
}

describe("the live cluster progress view", () => {
  it("Given a stack half built, Then finished resources are ticked and running ones spin with their time", () => {
    // Given the stream so far, one line a second
    const lines: ClusterProgressLine[] = [
      { type: "progress", message: "creating stack axon-demo in us-east-1" },
      resource("LogGroup", "AWS::Logs::LogGroup", "CREATE_IN_PROGRESS"),
      resource("LoadBalancer", "AWS::ElasticLoadBalancingV2::LoadBalancer", "CREATE_IN_PROGRESS"),
      resource("LogGroup", "AWS::Logs::LogGroup", "CREATE_COMPLETE"),
    ];
    const state = lines.reduce(
      (current, line, index) => reduceClusterProgress(current, line, at(index)),
      initialClusterProgress,
    );
    // When it is drawn at 95 s, without colours
    const { lastFrame } = render(
      <ColorProvider enabled={false}>
        <ClusterProgressView state={state} now={at(95)} />
      </ColorProvider>,
    );
    // Then
    expect(lastFrame()).toMatchInlineSnapshot(`
      "creating stack axon-demo in us-east-1
      ✓ LogGroup (AWS::Logs::LogGroup) CREATE_COMPLETE
      ⠋ LoadBalancer (AWS::ElasticLoadBalancingV2::LoadBalancer) CREATE_IN_PROGRESS  93s"
    `);
  });

  it("Given a resource that failed, Then it is crossed with CloudFormation's reason and no longer spins", () => {
    const state = [
      resource("LoadBalancer", "AWS::ElasticLoadBalancingV2::LoadBalancer", "CREATE_IN_PROGRESS"),
      resource(
        "LoadBalancer",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "CREATE_FAILED",
        "subnets in one AZ",
      ),
    ].reduce(
      (current, line, index) => reduceClusterProgress(current, line, at(index)),
      initialClusterProgress,
    );
    expect(state.running).toEqual([]);
    const { lastFrame } = render(
      <ColorProvider enabled={false}>
        <ClusterProgressView state={state} now={at(5)} />
      </ColorProvider>,
    );
    expect(lastFrame()).toBe(
      "✗ LoadBalancer (AWS::ElasticLoadBalancingV2::LoadBalancer) CREATE_FAILED: subnets in one AZ\n",
    );
  });
});
