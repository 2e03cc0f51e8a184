/**
 * AWS clusters (decision 8): `cluster up --provider aws` plans (cost table, nothing created), then
 * registers the environment and creates the one CloudFormation stack, streaming each resource's
 * progress; `cluster info --env` describes it; `cluster down --env` empties the bundle bucket and
 * deletes the stack, and is a no-op once the stack is gone. The CLI never calls AWS: it asks the
 * daemon, which runs this. The AWS SDK loads only when one of these runs.
 */
import {
  checkCertificateArns,
  ConfigError,
  parseClusterConfig,
  type ClusterConfig,
} from "@axon/config";
import type {
  AwsClusterInfo,
  ClusterDownResponse,
  ClusterPlanResponse,
  ClusterResourceProgress,
  ClusterUpRequest,
  ClusterUpResponse,
} from "../contract/index.js";
import { DomainError } from "../errors.js";
import type { EventSink } from "../events/event-sink.js";
import { clusterRefs } from "../providers/aws/api-names.js";
import { emptyBundleBucket } from "../providers/aws/bundle-bucket.js";
import {
  sweepCluster,
  sweepDefaultTargetGroup,
  waitForClusterEmpty,
} from "../providers/aws/cluster-sweep.js";
import { estimateClusterCost } from "../providers/aws/cluster-costs.js";
import {
  AWS_STACK_FAILED,
  createClusterStack,
  deleteClusterStack,
  describeClusterStack,
  ensureEcsServiceLinkedRole,
  updateClusterStack,
  waitForStack,
  type ClusterStackState,
  type StackDeps,
} from "../providers/aws/cluster-stack.js";
import { clusterStackName, generateClusterTemplate } from "../providers/aws/cluster-template.js";
import { findDefaultVpc } from "../providers/aws/default-vpc.js";
import type { AwsPorts, AwsSettings } from "../providers/aws/sdk.js";
import type { EnvironmentRecord, StateStore } from "../state/store.js";
import { connectAwsRegion, STACK_SETTLED } from "./aws-environment.js";
import { CONFIG_INVALID } from "./deploy-plan.js";
import { checkEnvironmentName, ENV_EXISTS, requireAwsEnvironment } from "./environments.js";

/** The cluster's stack is mid-change in CloudFormation, so it cannot be created now (409). */
export const AWS_STACK_BUSY = "provider.aws.stack_busy";

/** Neither the cluster config nor the AWS settings name a region (400). */
export const AWS_NO_REGION = "provider.aws.no_region";

export interface AwsClusterDeps {
  store: StateStore;
  events: EventSink;
  signal: AbortSignal;
  /** Each resource's step while a stack changes (the route streams them). */
  onResource?: (progress: ClusterResourceProgress) => void;
  onProgress?: (message: string) => void;
  /** The calling shell's AWS settings (`AWS_SETTINGS_HEADER`); empty: the daemon's own chain. */
  awsSettings?: AwsSettings;
  /** The AWS ports for a region; default: the real SDK (`connectAws`). */
  connect?: (region: string) => Promise<AwsPorts>;
  /** Region when the cluster config names none; default: the SDK's chain. */
  defaultRegion?: () => Promise<string | undefined>;
  pollMs?: number;
  now?: () => Date;
}

/** Stack states a new `cluster up` removes first: nothing in them runs (CloudFormation rolled back). */
const REMOVABLE = new Set([
  "ROLLBACK_COMPLETE",
  "ROLLBACK_FAILED",
  "CREATE_FAILED",
  "DELETE_FAILED",
]);

/** Validates the config and prices the cluster; creates nothing. */
export async function planAwsCluster(
  deps: AwsClusterDeps,
  request: ClusterUpRequest,
): Promise<ClusterPlanResponse> {
  const target = await resolveTarget(deps, request);
  const ports = await connectAwsRegion(deps, target.region);
  const existing = await describeClusterStack(stackDeps(deps, ports, target.env), target.stackName);
  return {
    env: target.env,
    clusterName: target.config.clusterName,
    region: target.region,
    stackName: target.stackName,
    ...(existing === undefined ? {} : { existingStatus: existing.status }),
    costs: estimateClusterCost(target.config),
  };
}

