/**
 * Narrow ports over the AWS SDK v3 (aws-cdk-cli's `IECSClient` shape): only the calls Axon makes,
 * each one `client.send(new XCommand(input))`, typed by the SDK's own input/output types. The SDK
 * is loaded with `await import()` inside `connectAws`, so nothing that merely imports this module
 * (or the CLI, ever) pays for it.
 *
 * Credentials, region and endpoints come from the SDK's standard chain: environment variables,
 * profiles (`AWS_PROFILE`), SSO, instance and task roles; `AWS_ENDPOINT_URL` and the
 * service-specific `AWS_ENDPOINT_URL_<SERVICE>` variables point it at an emulator such as moto.
 * Axon never stores AWS credentials.
 */
import type {
  CreateStackCommandInput,
  CreateStackCommandOutput,
  DeleteStackCommandInput,
  DescribeStackEventsCommandInput,
  DescribeStackEventsCommandOutput,
  DescribeStacksCommandInput,
  DescribeStacksCommandOutput,
} from "@aws-sdk/client-cloudformation";
import type {
  DescribeSubnetsCommandInput,
  DescribeSubnetsCommandOutput,
  DescribeVpcsCommandInput,
  DescribeVpcsCommandOutput,
} from "@aws-sdk/client-ec2";
import type {
  DeleteClusterCommandInput,
  DescribeClustersCommandInput,
  DescribeClustersCommandOutput,
} from "@aws-sdk/client-ecs";
import type {
  DeleteObjectsCommandInput,
  DeleteObjectsCommandOutput,
  GetObjectCommandInput,
  ListObjectsV2CommandInput,
  ListObjectsV2CommandOutput,
  PutObjectCommandInput,
} from "@aws-sdk/client-s3";

export interface CloudFormationPort {
  createStack(input: CreateStackCommandInput): Promise<CreateStackCommandOutput>;
  describeStacks(input: DescribeStacksCommandInput): Promise<DescribeStacksCommandOutput>;
  describeStackEvents(
    input: DescribeStackEventsCommandInput,
  ): Promise<DescribeStackEventsCommandOutput>;
  deleteStack(input: DeleteStackCommandInput): Promise<unknown>;
}

export interface Ec2Port {
  describeVpcs(input: DescribeVpcsCommandInput): Promise<DescribeVpcsCommandOutput>;
  describeSubnets(input: DescribeSubnetsCommandInput): Promise<DescribeSubnetsCommandOutput>;
}

export interface EcsPort {
  describeClusters(input: DescribeClustersCommandInput): Promise<DescribeClustersCommandOutput>;
  deleteCluster(input: DeleteClusterCommandInput): Promise<unknown>;
}

export interface S3Port {
  listObjectsV2(input: ListObjectsV2CommandInput): Promise<ListObjectsV2CommandOutput>;
  deleteObjects(input: DeleteObjectsCommandInput): Promise<DeleteObjectsCommandOutput>;
  putObject(input: PutObjectCommandInput): Promise<unknown>;
  /** The object's body, read whole (bundles are at most 512 MiB and streamed by callers' limits). */
  getObjectBytes(input: GetObjectCommandInput): Promise<Uint8Array>;
}

/** Where AWS calls go, and how to name that place in messages. */
export interface AwsTarget {
  region: string;
  /** `AWS_PROFILE`, or `default`: named in credential errors. */
  profile: string;
}

/** The ports for one region. */
export interface AwsPorts {
  target: AwsTarget;
  cloudFormation: CloudFormationPort;
  ec2: Ec2Port;
  ecs: EcsPort;
  s3: S3Port;
}

/**
 * Which region to use: the given one, else the SDK's (AWS_REGION, AWS_DEFAULT_REGION, the
 * profile's). Undefined when none is configured anywhere.
 */
export async function resolveAwsRegion(region: string | undefined): Promise<string | undefined> {
  if (region !== undefined) return region;
  const { CloudFormationClient } = await import("@aws-sdk/client-cloudformation");
  const probe = new CloudFormationClient({});
  try {
    return await probe.config.region();
  } catch {
    return undefined;
  } finally {
    probe.destroy();
  }
}

/** The profile the SDK's chain will read, for messages. */
export function awsProfileName(env: NodeJS.ProcessEnv = process.env): string {
  return env["AWS_PROFILE"] ?? env["AWS_DEFAULT_PROFILE"] ?? "default";
}

/** Loads the SDK clients and returns the ports for `region`. */
export async function connectAws(region: string): Promise<AwsPorts> {
  const [cfn, ec2, ecs, s3] = await Promise.all([
    import("@aws-sdk/client-cloudformation"),
    import("@aws-sdk/client-ec2"),
    import("@aws-sdk/client-ecs"),
    import("@aws-sdk/client-s3"),
  ]);
  const cloudFormationClient = new cfn.CloudFormationClient({ region });
  const ec2Client = new ec2.EC2Client({ region });
  const ecsClient = new ecs.ECSClient({ region });
  // Emulators and custom endpoints serve buckets by path, not by virtual host.
  const customS3Endpoint =
    process.env["AWS_ENDPOINT_URL_S3"] !== undefined ||
    process.env["AWS_ENDPOINT_URL"] !== undefined;
  const s3Client = new s3.S3Client({ region, forcePathStyle: customS3Endpoint });
  return {
    target: { region, profile: awsProfileName() },
    cloudFormation: {
      createStack: (input) => cloudFormationClient.send(new cfn.CreateStackCommand(input)),
      describeStacks: (input) => cloudFormationClient.send(new cfn.DescribeStacksCommand(input)),
      describeStackEvents: (input) =>
        cloudFormationClient.send(new cfn.DescribeStackEventsCommand(input)),
      deleteStack: (input) => cloudFormationClient.send(new cfn.DeleteStackCommand(input)),
    },
    ec2: {
      describeVpcs: (input) => ec2Client.send(new ec2.DescribeVpcsCommand(input)),
      describeSubnets: (input) => ec2Client.send(new ec2.DescribeSubnetsCommand(input)),
    },
    ecs: {
      describeClusters: (input) => ecsClient.send(new ecs.DescribeClustersCommand(input)),
      deleteCluster: (input) => ecsClient.send(new ecs.DeleteClusterCommand(input)),
    },
    s3: {
      listObjectsV2: (input) => s3Client.send(new s3.ListObjectsV2Command(input)),
      deleteObjects: (input) => s3Client.send(new s3.DeleteObjectsCommand(input)),
      putObject: (input) => s3Client.send(new s3.PutObjectCommand(input)),
      getObjectBytes: async (input) => {
        const output = await s3Client.send(new s3.GetObjectCommand(input));
        if (output.Body === undefined) return new Uint8Array();
        return output.Body.transformToByteArray();
      },
    },
  };
}
