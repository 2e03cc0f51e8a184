/**
 * AWS clusters against a real moto server (the AWS emulator) on 127.0.0.1: the real SDK clients,
 * reaching it through AWS_ENDPOINT_URL as a user's emulator setup would. moto builds stacks at
 * once, so no waiting is involved; what moto cannot do (failures, throttling, credentials) is in
 * providers/aws/cluster-stack.test.ts on mocked clients.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { CloudFormationClient, GetTemplateCommand } from "@aws-sdk/client-cloudformation";
import { DescribeLogGroupsCommand, CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { DescribeClustersCommand, ECSClient } from "@aws-sdk/client-ecs";
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { GetBucketEncryptionCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { DomainError } from "../errors.js";
import { RecordingSink } from "../events/event-sink.js";
import { clientConfig, leftovers, NOTHING } from "../providers/aws/testing/leftovers.js";
import { motoAvailable, startMoto, type MotoServer } from "../providers/aws/testing/moto-server.js";
import { StateStore } from "../state/store.js";
import {
  bringUpAwsCluster,
  describeAwsCluster,
  planAwsCluster,
  tearDownAwsCluster,
  type AwsClusterDeps,
} from "./aws-cluster.js";
import { listEnvironments } from "./environments.js";

const HAS_MOTO = motoAvailable();
const IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0";

let moto: MotoServer | undefined;
const dirs: string[] = [];

async function motoServer(): Promise<MotoServer> {
  moto ??= await startMoto();
  Object.assign(process.env, moto.awsEnv());
  return moto;
}

afterEach(async () => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  await moto?.reset();
});
afterAll(async () => {
  await moto?.stop();
});

function harness(): { deps: AwsClusterDeps; sink: RecordingSink; resources: string[] } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "axon-aws-cluster-"));
  dirs.push(dir);
  const sink = new RecordingSink();
  const resources: string[] = [];
  return {
    deps: {
      store: StateStore.open(path.join(dir, "state.db")),
      events: sink,
      signal: new AbortController().signal,
      pollMs: 50,
      onResource: (progress) => resources.push(`${progress.logicalId} ${progress.status}`),
    },
    sink,
    resources,
  };
}

describe.skipIf(!HAS_MOTO)("AWS clusters on moto (skipped when python3 has no moto)", () => {
  beforeEach(async () => {
    await motoServer();
  });

  it("Given a default-VPC cluster.yaml, When planned, brought up, described and torn down twice, Then the stack's resources exist, then nothing is left and the second down is a no-op", async () => {
    const { deps, sink, resources } = harness();
    const request = {
      config: `cluster_name: demo\nregion: us-east-1\nimage: ${IMAGE}\nlog_retention_days: 14\ntags: {team: ml}\n`,
      configFileName: "cluster.yaml",
    };

    // When planned, Then it is priced and nothing exists yet
    const plan = await planAwsCluster(deps, request);
    expect(plan).toMatchObject({ env: "demo", stackName: "axon-demo", region: "us-east-1" });
    expect(plan.existingStatus).toBeUndefined();
    expect(plan.costs.lines.map((line) => line.item)).toContain("Application Load Balancer");
    expect(plan.costs.perMonth).toBeGreaterThan(15);
    expect(await leftovers()).toEqual(NOTHING);

    // When brought up
    const up = await bringUpAwsCluster(deps, request);

    // Then the stack is complete, the environment registered, every resource reported
    expect(up.outcome).toBe("created");
    expect(up.cluster).toMatchObject({
      env: "demo",
      stackStatus: "CREATE_COMPLETE",
      clusterName: "axon-demo",
      image: IMAGE,
      logGroup: "/axon/demo",
    });
    expect(up.cluster.loadBalancerUrl).toMatch(/^http:\/\/axon-demo-.*elb\.amazonaws\.com$/);
    expect(listEnvironments(deps.store).environments.map((env) => env.name)).toEqual([
      "local",
      "demo",
    ]);
    // (moto records no per-resource events: resource progress is tested on a mocked client)
    void resources;
    expect(sink.kinds()).toContain("cluster.created");

    // And the SDK sees each resource as configured
    const ecs = await new ECSClient(clientConfig).send(
      new DescribeClustersCommand({ clusters: ["axon-demo"] }),
    );
    expect(ecs.clusters?.[0]?.status).toBe("ACTIVE");
    const elb = new ElasticLoadBalancingV2Client(clientConfig);
    const lbs = await elb.send(new DescribeLoadBalancersCommand({ Names: ["axon-demo"] }));
    expect(lbs.LoadBalancers?.[0]?.Scheme).toBe("internet-facing");
    const listeners = await elb.send(
      new DescribeListenersCommand({ LoadBalancerArn: lbs.LoadBalancers?.[0]?.LoadBalancerArn }),
    );
    expect(listeners.Listeners?.[0]).toMatchObject({ Port: 80, Protocol: "HTTP" });
    expect(listeners.Listeners?.[0]?.DefaultActions?.[0]?.Type).toBe("forward");
    const logs = await new CloudWatchLogsClient(clientConfig).send(
      new DescribeLogGroupsCommand({ logGroupNamePrefix: "/axon/demo" }),
    );
    expect(logs.logGroups?.[0]?.retentionInDays).toBe(14);
    const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
    const bucket = up.cluster.bucket ?? "";
    const encryption = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    expect(
      encryption.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault
        ?.SSEAlgorithm,
    ).toBe("AES256");
    // (moto's CloudFormation ignores PublicAccessBlockConfiguration: the template test checks it)
    expect((await leftovers()).roles).toHaveLength(3); // execution, task, and ECS infrastructure (canary traffic);

    // When described
    const info = await describeAwsCluster(deps, "demo");
    expect(info).toEqual(up.cluster);

    // When torn down with a bundle in the bucket
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: "bundles/abc.tar.gz", Body: "bundle" }),
    );
    const down = await tearDownAwsCluster(deps, "demo");

    // Then the bucket was emptied and nothing of any type is left
    expect(down).toMatchObject({ outcome: "deleted", objectsDeleted: 1 });
    expect(await leftovers()).toEqual(NOTHING);
    expect(sink.kinds()).toContain("cluster.deleted");

    // When torn down again, Then it is a no-op that says so
    const again = await tearDownAwsCluster(deps, "demo");
    expect(again.outcome).toBe("absent");
    expect(again.message).toMatch(
      /^stack axon-demo does not exist in us-east-1: nothing to delete/,
    );
    expect((await describeAwsCluster(deps, "demo")).stackStatus).toBeNull();
  });

  it("Given a running cluster, When up runs with a longer log retention, Then the stack is updated in place", async () => {
    const { deps } = harness();
    const request = {
      config: `cluster_name: demo\nimage: ${IMAGE}\nlog_retention_days: 14\n`,
      configFileName: "cluster.yaml",
    };
    const up = await bringUpAwsCluster(deps, request);
    // When brought up again with a longer retention
    // Then CloudFormation updated the stack (moto applies even an unchanged template; AWS's
    // "No updates are to be performed" answer is in aws-cluster-failure.test.ts)
    const updated = await bringUpAwsCluster(deps, {
      ...request,
      config: request.config.replace("log_retention_days: 14", "log_retention_days: 30"),
    });
    expect(updated.outcome).toBe("updated");
    expect(updated.cluster.bucket).toBe(up.cluster.bucket);
    // And the stack holds the new template. (moto 5.2 neither applies it to the log group nor
    // deletes that log group with the stack afterwards, so this test does not tear down.)
    const template = await new CloudFormationClient(clientConfig).send(
      new GetTemplateCommand({ StackName: "axon-demo" }),
    );
    expect(template.TemplateBody).toContain('"RetentionInDays":30');
  });

  it("Given a new VPC and an env name, When brought up, Then the VPC, four subnets and two security groups exist under that env", async () => {
    const { deps } = harness();
    const request = {
      config: `cluster_name: vpc-test\nimage: ${IMAGE}\nnetworking: {vpc: new, vpc_cidr: 10.9.0.0/16, nat_gateway: none}\ncapacity: {fargate_spot_weight: 2}\n`,
      configFileName: "cluster.yaml",
      env: "staging",
    };
    // When brought up (region from AWS_REGION, no NAT: moto cannot delete NAT gateways either)
    const up = await bringUpAwsCluster(deps, request);
    // Then the VPC, its four subnets and the NAT gateway exist
    expect(up.cluster).toMatchObject({
      env: "staging",
      region: "us-east-1",
      stackName: "axon-vpc-test",
    });
    const created = await leftovers();
    expect(created.vpcs).toHaveLength(1);
    expect(created.subnets).toHaveLength(4);
    expect(created.securityGroups).toHaveLength(2);
    // (Not torn down here: moto 5.2's CloudFormation cannot delete a VPC's route tables and
    // gateway attachment, so its DeleteStack fails with DependencyViolation where AWS succeeds.)
  });

  it("Given a cluster.yaml with bad values, When brought up, Then config.invalid lists them with line:col and nothing is created", async () => {
    const { deps } = harness();
    const request = {
      config: `cluster_name: demo\nimage: ${IMAGE}\nlog_retention_days: 8\nload_balancer:\n  allowed_cidrs: [300.0.0.0/8]\n`,
      configFileName: "cluster.yaml",
    };
    const error = await bringUpAwsCluster(deps, request).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe("config.invalid");
    expect(
      (error as DomainError).diagnostics?.map((d) => `${d.line ?? 0}:${d.column ?? 0} ${d.path}`),
    ).toEqual(["3:21 log_retention_days", "5:19 load_balancer.allowed_cidrs.0"]);
    expect(await leftovers()).toEqual(NOTHING);
    expect(listEnvironments(deps.store).environments).toHaveLength(1);
  });

  it("Given a certificate of eu-west-1 and no region in the file, When brought up where the AWS chain says us-east-1, Then config.invalid names load_balancer.certificate_arn and nothing is created", async () => {
    // Given
    const { deps } = harness();
    deps.defaultRegion = () => Promise.resolve("us-east-1");
    const arn =
      "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789";
    // When
    const error = await bringUpAwsCluster(deps, {
      config: `cluster_name: demo\nimage: ${IMAGE}\nload_balancer:\n  certificate_arn: ${arn}\n`,
      configFileName: "cluster.yaml",
    }).catch((caught: unknown) => caught);
    // Then
    expect((error as DomainError).code).toBe("config.invalid");
    expect((error as DomainError).diagnostics?.map((d) => `${d.path}: ${d.message}`)).toEqual([
      expect.stringMatching(
        /^load_balancer\.certificate_arn: is in eu-west-1, not the cluster's region us-east-1/,
      ),
    ]);
    expect(await leftovers()).toEqual(NOTHING);
  });
});