/** Registers the environment and creates its stack (or finds it already there). */
export async function bringUpAwsCluster(
  deps: AwsClusterDeps,
  request: ClusterUpRequest,
): Promise<ClusterUpResponse> {
  const target = await resolveTarget(deps, request);
  const ports = await connectAwsRegion(deps, target.region);
  const stack = stackDeps(deps, ports, target.env);
  const now = deps.now ?? (() => new Date());
  // Registered first: whatever happens next, `cluster down --env` can find and remove it.
  const record = deps.store.putEnvironment(
    {
      name: target.env,
      provider: "aws",
      region: target.region,
      stackName: target.stackName,
      clusterName: target.config.clusterName,
      configFile: request.configFileName,
      configYaml: request.config,
    },
    now(),
  );
  const started = Date.now();
  let existing = await describeClusterStack(stack, target.stackName);
  if (existing !== undefined && STACK_SETTLED.has(existing.status)) {
    // The cluster exists: apply what changed in the config (CloudFormation computes the change).
    const body = await templateBody(target, stack, ports);
    deps.onProgress?.(`applying the config to stack ${target.stackName} in ${target.region}`);
    const updated = await watchCreation(deps, target, () =>
      updateClusterStack(stack, {
        stackId: existing?.stackId ?? target.stackName,
        stackName: target.stackName,
        templateBody: body,
        tags: stackTags(target),
      }),
    );
    if (updated === "unchanged") {
      return {
        outcome: "unchanged",
        message: `stack ${target.stackName} in ${target.region} is up to date (${existing.status}); nothing changed`,
        cluster: clusterInfo(record, existing, 0),
      };
    }
    return {
      outcome: "updated",
      message: `stack ${target.stackName} updated in ${target.region} (${((Date.now() - started) / 1000).toFixed(0)}s)`,
      cluster: clusterInfo(record, updated, 0),
    };
  }
  if (existing?.status === "CREATE_IN_PROGRESS") {
    deps.onProgress?.(`stack ${target.stackName} is already being created; waiting for it`);
    const state = await watchCreation(deps, target, () =>
      waitForStack(stack, existing?.stackId ?? target.stackName, target.stackName, "create"),
    );
    return created(deps, record, state, started);
  }
  if (
    existing !== undefined &&
    (REMOVABLE.has(existing.status) || existing.status === "DELETE_IN_PROGRESS")
  ) {
    deps.onProgress?.(
      `removing stack ${target.stackName} left ${existing.status} by an earlier attempt`,
    );
    await deleteClusterStack(stack, target.stackName);
    existing = undefined;
  }
  if (existing !== undefined) {
    throw new DomainError(
      AWS_STACK_BUSY,
      `stack ${target.stackName} in ${target.region} is ${existing.status}`,
      {
        status: 409,
        hint: "wait until CloudFormation finishes with it, then run the command again",
      },
    );
  }
  const body = await templateBody(target, stack, ports);
  // A fresh account has no ECS service-linked role, and the cluster's capacity providers need it.
  const role = await ensureEcsServiceLinkedRole({
    ...stack,
    iam: ports.iam,
    ...(deps.onProgress === undefined ? {} : { onNote: deps.onProgress }),
  });
  if (role === "created")
    deps.onProgress?.("created the ECS service-linked role (AWSServiceRoleForECS)");
  deps.onProgress?.(`creating stack ${target.stackName} in ${target.region}`);
  const state = await watchCreation(deps, target, () =>
    createClusterStack(stack, {
      stackName: target.stackName,
      templateBody: body,
      tags: stackTags(target),
    }),
  );
  return created(deps, record, state, started);
}

/** The environment's cluster as it is now; `stackStatus: null` when the stack does not exist. */
export async function describeAwsCluster(
  deps: AwsClusterDeps,
  envName: string,
): Promise<AwsClusterInfo> {
  const record = requireAwsEnvironment(deps.store, envName);
  const ports = await connectAwsRegion(deps, record.region);
  const state = await describeClusterStack(stackDeps(deps, ports, record.name), record.stackName);
  return clusterInfo(record, state, await countApis(deps, ports, record, state));
}

