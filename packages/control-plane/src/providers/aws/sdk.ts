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
  UpdateStackCommandInput,
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
  updateStack(input: UpdateStackCommandInput): Promise<unknown>;
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

/** Where AWS calls go, and who makes them, as messages name them. */
export interface AwsTarget {
  region: string;
  /** The profile the credentials come from (`AWS_PROFILE`, else `default`). */
  profile: string;
  /** True when the credentials are access keys passed in the environment, not a profile. */
  keysFromEnvironment?: boolean;
}

/** "profile ml-team" or "access keys from the environment", for messages. */
export function describeAwsIdentity(target: AwsTarget): string {
  return target.keysFromEnvironment === true
    ? "access keys from the environment"
    : `profile ${target.profile}`;
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
 * The AWS settings a call uses: the calling shell's variables (`AWS_ACCESS_KEY_ID`, `AWS_PROFILE`,
 * `AWS_REGION`, `AWS_ENDPOINT_URL[_<SERVICE>]`, …) when the CLI sent them, else empty (the
 * daemon's own chain: its environment, profiles, instance or task role).
 */
export type AwsSettings = Readonly<Record<string, string>>;

/**
 * Which region to use: the given one, else the settings' (AWS_REGION, AWS_DEFAULT_REGION), else
 * the SDK's own resolution (the profile's region). Undefined when none is configured anywhere.
 */
export async function resolveAwsRegion(
  region: string | undefined,
  settings: AwsSettings = {},
): Promise<string | undefined> {
  const configured = region ?? settings["AWS_REGION"] ?? settings["AWS_DEFAULT_REGION"];
  if (configured !== undefined) return configured;
  const { CloudFormationClient } = await import("@aws-sdk/client-cloudformation");
  const probe = new CloudFormationClient(identity(settings));
  try {
    return await probe.config.region();
  } catch {
    return undefined;
  } finally {
    probe.destroy();
  }
}

/** The profile the SDK's chain will read, for messages. */
export function awsProfileName(settings: AwsSettings = {}): string {
  return (
    settings["AWS_PROFILE"] ??
    settings["AWS_DEFAULT_PROFILE"] ??
    process.env["AWS_PROFILE"] ??
    process.env["AWS_DEFAULT_PROFILE"] ??
    "default"
  );
}

/** Credentials or profile from the settings; nothing (the SDK's chain) when they name neither. */
function identity(settings: AwsSettings): {
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  profile?: string;
} {
  const accessKeyId = settings["AWS_ACCESS_KEY_ID"];
  const secretAccessKey = settings["AWS_SECRET_ACCESS_KEY"];
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    const sessionToken = settings["AWS_SESSION_TOKEN"];
    return {
      credentials: {
        accessKeyId,
        secretAccessKey,
        ...(sessionToken === undefined ? {} : { sessionToken }),
      },
    };
  }
  const profile = settings["AWS_PROFILE"];
  return profile === undefined ? {} : { profile };
}

/** The client options for one service: region, identity, and its endpoint when one is set. */
function clientOptions(
  region: string,
  settings: AwsSettings,
  service: "CLOUDFORMATION" | "EC2" | "ECS" | "S3",
): ReturnType<typeof identity> & { region: string; endpoint?: string } {
  const endpoint =
    settings[`AWS_ENDPOINT_URL_${service}`] ??
    settings["AWS_ENDPOINT_URL"] ??
    process.env[`AWS_ENDPOINT_URL_${service}`] ??
    process.env["AWS_ENDPOINT_URL"];
  return { region, ...identity(settings), ...(endpoint === undefined ? {} : { endpoint }) };
}

/** Loads the SDK clients and returns the ports for `region`. */
export async function connectAws(region: string, settings: AwsSettings = {}): Promise<AwsPorts> {
  const [cfn, ec2, ecs, s3] = await Promise.all([
    import("@aws-sdk/client-cloudformation"),
    import("@aws-sdk/client-ec2"),
    import("@aws-sdk/client-ecs"),
    import("@aws-sdk/client-s3"),
  ]);
  const cloudFormationClient = new cfn.CloudFormationClient(
    clientOptions(region, settings, "CLOUDFORMATION"),
  );
  const ec2Client = new ec2.EC2Client(clientOptions(region, settings, "EC2"));
  const ecsClient = new ecs.ECSClient(clientOptions(region, settings, "ECS"));
  const s3Options = clientOptions(region, settings, "S3");
  // Emulators and custom endpoints serve buckets by path, not by virtual host.
  const s3Client = new s3.S3Client({
    ...s3Options,
    forcePathStyle: s3Options.endpoint !== undefined,
  });
  return {
    target: {
      region,
      profile: awsProfileName(settings),
      ...(identity(settings).credentials === undefined ? {} : { keysFromEnvironment: true }),
    },
    cloudFormation: {
      createStack: (input) => cloudFormationClient.send(new cfn.CreateStackCommand(input)),
      describeStacks: (input) => cloudFormationClient.send(new cfn.DescribeStacksCommand(input)),
      describeStackEvents: (input) =>
        cloudFormationClient.send(new cfn.DescribeStackEventsCommand(input)),
      updateStack: (input) => cloudFormationClient.send(new cfn.UpdateStackCommand(input)),
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
