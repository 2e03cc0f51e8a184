/**
 * Everything an Axon cluster can leave in an AWS account, listed by resource type through the SDK
 * (for tests against moto: `cluster down` must leave each list empty). The default VPC and its
 * subnets and default security groups are not ours and are left out.
 */
import { CloudFormationClient, ListStacksCommand } from "@aws-sdk/client-cloudformation";
import { CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import {
  DescribeNatGatewaysCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import {
  ApplicationAutoScalingClient,
  DescribeScalableTargetsCommand,
} from "@aws-sdk/client-application-auto-scaling";
import {
  DescribeClustersCommand,
  DescribeServicesCommand,
  ECSClient,
  ListClustersCommand,
  ListServicesCommand,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
} from "@aws-sdk/client-ecs";
import {
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { IAMClient, ListRolesCommand } from "@aws-sdk/client-iam";
import { ListBucketsCommand, S3Client } from "@aws-sdk/client-s3";
import { ListQueuesCommand, SQSClient } from "@aws-sdk/client-sqs";

/** SDK client settings for the moto region (endpoint and keys come from AWS_* variables). */
export const clientConfig = { region: "us-east-1" };

/** Everything a cluster can leave behind, listed by type (default VPC pieces excluded). */
export async function leftovers(): Promise<Record<string, string[]>> {
  const cfn = new CloudFormationClient(clientConfig);
  const ec2 = new EC2Client(clientConfig);
  const stacks = await cfn.send(new ListStacksCommand({}));
  const vpcs = await ec2.send(new DescribeVpcsCommand({}));
  const defaultVpc = vpcs.Vpcs?.find((vpc) => vpc.IsDefault === true)?.VpcId;
  const groups = await ec2.send(new DescribeSecurityGroupsCommand({}));
  const subnets = await ec2.send(new DescribeSubnetsCommand({}));
  const nats = await ec2.send(new DescribeNatGatewaysCommand({}));
  const clusters = await new ECSClient(clientConfig).send(new ListClustersCommand({}));
  const described =
    (clusters.clusterArns ?? []).length === 0
      ? { clusters: [] }
      : await new ECSClient(clientConfig).send(
          new DescribeClustersCommand({ clusters: clusters.clusterArns }),
        );
  const balancers = await new ElasticLoadBalancingV2Client(clientConfig).send(
    new DescribeLoadBalancersCommand({}),
  );
  const buckets = await new S3Client({ ...clientConfig, forcePathStyle: true }).send(
    new ListBucketsCommand({}),
  );
  const logGroups = await new CloudWatchLogsClient(clientConfig).send(
    new DescribeLogGroupsCommand({}),
  );
  const roles = await new IAMClient(clientConfig).send(new ListRolesCommand({}));
  // An API's pieces (issue 20): services of any cluster still ACTIVE, target groups, task
  // definitions not deregistered, scalable targets.
  const services: string[] = [];
  // Batch jobs (issue 32): RunTask's tasks still running, and the jobs' queues.
  const tasks: string[] = [];
  for (const cluster of described.clusters ?? []) {
    if (cluster.status !== "ACTIVE") continue;
    const running = await new ECSClient(clientConfig).send(
      new ListTasksCommand({ cluster: cluster.clusterArn, desiredStatus: "RUNNING" }),
    );
    tasks.push(...(running.taskArns ?? []));
  }
  const queues = await new SQSClient(clientConfig).send(new ListQueuesCommand({}));
  for (const cluster of described.clusters ?? []) {
    if (cluster.status !== "ACTIVE") continue;
    const listed = await new ECSClient(clientConfig).send(
      new ListServicesCommand({ cluster: cluster.clusterArn }),
    );
    if ((listed.serviceArns ?? []).length === 0) continue;
    // moto lists deleted (INACTIVE) services too; AWS stops listing them.
    const states = await new ECSClient(clientConfig).send(
      new DescribeServicesCommand({ cluster: cluster.clusterArn, services: listed.serviceArns }),
    );
    for (const service of states.services ?? []) {
      if (service.status !== "INACTIVE") services.push(service.serviceArn ?? "");
    }
  }
  const targetGroups = await new ElasticLoadBalancingV2Client(clientConfig).send(
    new DescribeTargetGroupsCommand({}),
  );
  const taskDefinitions = await new ECSClient(clientConfig).send(
    new ListTaskDefinitionsCommand({ status: "ACTIVE" }),
  );
  const scalableTargets = await new ApplicationAutoScalingClient(clientConfig).send(
    new DescribeScalableTargetsCommand({ ServiceNamespace: "ecs" }),
  );
  // Target tracking's two alarms per policy, and a canary's rollback alarm (the CloudWatch client
  // is pinned to the last awsQuery build, which moto speaks: shared/reference/moto.md).
  const alarms = await new CloudWatchClient(clientConfig).send(new DescribeAlarmsCommand({}));
  return {
    services,
    tasks,
    queues: queues.QueueUrls ?? [],
    alarms: (alarms.MetricAlarms ?? []).map((alarm) => alarm.AlarmName ?? ""),
    targetGroups: (targetGroups.TargetGroups ?? []).map((group) => group.TargetGroupName ?? ""),
    taskDefinitions: taskDefinitions.taskDefinitionArns ?? [],
    scalableTargets: (scalableTargets.ScalableTargets ?? []).map(
      (target) => target.ResourceId ?? "",
    ),
    stacks: (stacks.StackSummaries ?? [])
      .filter((stack) => stack.StackStatus !== "DELETE_COMPLETE")
      .map((stack) => `${stack.StackName ?? ""} ${stack.StackStatus ?? ""}`),
    vpcs: (vpcs.Vpcs ?? []).filter((vpc) => vpc.IsDefault !== true).map((vpc) => vpc.VpcId ?? ""),
    subnets: (subnets.Subnets ?? [])
      .filter((subnet) => subnet.VpcId !== defaultVpc)
      .map((subnet) => subnet.SubnetId ?? ""),
    natGateways: (nats.NatGateways ?? [])
      .filter((nat) => nat.State !== "deleted")
      .map((nat) => nat.NatGatewayId ?? ""),
    securityGroups: (groups.SecurityGroups ?? [])
      .filter((group) => group.GroupName !== "default")
      .map((group) => group.GroupId ?? ""),
    ecsClusters: (described.clusters ?? [])
      .filter((cluster) => cluster.status === "ACTIVE")
      .map((cluster) => cluster.clusterName ?? ""),
    loadBalancers: (balancers.LoadBalancers ?? []).map((lb) => lb.LoadBalancerName ?? ""),
    buckets: (buckets.Buckets ?? []).map((bucket) => bucket.Name ?? ""),
    logGroups: (logGroups.logGroups ?? []).map((group) => group.logGroupName ?? ""),
    // The ECS service-linked role is the account's, made once by `cluster up` and kept by design
    // (a service-linked role is deleted only when no cluster of the account needs it).
    roles: (roles.Roles ?? [])
      .map((role) => role.RoleName ?? "")
      .filter((name) => !name.startsWith("AWSServiceRoleFor")),
  };
}

/** What `leftovers()` returns for an account with nothing of ours. */
export const NOTHING = {
  services: [],
  tasks: [],
  queues: [],
  alarms: [],
  targetGroups: [],
  taskDefinitions: [],
  scalableTargets: [],
  stacks: [],
  vpcs: [],
  subnets: [],
  natGateways: [],
  securityGroups: [],
  ecsClusters: [],
  loadBalancers: [],
  buckets: [],
  logGroups: [],
  roles: [],
};