/** How many APIs run on the stack's cluster (0 when it has none or never got its outputs). */
async function countApis(
  deps: AwsClusterDeps,
  ports: AwsPorts,
  record: EnvironmentRecord,
  state: ClusterStackState | undefined,
): Promise<number> {
  if (state === undefined || state.outputs.ClusterName === undefined) return 0;
  let refs;
  try {
    refs = clusterRefs(record.name, record.region, record.stackName, state.outputs);
  } catch {
    return 0;
  }
  const { listAwsApiNames } = await import("../providers/aws/api-status.js");
  const names = await listAwsApiNames({ ports, refs, target: ports.target, signal: deps.signal });
  return names.length;
}

/** Empties the bucket and deletes the stack; `absent` (a no-op) when there is no stack. */
export async function tearDownAwsCluster(
  deps: AwsClusterDeps,
  envName: string,
): Promise<ClusterDownResponse> {
  const record = requireAwsEnvironment(deps.store, envName);
  const ports = await connectAwsRegion(deps, record.region);
  const stack = stackDeps(deps, ports, record.name);
  const started = Date.now();
  const existing = await describeClusterStack(stack, record.stackName);
  if (existing === undefined) {
    return {
      outcome: "absent",
      message: `stack ${record.stackName} does not exist in ${record.region}: nothing to delete (environment ${record.name} is still registered; axon env remove ${record.name} forgets it)`,
      objectsDeleted: 0,
    };
  }
  // The APIs first: their services hold the ECS cluster, their rules and target groups the ALB.
  const apis = await deleteApisOf(deps, ports, record, existing);
  let objectsDeleted = 0;
  const bucket = existing.outputs.BucketName;
  if (bucket !== undefined) {
    deps.onProgress?.(`emptying bucket ${bucket}`);
    objectsDeleted = await emptyBundleBucket({ ...stack, s3: ports.s3 }, bucket).catch(
      (error: unknown) => {
        // A bucket already deleted (an interrupted earlier `down`) has nothing left to empty.
        if (
          error instanceof DomainError &&
          (error.cause as Error | undefined)?.name === "NoSuchBucket"
        )
          return 0;
        throw error;
      },
    );
  }
  // DeleteCluster refuses while services drain or tasks run (RULES.md R2, R3): wait for both.
  const clusterName = existing.outputs.ClusterName;
  // Also with no API left to delete: an interrupted `down` may have left services draining.
  if (clusterName !== undefined) {
    await waitForClusterEmpty(
      {
        ...stack,
        ecs: ports.ecs,
        ...(deps.onProgress === undefined ? {} : { onProgress: deps.onProgress }),
      },
      clusterName,
      apis,
    );
  }
  deps.onProgress?.(`deleting stack ${record.stackName} in ${record.region}`);
  try {
    await deleteStackRetryingOnce(deps, stack, record);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    deps.events.emit({
      kind: "cluster.failed",
      env: record.name,
      stackName: record.stackName,
      message,
    });
    throw error;
  }
  if (
    clusterName !== undefined &&
    (await sweepCluster({ ...stack, ecs: ports.ecs }, clusterName))
  ) {
    deps.onProgress?.(`ECS cluster ${clusterName} outlived its stack; deleted it`);
  }
  // Only a stack that got its outputs made the group.
  const configName =
    clusterName === undefined
      ? undefined
      : (record.clusterName ?? clusterName.replace(/^axon-/, ""));
  if (
    configName !== undefined &&
    (await sweepDefaultTargetGroup({ ...stack, elb: ports.elb }, configName))
  ) {
    deps.onProgress?.("the load balancer's default target group outlived its stack; deleted it");
  }
  const seconds = (Date.now() - started) / 1000;
  deps.events.emit({
    kind: "cluster.deleted",
    env: record.name,
    stackName: record.stackName,
    region: record.region,
    seconds,
  });
  return {
    outcome: "deleted",
    message: `stack ${record.stackName} deleted from ${record.region}${apis.length > 0 ? ` (APIs deleted first: ${apis.join(", ")})` : ""}${objectsDeleted > 0 ? ` (${objectsDeleted} bundles removed first)` : ""}`,
    objectsDeleted,
  };
}

