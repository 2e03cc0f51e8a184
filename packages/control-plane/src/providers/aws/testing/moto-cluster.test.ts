/** The shared fixture itself: a cluster on moto whose refs resolve and whose ports count calls. */
import { afterAll, describe, expect, it } from "vitest";
import { createMotoCluster } from "./moto-cluster.js";
import { motoAvailable, startMoto, type MotoServer } from "./moto-server.js";

const HAS_MOTO = motoAvailable();
let moto: MotoServer | undefined;
afterAll(async () => {
  await moto?.stop();
});

describe.skipIf(!HAS_MOTO)(
  "a cluster on moto for API tests (skipped when python3 has no moto)",
  () => {
    it("Given cluster.yaml demo, When created, Then its refs name the stack's pieces and calls are counted", async () => {
      moto = await startMoto();
      const cluster = await createMotoCluster(moto);
      expect(cluster.refs.clusterName).toBe("axon-demo");
      expect(cluster.refs.listenerArn).toMatch(/^arn:aws:elasticloadbalancing:/);
      expect(cluster.refs.taskSubnetIds.length).toBeGreaterThanOrEqual(2);
      // The role ECS uses to shift a canary rollout's traffic is the stack's
      expect(cluster.refs.ecsInfrastructureRoleArn).toMatch(/^arn:aws:iam::\d+:role\//);
      await cluster.ports.elb.describeRules({ ListenerArn: cluster.refs.listenerArn });
      expect(cluster.calls).toEqual(["elasticloadbalancing:DescribeRules"]);
    });
  },
);
