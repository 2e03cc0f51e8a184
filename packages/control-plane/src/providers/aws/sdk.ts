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
  DeleteScalingPolicyCommandInput,
  DeregisterScalableTargetCommandInput,
  DescribeScalableTargetsCommandInput,
  DescribeScalableTargetsCommandOutput,
  DescribeScalingPoliciesCommandInput,
  DescribeScalingPoliciesCommandOutput,
  PutScalingPolicyCommandInput,
  PutScalingPolicyCommandOutput,
  RegisterScalableTargetCommandInput,
} from "@aws-sdk/client-application-auto-scaling";
import type {
  DeleteAlarmsCommandInput,
  DescribeAlarmsCommandInput,
  DescribeAlarmsCommandOutput,
  GetMetricDataCommandInput,
  GetMetricDataCommandOutput,
  PutMetricAlarmCommandInput,
} from "@aws-sdk/client-cloudwatch";
import type {
  DescribeLogStreamsCommandInput,
  DescribeLogStreamsCommandOutput,
  FilterLogEventsCommandInput,
  FilterLogEventsCommandOutput,
  StartLiveTailCommandInput,
  StartLiveTailCommandOutput,
} from "@aws-sdk/client-cloudwatch-logs";
import type {
  CreateServiceCommandInput,
  CreateServiceCommandOutput,
  DeleteClusterCommandInput,
  DeleteServiceCommandInput,
  DeregisterTaskDefinitionCommandInput,
  DescribeClustersCommandInput,
  DescribeClustersCommandOutput,
  DescribeServiceDeploymentsCommandInput,
  DescribeServiceDeploymentsCommandOutput,
  DescribeServiceRevisionsCommandInput,
  DescribeServiceRevisionsCommandOutput,
  DescribeServicesCommandInput,
  DescribeServicesCommandOutput,
  DescribeTaskDefinitionCommandInput,
  DescribeTaskDefinitionCommandOutput,
  DescribeTasksCommandInput,
  DescribeTasksCommandOutput,
  ListServiceDeploymentsCommandInput,
  ListServiceDeploymentsCommandOutput,
  ListServicesCommandInput,
  ListServicesCommandOutput,
  ListTagsForResourceCommandInput,
  ListTagsForResourceCommandOutput,
  ListTaskDefinitionFamiliesCommandInput,
  ListTaskDefinitionFamiliesCommandOutput,
  ListTaskDefinitionsCommandInput,
  ListTaskDefinitionsCommandOutput,
  ListTasksCommandInput,
  ListTasksCommandOutput,
  RegisterTaskDefinitionCommandInput,
  RegisterTaskDefinitionCommandOutput,
  RunTaskCommandInput,
  RunTaskCommandOutput,
  StopTaskCommandInput,
  TagResourceCommandInput,
  UpdateServiceCommandInput,
  UpdateServiceCommandOutput,
} from "@aws-sdk/client-ecs";
import type {
  CreateRuleCommandInput,
  CreateRuleCommandOutput,
  CreateTargetGroupCommandInput,
  CreateTargetGroupCommandOutput,
  DeleteRuleCommandInput,
  DeleteTargetGroupCommandInput,
  DescribeLoadBalancerAttributesCommandInput,
  DescribeLoadBalancerAttributesCommandOutput,
  DescribeRulesCommandInput,
  DescribeRulesCommandOutput,
  DescribeTagsCommandInput,
  DescribeTagsCommandOutput,
  DescribeTargetGroupsCommandInput,
  DescribeTargetGroupsCommandOutput,
  ModifyLoadBalancerAttributesCommandInput,
  ModifyRuleCommandInput,
  ModifyTargetGroupAttributesCommandInput,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { CreateServiceLinkedRoleCommandInput } from "@aws-sdk/client-iam";
import type {
  DeleteObjectsCommandInput,
  DeleteObjectsCommandOutput,
  GetObjectCommandInput,
  ListObjectsV2CommandInput,
  ListObjectsV2CommandOutput,
  PutObjectCommandInput,
} from "@aws-sdk/client-s3";
import type {
  ChangeMessageVisibilityCommandInput,
  CreateQueueCommandInput,
  CreateQueueCommandOutput,
  DeleteMessageCommandInput,
  DeleteQueueCommandInput,
  GetQueueAttributesCommandInput,
  GetQueueAttributesCommandOutput,
  GetQueueUrlCommandInput,
  GetQueueUrlCommandOutput,
  ListQueueTagsCommandInput,
  ListQueueTagsCommandOutput,
  ListQueuesCommandInput,
  ListQueuesCommandOutput,
  ReceiveMessageCommandInput,
  ReceiveMessageCommandOutput,
  SendMessageBatchCommandInput,
  SendMessageBatchCommandOutput,
} from "@aws-sdk/client-sqs";

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

/**
 * Every item of a paged list call: asks again with the answer's token until there is none (an
 * empty token counts as none). One loop for each list Axon reads whole, exported so the AWS rules
 * fake pages through the same code (testing/fake-aws/RULES.md R23, R26).
 */
export async function allPages<Output, Item>(
  listPage: (token: string | undefined) => Promise<Output>,
  read: (page: Output) => { items: Item[] | undefined; next: string | undefined },
): Promise<Item[]> {
  const items: Item[] = [];
  let token: string | undefined;
  do {
    const { items: page, next } = read(await listPage(token));
    items.push(...(page ?? []));
    token = next === "" ? undefined : next;
  } while (token !== undefined);
  return items;
}

/**
 * Every task definition ARN ListTaskDefinitions answers, page by page (at most 100 a page: "This
 * value can be between 1 and 100",
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTaskDefinitions.html).
 */
export function allTaskDefinitionArns(
  listPage: (input: ListTaskDefinitionsCommandInput) => Promise<ListTaskDefinitionsCommandOutput>,
  input: Omit<ListTaskDefinitionsCommandInput, "nextToken">,
): Promise<string[]> {
  return allPages(
    (nextToken) => listPage({ ...input, ...(nextToken === undefined ? {} : { nextToken }) }),
    (page) => ({ items: page.taskDefinitionArns, next: page.nextToken }),
  );
}

/**
 * Every family ListTaskDefinitionFamilies answers, all pages (1–100 a page,
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTaskDefinitionFamilies.html).
 */
export function allTaskDefinitionFamilies(
  listPage: (
    input: ListTaskDefinitionFamiliesCommandInput,
  ) => Promise<ListTaskDefinitionFamiliesCommandOutput>,
  input: Omit<ListTaskDefinitionFamiliesCommandInput, "nextToken">,
): Promise<string[]> {
  return allPages(
    (nextToken) => listPage({ ...input, ...(nextToken === undefined ? {} : { nextToken }) }),
    (page) => ({ items: page.families, next: page.nextToken }),
  );
}

/**
 * Every queue URL ListQueues answers, all pages. SQS answers a `NextToken` only to a request that
 * sets `MaxResults` (1–1,000); without it one answer holds at most 1,000 queues and the rest are
 * never seen ("You must set MaxResults to receive a value for NextToken in the response",
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListQueues.html), so
 * the size is set here, not left to callers (RULES.md R26).
 */
export function allQueueUrls(
  listPage: (input: ListQueuesCommandInput) => Promise<ListQueuesCommandOutput>,
  input: Omit<ListQueuesCommandInput, "NextToken" | "MaxResults">,
): Promise<string[]> {
  return allPages(
    (NextToken) =>
      listPage({ ...input, MaxResults: 1000, ...(NextToken === undefined ? {} : { NextToken }) }),
    (page) => ({ items: page.QueueUrls, next: page.NextToken }),
  );
}

export interface EcsPort {
  describeClusters(input: DescribeClustersCommandInput): Promise<DescribeClustersCommandOutput>;
  deleteCluster(input: DeleteClusterCommandInput): Promise<unknown>;
  registerTaskDefinition(
    input: RegisterTaskDefinitionCommandInput,
  ): Promise<RegisterTaskDefinitionCommandOutput>;
  describeTaskDefinition(
    input: DescribeTaskDefinitionCommandInput,
  ): Promise<DescribeTaskDefinitionCommandOutput>;
  listTaskDefinitions(
    input: ListTaskDefinitionsCommandInput,
  ): Promise<ListTaskDefinitionsCommandOutput>;
  /** Every task definition ARN ListTaskDefinitions answers, all pages (the port follows `nextToken`). */
  listAllTaskDefinitionArns(
    input: Omit<ListTaskDefinitionsCommandInput, "nextToken">,
  ): Promise<string[]>;
  /**
   * Every task definition family whose name starts with `familyPrefix`, all pages. (Unlike
   * ListTaskDefinitions', whose `familyPrefix` is "the full family name", this one is a prefix:
   * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTaskDefinitionFamilies.html.)
   */
  listAllTaskDefinitionFamilies(
    input: Omit<ListTaskDefinitionFamiliesCommandInput, "nextToken">,
  ): Promise<string[]>;
  deregisterTaskDefinition(input: DeregisterTaskDefinitionCommandInput): Promise<unknown>;
  createService(input: CreateServiceCommandInput): Promise<CreateServiceCommandOutput>;
  updateService(input: UpdateServiceCommandInput): Promise<UpdateServiceCommandOutput>;
  describeServices(input: DescribeServicesCommandInput): Promise<DescribeServicesCommandOutput>;
  deleteService(input: DeleteServiceCommandInput): Promise<unknown>;
  listServices(input: ListServicesCommandInput): Promise<ListServicesCommandOutput>;
  listTagsForResource(
    input: ListTagsForResourceCommandInput,
  ): Promise<ListTagsForResourceCommandOutput>;
  /** Re-tags a service after an update (its spec hash): UpdateService takes no tags. */
  tagResource(input: TagResourceCommandInput): Promise<unknown>;
  listTasks(input: ListTasksCommandInput): Promise<ListTasksCommandOutput>;
  describeTasks(input: DescribeTasksCommandInput): Promise<DescribeTasksCommandOutput>;
  /** A batch job's workers (issue 32): at most 10 tasks per call. */
  runTask(input: RunTaskCommandInput): Promise<RunTaskCommandOutput>;
  stopTask(input: StopTaskCommandInput): Promise<unknown>;
  /** Not in moto 5.2 (HTTP 500): callers treat a failure as "no deployment details". */
  listServiceDeployments(
    input: ListServiceDeploymentsCommandInput,
  ): Promise<ListServiceDeploymentsCommandOutput>;
  describeServiceDeployments(
    input: DescribeServiceDeploymentsCommandInput,
  ): Promise<DescribeServiceDeploymentsCommandOutput>;
  /** The task definition of a service revision (which revision a rollout failed or returned to). */
  describeServiceRevisions(
    input: DescribeServiceRevisionsCommandInput,
  ): Promise<DescribeServiceRevisionsCommandOutput>;
}

/** Elastic Load Balancing v2: the per-API target group and listener rule. */
export interface ElbPort {
  createTargetGroup(input: CreateTargetGroupCommandInput): Promise<CreateTargetGroupCommandOutput>;
  describeTargetGroups(
    input: DescribeTargetGroupsCommandInput,
  ): Promise<DescribeTargetGroupsCommandOutput>;
  modifyTargetGroupAttributes(input: ModifyTargetGroupAttributesCommandInput): Promise<unknown>;
  deleteTargetGroup(input: DeleteTargetGroupCommandInput): Promise<unknown>;
  createRule(input: CreateRuleCommandInput): Promise<CreateRuleCommandOutput>;
  describeRules(input: DescribeRulesCommandInput): Promise<DescribeRulesCommandOutput>;
  deleteRule(input: DeleteRuleCommandInput): Promise<unknown>;
  /** Changes a rule's actions in place (one atomic switch of where its traffic goes). */
  modifyRule(input: ModifyRuleCommandInput): Promise<unknown>;
  describeTags(input: DescribeTagsCommandInput): Promise<DescribeTagsCommandOutput>;
  /** The load balancer's idle timeout, raised by a deploy to cover its predictor.timeout. */
  describeLoadBalancerAttributes(
    input: DescribeLoadBalancerAttributesCommandInput,
  ): Promise<DescribeLoadBalancerAttributesCommandOutput>;
  modifyLoadBalancerAttributes(input: ModifyLoadBalancerAttributesCommandInput): Promise<unknown>;
}

/** IAM: only the ECS service-linked role a fresh account lacks (RULES.md R6). */
export interface IamPort {
  createServiceLinkedRole(input: CreateServiceLinkedRoleCommandInput): Promise<unknown>;
}

/** Application Auto Scaling: an API's scalable target and target-tracking policy. */
export interface AutoScalingPort {
  registerScalableTarget(input: RegisterScalableTargetCommandInput): Promise<unknown>;
  deregisterScalableTarget(input: DeregisterScalableTargetCommandInput): Promise<unknown>;
  describeScalableTargets(
    input: DescribeScalableTargetsCommandInput,
  ): Promise<DescribeScalableTargetsCommandOutput>;
  putScalingPolicy(input: PutScalingPolicyCommandInput): Promise<PutScalingPolicyCommandOutput>;
  deleteScalingPolicy(input: DeleteScalingPolicyCommandInput): Promise<unknown>;
  describeScalingPolicies(
    input: DescribeScalingPoliciesCommandInput,
  ): Promise<DescribeScalingPoliciesCommandOutput>;
}

/** CloudWatch Logs: an API's log history and live tail. */
export interface LogsPort {
  filterLogEvents(input: FilterLogEventsCommandInput): Promise<FilterLogEventsCommandOutput>;
  describeLogStreams(
    input: DescribeLogStreamsCommandInput,
  ): Promise<DescribeLogStreamsCommandOutput>;
  /** Not in moto 5.2 on this machine's route (HTTP 500): callers fall back to polling. */
  startLiveTail(
    input: StartLiveTailCommandInput,
    options: { abortSignal: AbortSignal },
  ): Promise<StartLiveTailCommandOutput>;
}

/** CloudWatch: the alarm a canary rollout is rolled back by, and the load balancer's metrics. */
export interface CloudWatchPort {
  putMetricAlarm(input: PutMetricAlarmCommandInput): Promise<unknown>;
  deleteAlarms(input: DeleteAlarmsCommandInput): Promise<unknown>;
  describeAlarms(input: DescribeAlarmsCommandInput): Promise<DescribeAlarmsCommandOutput>;
  /** One page; api-metrics.ts sizes its queries to fit one and follows NextToken when CloudWatch pages. */
  getMetricData(input: GetMetricDataCommandInput): Promise<GetMetricDataCommandOutput>;
}

export interface S3Port {
  listObjectsV2(input: ListObjectsV2CommandInput): Promise<ListObjectsV2CommandOutput>;
  deleteObjects(input: DeleteObjectsCommandInput): Promise<DeleteObjectsCommandOutput>;
  putObject(input: PutObjectCommandInput): Promise<unknown>;
  /** The object's body, read whole (bundles are at most 512 MiB and streamed by callers' limits). */
  getObjectBytes(input: GetObjectCommandInput): Promise<Uint8Array>;
  /**
   * The body and its ETag, for a read-modify-write that puts back with `IfMatch` (conditional
   * writes, api-keys.ts).
   */
  getObjectWithEtag(input: GetObjectCommandInput): Promise<{ bytes: Uint8Array; etag?: string }>;
}

/** SQS: a batch job's queue and dead-letter queue (issue 32). */
export interface SqsPort {
  createQueue(input: CreateQueueCommandInput): Promise<CreateQueueCommandOutput>;
  getQueueUrl(input: GetQueueUrlCommandInput): Promise<GetQueueUrlCommandOutput>;
  getQueueAttributes(
    input: GetQueueAttributesCommandInput,
  ): Promise<GetQueueAttributesCommandOutput>;
  /** Every queue URL with the name prefix, all pages (the port follows `NextToken`). */
  listAllQueueUrls(
    input: Omit<ListQueuesCommandInput, "NextToken" | "MaxResults">,
  ): Promise<string[]>;
  listQueueTags(input: ListQueueTagsCommandInput): Promise<ListQueueTagsCommandOutput>;
  sendMessageBatch(input: SendMessageBatchCommandInput): Promise<SendMessageBatchCommandOutput>;
  receiveMessage(
    input: ReceiveMessageCommandInput,
    options?: { abortSignal?: AbortSignal },
  ): Promise<ReceiveMessageCommandOutput>;
  deleteMessage(input: DeleteMessageCommandInput): Promise<unknown>;
  changeMessageVisibility(input: ChangeMessageVisibilityCommandInput): Promise<unknown>;
  deleteQueue(input: DeleteQueueCommandInput): Promise<unknown>;
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
  iam: IamPort;
  s3: S3Port;
  elb: ElbPort;
  autoScaling: AutoScalingPort;
  logs: LogsPort;
  cloudWatch: CloudWatchPort;
  sqs: SqsPort;
}

/** Options for `connectAws`. */
export interface ConnectOptions {
  /**
   * Called before every AWS request with the service and command name (an SDK middleware on each
   * client); tests count mutating calls with it.
   */
  onCall?: (service: string, command: string) => void;
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
  service: ServiceKey,
): ReturnType<typeof identity> & { region: string; endpoint?: string; retryMode: string } {
  const endpoint =
    settings[`AWS_ENDPOINT_URL_${service}`] ??
    settings["AWS_ENDPOINT_URL"] ??
    process.env[`AWS_ENDPOINT_URL_${service}`] ??
    process.env["AWS_ENDPOINT_URL"];
  // Adaptive retries pace calls client-side once AWS throttles (ecs.md §7.3).
  return {
    region,
    retryMode: "adaptive",
    ...identity(settings),
    ...(endpoint === undefined ? {} : { endpoint }),
  };
}

type ServiceKey =
  | "CLOUDFORMATION"
  | "EC2"
  | "ECS"
  | "S3"
  | "ELASTIC_LOAD_BALANCING_V2"
  | "APPLICATION_AUTO_SCALING"
  | "CLOUDWATCH_LOGS"
  | "CLOUDWATCH"
  | "IAM"
  | "SQS";

/** The part of an SDK client `observe` needs. */
interface MiddlewareClient {
  middlewareStack: {
    add(
      middleware: (
        next: (args: unknown) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      options: { step: "initialize"; name: string },
    ): void;
  };
}

/** Adds the `onCall` middleware to a client. */
function observe<T>(client: T, service: string, options: ConnectOptions): T {
  const onCall = options.onCall;
  if (onCall === undefined) return client;
  (client as unknown as MiddlewareClient).middlewareStack.add(
    (next, context) => async (args) => {
      onCall(service, (context.commandName ?? "").replace(/Command$/, ""));
      return next(args);
    },
    { step: "initialize", name: "axonCallObserver" },
  );
  return client;
}

/** Loads the SDK clients and returns the ports for `region`. */
export async function connectAws(
  region: string,
  settings: AwsSettings = {},
  options: ConnectOptions = {},
): Promise<AwsPorts> {
  const [cfn, ec2, ecs, s3, elb, aas, logs, cw, iam, sqs] = await Promise.all([
    import("@aws-sdk/client-cloudformation"),
    import("@aws-sdk/client-ec2"),
    import("@aws-sdk/client-ecs"),
    import("@aws-sdk/client-s3"),
    import("@aws-sdk/client-elastic-load-balancing-v2"),
    import("@aws-sdk/client-application-auto-scaling"),
    import("@aws-sdk/client-cloudwatch-logs"),
    import("@aws-sdk/client-cloudwatch"),
    import("@aws-sdk/client-iam"),
    import("@aws-sdk/client-sqs"),
  ]);
  const cloudFormationClient = observe(
    new cfn.CloudFormationClient(clientOptions(region, settings, "CLOUDFORMATION")),
    "cloudformation",
    options,
  );
  const ec2Client = observe(
    new ec2.EC2Client(clientOptions(region, settings, "EC2")),
    "ec2",
    options,
  );
  const ecsClient = observe(
    new ecs.ECSClient(clientOptions(region, settings, "ECS")),
    "ecs",
    options,
  );
  const s3Options = clientOptions(region, settings, "S3");
  // Emulators and custom endpoints serve buckets by path, not by virtual host. A batch job's items
  // may sit in a bucket of another region (issue 32): S3 answers 301 there, and the client retries
  // in the bucket's region instead of failing.
  const s3Client = observe(
    new s3.S3Client({
      ...s3Options,
      forcePathStyle: s3Options.endpoint !== undefined,
      followRegionRedirects: true,
    }),
    "s3",
    options,
  );
  const elbClient = observe(
    new elb.ElasticLoadBalancingV2Client(
      clientOptions(region, settings, "ELASTIC_LOAD_BALANCING_V2"),
    ),
    "elasticloadbalancing",
    options,
  );
  const aasClient = observe(
    new aas.ApplicationAutoScalingClient(
      clientOptions(region, settings, "APPLICATION_AUTO_SCALING"),
    ),
    "application-autoscaling",
    options,
  );
  const logsOptions = clientOptions(region, settings, "CLOUDWATCH_LOGS");
  // Live Tail's host prefix ("streaming-") does not resolve on an emulator's address.
  const logsClient = observe(
    new logs.CloudWatchLogsClient({
      ...logsOptions,
      disableHostPrefix: logsOptions.endpoint !== undefined,
    }),
    "logs",
    options,
  );
  const cwClient = observe(
    new cw.CloudWatchClient(clientOptions(region, settings, "CLOUDWATCH")),
    "cloudwatch",
    options,
  );
  const iamClient = observe(
    new iam.IAMClient(clientOptions(region, settings, "IAM")),
    "iam",
    options,
  );
  const sqsClient = observe(
    new sqs.SQSClient(clientOptions(region, settings, "SQS")),
    "sqs",
    options,
  );
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
      registerTaskDefinition: (input) =>
        ecsClient.send(new ecs.RegisterTaskDefinitionCommand(input)),
      describeTaskDefinition: (input) =>
        ecsClient.send(new ecs.DescribeTaskDefinitionCommand(input)),
      listTaskDefinitions: (input) => ecsClient.send(new ecs.ListTaskDefinitionsCommand(input)),
      listAllTaskDefinitionArns: (input) =>
        allTaskDefinitionArns(
          (page) => ecsClient.send(new ecs.ListTaskDefinitionsCommand(page)),
          input,
        ),
      listAllTaskDefinitionFamilies: (input) =>
        allTaskDefinitionFamilies(
          (page) => ecsClient.send(new ecs.ListTaskDefinitionFamiliesCommand(page)),
          input,
        ),
      deregisterTaskDefinition: (input) =>
        ecsClient.send(new ecs.DeregisterTaskDefinitionCommand(input)),
      createService: (input) => ecsClient.send(new ecs.CreateServiceCommand(input)),
      updateService: (input) => ecsClient.send(new ecs.UpdateServiceCommand(input)),
      describeServices: (input) => ecsClient.send(new ecs.DescribeServicesCommand(input)),
      deleteService: (input) => ecsClient.send(new ecs.DeleteServiceCommand(input)),
      listServices: (input) => ecsClient.send(new ecs.ListServicesCommand(input)),
      listTagsForResource: (input) => ecsClient.send(new ecs.ListTagsForResourceCommand(input)),
      tagResource: (input) => ecsClient.send(new ecs.TagResourceCommand(input)),
      listTasks: (input) => ecsClient.send(new ecs.ListTasksCommand(input)),
      describeTasks: (input) => ecsClient.send(new ecs.DescribeTasksCommand(input)),
      runTask: (input) => ecsClient.send(new ecs.RunTaskCommand(input)),
      stopTask: (input) => ecsClient.send(new ecs.StopTaskCommand(input)),
      listServiceDeployments: (input) =>
        ecsClient.send(new ecs.ListServiceDeploymentsCommand(input)),
      describeServiceDeployments: (input) =>
        ecsClient.send(new ecs.DescribeServiceDeploymentsCommand(input)),
      describeServiceRevisions: (input) =>
        ecsClient.send(new ecs.DescribeServiceRevisionsCommand(input)),
    },
    elb: {
      createTargetGroup: (input) => elbClient.send(new elb.CreateTargetGroupCommand(input)),
      describeTargetGroups: (input) => elbClient.send(new elb.DescribeTargetGroupsCommand(input)),
      modifyTargetGroupAttributes: (input) =>
        elbClient.send(new elb.ModifyTargetGroupAttributesCommand(input)),
      deleteTargetGroup: (input) => elbClient.send(new elb.DeleteTargetGroupCommand(input)),
      createRule: (input) => elbClient.send(new elb.CreateRuleCommand(input)),
      describeRules: (input) => elbClient.send(new elb.DescribeRulesCommand(input)),
      deleteRule: (input) => elbClient.send(new elb.DeleteRuleCommand(input)),
      modifyRule: (input) => elbClient.send(new elb.ModifyRuleCommand(input)),
      describeTags: (input) => elbClient.send(new elb.DescribeTagsCommand(input)),
      describeLoadBalancerAttributes: (input) =>
        elbClient.send(new elb.DescribeLoadBalancerAttributesCommand(input)),
      modifyLoadBalancerAttributes: (input) =>
        elbClient.send(new elb.ModifyLoadBalancerAttributesCommand(input)),
    },
    autoScaling: {
      registerScalableTarget: (input) =>
        aasClient.send(new aas.RegisterScalableTargetCommand(input)),
      deregisterScalableTarget: (input) =>
        aasClient.send(new aas.DeregisterScalableTargetCommand(input)),
      describeScalableTargets: (input) =>
        aasClient.send(new aas.DescribeScalableTargetsCommand(input)),
      putScalingPolicy: (input) => aasClient.send(new aas.PutScalingPolicyCommand(input)),
      deleteScalingPolicy: (input) => aasClient.send(new aas.DeleteScalingPolicyCommand(input)),
      describeScalingPolicies: (input) =>
        aasClient.send(new aas.DescribeScalingPoliciesCommand(input)),
    },
    logs: {
      filterLogEvents: (input) => logsClient.send(new logs.FilterLogEventsCommand(input)),
      describeLogStreams: (input) => logsClient.send(new logs.DescribeLogStreamsCommand(input)),
      startLiveTail: (input, { abortSignal }) =>
        logsClient.send(new logs.StartLiveTailCommand(input), { abortSignal }),
    },
    cloudWatch: {
      putMetricAlarm: (input) => cwClient.send(new cw.PutMetricAlarmCommand(input)),
      deleteAlarms: (input) => cwClient.send(new cw.DeleteAlarmsCommand(input)),
      describeAlarms: (input) => cwClient.send(new cw.DescribeAlarmsCommand(input)),
      getMetricData: (input) => cwClient.send(new cw.GetMetricDataCommand(input)),
    },
    iam: {
      createServiceLinkedRole: (input) =>
        iamClient.send(new iam.CreateServiceLinkedRoleCommand(input)),
    },
    sqs: {
      createQueue: (input) => sqsClient.send(new sqs.CreateQueueCommand(input)),
      getQueueUrl: (input) => sqsClient.send(new sqs.GetQueueUrlCommand(input)),
      getQueueAttributes: (input) => sqsClient.send(new sqs.GetQueueAttributesCommand(input)),
      listAllQueueUrls: (input) =>
        allQueueUrls((page) => sqsClient.send(new sqs.ListQueuesCommand(page)), input),
      listQueueTags: (input) => sqsClient.send(new sqs.ListQueueTagsCommand(input)),
      sendMessageBatch: (input) => sqsClient.send(new sqs.SendMessageBatchCommand(input)),
      receiveMessage: (input, receiveOptions) =>
        sqsClient.send(
          new sqs.ReceiveMessageCommand(input),
          receiveOptions?.abortSignal === undefined
            ? {}
            : { abortSignal: receiveOptions.abortSignal },
        ),
      deleteMessage: (input) => sqsClient.send(new sqs.DeleteMessageCommand(input)),
      changeMessageVisibility: (input) =>
        sqsClient.send(new sqs.ChangeMessageVisibilityCommand(input)),
      deleteQueue: (input) => sqsClient.send(new sqs.DeleteQueueCommand(input)),
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
      getObjectWithEtag: async (input) => {
        const output = await s3Client.send(new s3.GetObjectCommand(input));
        const bytes =
          output.Body === undefined ? new Uint8Array() : await output.Body.transformToByteArray();
        return output.ETag === undefined ? { bytes } : { bytes, etag: output.ETag };
      },
    },
  };
}