/**
 * Deletes the stack; when it ends DELETE_FAILED (security groups keep their network interfaces a
 * few minutes after Fargate tasks stop: DependencyViolation, ecs.md §1.5), says what blocked it
 * and tries once more — DeleteStack on a DELETE_FAILED stack starts the deletion again
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStack.html).
 */
async function deleteStackRetryingOnce(
  deps: AwsClusterDeps,
  stack: StackDeps,
  record: EnvironmentRecord,
): Promise<void> {
  try {
    await deleteClusterStack(stack, record.stackName);
  } catch (error) {
    if (!(error instanceof DomainError) || error.code !== AWS_STACK_FAILED) throw error;
    const state = await describeClusterStack(stack, record.stackName);
    if (state?.status !== "DELETE_FAILED") throw error;
    deps.onProgress?.(`${error.message}; retrying once`);
    // Network interfaces take a minute or more to detach: give them that before the retry.
    const pause = (deps.pollMs ?? 5000) * 12;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, pause);
      deps.signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
    });
    await deleteClusterStack(stack, record.stackName);
  }
}

/** Deletes every API on the stack's cluster; none when the stack never got its outputs. */
async function deleteApisOf(
  deps: AwsClusterDeps,
  ports: AwsPorts,
  record: EnvironmentRecord,
  stack: ClusterStackState,
): Promise<string[]> {
  if (stack.outputs.ClusterName === undefined || stack.outputs.ListenerArn === undefined) return [];
  let refs;
  try {
    refs = clusterRefs(record.name, record.region, record.stackName, stack.outputs);
  } catch {
    return []; // a stack without every output was never usable: no API was deployed on it
  }
  const { deleteAllAwsApis } = await import("./aws-apis.js");
  return deleteAllAwsApis({
    ports,
    refs,
    target: ports.target,
    signal: deps.signal,
    ...(deps.pollMs === undefined ? {} : { pollMs: deps.pollMs }),
    ...(deps.onProgress === undefined ? {} : { onProgress: deps.onProgress }),
  });
}

interface ClusterTarget {
  config: ClusterConfig;
  env: string;
  region: string;
  stackName: string;
}

async function resolveTarget(
  deps: AwsClusterDeps,
  request: ClusterUpRequest,
): Promise<ClusterTarget> {
  let config: ClusterConfig;
  try {
    config = parseClusterConfig(request.config, request.configFileName);
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new DomainError(
        CONFIG_INVALID,
        `${request.configFileName} is not a valid cluster configuration; nothing was created`,
        { diagnostics: error.diagnostics, hint: "fix the fields listed and run the command again" },
      );
    }
    throw error;
  }
  const env = request.env ?? config.clusterName;
  checkEnvironmentName(env);
  const region =
    config.region ??
    (await (deps.defaultRegion ?? (() => defaultRegion(deps.awsSettings ?? {})))());
  if (region === undefined) {
    throw new DomainError(AWS_NO_REGION, "no AWS region is configured", {
      status: 400,
      hint: `set region in ${request.configFileName}, or AWS_REGION (or a profile's region) for the control plane`,
    });
  }
  // The file's region was checked against the certificates while parsing; the chain's is known now.
  const wrongRegion = checkCertificateArns(config.loadBalancer.certificateArns ?? [], region);
  if (config.region === undefined && wrongRegion.length > 0) {
    throw new DomainError(
      CONFIG_INVALID,
      `${request.configFileName} is not a valid cluster configuration; nothing was created`,
      {
        diagnostics: wrongRegion.map((problem) => ({
          file: request.configFileName,
          path: `load_balancer.certificate_arn${(config.loadBalancer.certificateArns ?? []).length > 1 ? `.${problem.index}` : ""}`,
          message: problem.message,
        })),
        hint: "fix the fields listed (or set region in the file) and run the command again",
      },
    );
  }
  const stackName = clusterStackName(config.clusterName);
  const registered = deps.store.getEnvironment(env);
  if (
    registered !== undefined &&
    (registered.stackName !== stackName || registered.region !== region)
  ) {
    throw new DomainError(
      ENV_EXISTS,
      `environment ${env} already names stack ${registered.stackName} in ${registered.region}, not ${stackName} in ${region}`,
      { status: 409, hint: "pass another name with --env, or axon env remove it first" },
    );
  }
  return { config, env, region, stackName };
}

