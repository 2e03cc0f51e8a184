/**
 * An `EcsApiDeps` over the AWS rules fake (fake-aws/): the cluster's refs as a stack would output
 * them, no waiting between polls. The tests of the provider's rules share it rather than each
 * spelling out the refs.
 */
import type { AwsClusterRefs, EcsApiDeps } from "../api-names.js";
import type { FakeAws } from "./fake-aws/fake-aws.js";

export function fakeEcsDeps(
  fake: FakeAws,
  clusterName: string,
  refs: Partial<AwsClusterRefs> = {},
): EcsApiDeps {
  fake.addCluster(clusterName);
  const ports = fake.ports();
  return {
    ports,
    target: ports.target,
    signal: new AbortController().signal,
    pollMs: 1,
    sleep: () => Promise.resolve(),
    refs: {
      envName: "prod",
      region: "us-east-1",
      clusterName,
      listenerArn: fake.listenerArn,
      loadBalancerArn: fake.loadBalancerArn,
      loadBalancerDnsName: "axon-demo-1.us-east-1.elb.amazonaws.com",
      bucketName: "axon-demo-bundles",
      logGroupName: "/axon/demo",
      executionRoleArn: "arn:aws:iam::123456789012:role/exec",
      taskRoleArn: "arn:aws:iam::123456789012:role/task",
      taskSecurityGroupId: "sg-1",
      taskSubnetIds: ["subnet-1", "subnet-2"],
      assignPublicIp: true,
      vpcId: "vpc-1",
      image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0",
      ecsInfrastructureRoleArn: "arn:aws:iam::123456789012:role/ecs-infrastructure",
      ...refs,
    },
  };
}