/** The cluster's template as CloudFormation gets it (the default VPC looked up when used). */
async function templateBody(
  target: ClusterTarget,
  stack: StackDeps,
  ports: AwsPorts,
): Promise<string> {
  const defaultVpc =
    target.config.networking.vpc === "default"
      ? await findDefaultVpc({ ...stack, ec2: ports.ec2 })
      : undefined;
  const template = generateClusterTemplate({
    config: target.config,
    envName: target.env,
    ...(defaultVpc === undefined ? {} : { defaultVpc }),
  });
  return JSON.stringify(template);
}

/** Stack-level tags (CloudFormation copies them to the resources that take tags). */
function stackTags(target: ClusterTarget): Record<string, string> {
  return {
    ...target.config.tags,
    "axon:cluster": target.config.clusterName,
    "axon:env": target.env,
  };
}

/** Runs a stack operation, reporting its failure as an event before it is thrown on. */
async function watchCreation<T>(
  deps: AwsClusterDeps,
  target: ClusterTarget,
  create: () => Promise<T>,
): Promise<T> {
  try {
    return await create();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    deps.events.emit({
      kind: "cluster.failed",
      env: target.env,
      stackName: target.stackName,
      message,
    });
    throw error;
  }
}

function created(
  deps: AwsClusterDeps,
  record: EnvironmentRecord,
  state: ClusterStackState,
  started: number,
): ClusterUpResponse {
  const seconds = (Date.now() - started) / 1000;
  deps.events.emit({
    kind: "cluster.created",
    env: record.name,
    stackName: record.stackName,
    region: record.region,
    seconds,
  });
  return {
    outcome: "created",
    message: `stack ${record.stackName} created in ${record.region} (${seconds.toFixed(0)}s)`,
    cluster: clusterInfo(record, state, 0),
  };
}

function stackDeps(deps: AwsClusterDeps, ports: AwsPorts, env: string): StackDeps {
  return {
    cloudFormation: ports.cloudFormation,
    target: ports.target,
    signal: deps.signal,
    ...(deps.pollMs === undefined ? {} : { pollMs: deps.pollMs }),
    onResource: (progress) => {
      deps.events.emit({ kind: "cluster.resource_updated", env, ...progress });
      deps.onResource?.(progress);
    },
  };
}

function clusterInfo(
  record: EnvironmentRecord,
  state: ClusterStackState | undefined,
  apis: number,
): AwsClusterInfo {
  const outputs = state?.outputs ?? {};
  return {
    env: record.name,
    provider: "aws",
    region: record.region,
    stackName: record.stackName,
    stackStatus: state?.status ?? null,
    ...(state?.statusReason === undefined ? {} : { stackStatusReason: state.statusReason }),
    ...(outputs.ClusterName === undefined ? {} : { clusterName: outputs.ClusterName }),
    ...(outputs.LoadBalancerDnsName === undefined
      ? {}
      : { loadBalancerUrl: outputs.EndpointBaseUrl ?? `http://${outputs.LoadBalancerDnsName}` }),
    ...(outputs.BucketName === undefined ? {} : { bucket: outputs.BucketName }),
    ...(outputs.Image === undefined ? {} : { image: outputs.Image }),
    ...(outputs.LogGroupName === undefined ? {} : { logGroup: outputs.LogGroupName }),
    apis,
  };
}

async function defaultRegion(settings: AwsSettings): Promise<string | undefined> {
  const { resolveAwsRegion } = await import("../providers/aws/sdk.js");
  return resolveAwsRegion(undefined, settings);
}
