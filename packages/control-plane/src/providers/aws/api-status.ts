/**
 * An AWS environment's APIs read back from the account, for `axon get --env <aws env>`: every
 * ACTIVE ECS service of the cluster tagged `axon:api` is an API, and everything shown about it
 * comes from ECS (the service, its deployments, its task definition and its stopped tasks), so a
 * brand-new `$AXON_HOME` shows the same as the one that deployed.
 *
 * Status rules (ecs.md §1.4, §4):
 * - `error` when the latest deployment failed: the circuit breaker or an alarm stopped it, and it
 *   was (or is being) rolled back, or stopped without a rollback. `statusMessage` names the revisions
 *   and why, e.g. "revision 3 failed and was rolled back to revision 2: tasks failed to start
 *   (circuit breaker); last stopped task: Essential container in task exited: exit code 1".
 *   A completed rollback stays `error` until the next deploy: the API does not run what was
 *   deployed last.
 * - `updating` while the latest deployment is in progress (PRIMARY rolloutState IN_PROGRESS, or a
 *   canary/linear/blue-green service deployment that has not finished), and when a completed
 *   deployment runs fewer tasks than desired (ECS is replacing a task).
 * - `live` when the PRIMARY deployment's rolloutState is COMPLETED (or absent) and its running count
 *   equals the desired count.
 * The latest service deployment (ListServiceDeployments + DescribeServiceDeployments) is the first
 * source: it says whether a rollback happened, why (circuit breaker, alarm) and where a canary is.
 * When those calls fail (moto has neither; an identity may lack the permission) the service's
 * `deployments` array is read instead: it shows a failed deployment only until the rollback
 * completes, so a finished rollback then reads as `live` on the old revision.
 *
 * Replicas: requested = the service's desiredCount; upToDate = the PRIMARY deployment's running
 * tasks; stale = other deployments' running tasks; initializing = PRIMARY pending; failed = PRIMARY
 * failedTasks.
 *
 * Cost per read (ecs.md §7): DescribeServices batched by 10 (with TAGS); per API one
 * DescribeTaskDefinition (the endpoint path lives in the spec; pass a cache to skip it), two
 * service-deployment calls (plus DescribeServiceRevisions when a rollout failed), and, only when the
 * API is not live, ListTasks + DescribeTasks for the stopped tasks' reasons.
 */
import type { ApiSpec } from "@axon/config";
import type {
  Deployment,
  Service,
  ServiceDeployment,
  ServiceDeploymentBrief,
  ServiceDeploymentStatus,
  TaskDefinition,
  Tag,
  Task,
} from "@aws-sdk/client-ecs";
import type { ApiEvent, ApiStatus, EventLevel, ReplicaCounts } from "../../contract/index.js";
import { REPLICA_ENV } from "./replica-env.js";
import { DomainError } from "../../errors.js";
import { AWS_FAILED } from "./aws-errors.js";
import {
  API_TAGS,
  endpointUrl,
  REPLICA_CONTAINER,
  serviceName,
  type EcsApiDeps,
} from "./api-names.js";
import { callAws } from "./cluster-stack.js";

/** One API on an AWS cluster, as ECS reports it. */
export interface AwsApiState {
  name: string;
  status: ApiStatus;
  statusMessage?: string;
  replicas: ReplicaCounts;
  /** ISO time the latest deployment started. */
  lastUpdated: string;
  /** `http(s)://<ALB dns or domain><endpoint path>` */
  endpoint: string;
  serviceArn: string;
  taskDefinitionArn: string;
  /** The task definition's revision (`…:iris:3` → 3). */
  revision: number;
  /** From the service's tags (`API_TAGS`). */
  specHash?: string;
  bundle?: string;
  configFile?: string;
  rollout?: {
    /** Where the rollout is, e.g. "canary 5% for 10m, 3m left" or "rolling: 1 of 2 new tasks running". */
    stage: string;
    /** IN_PROGRESS | PENDING | COMPLETED | FAILED | STOPPING | STOPPED | ROLLING_BACK | ROLLED_BACK | ROLLBACK_FAILED */
    state: string;
    reason?: string;
  };
  /** The service's latest events, newest first, at most 10. */
  events: ApiEvent[];
  /** The latest stopped tasks' reasons, newest first, at most 3 (read only when not live). */
  stoppedTasks: string[];
}

/** Options of `describeAwsApis`. */
export interface DescribeAwsApisOptions {
  /** Injectable clock (canary time left). */
  now?: () => number;
  /**
   * Specs by task definition ARN, read and filled in: task definitions never change, so a caller
   * that describes often (a poller) keeps one map and reads each revision once.
   */
  specs?: Map<string, ApiSpec | undefined>;
}

const MAX_EVENTS = 10;
const MAX_STOPPED = 3;
/** DescribeServices takes at most 10 services per call. */
const DESCRIBE_BATCH = 10;
/** Per-API reads in flight at once (the service-deployment bucket is 20/s, shared account-wide). */
const CONCURRENCY = 4;

/** Every API on the cluster: its ACTIVE services tagged `axon:api`, by the tag, sorted. */
export async function listAwsApiNames(deps: EcsApiDeps): Promise<string[]> {
  const services = await listApiServices(deps);
  return [...new Set(services.map((entry) => entry.name))].sort();
}

/** The cluster's ACTIVE services tagged `axon:api`, with their tags (a few calls, no per-API reads). */
export async function listApiServices(deps: EcsApiDeps): Promise<TaggedService[]> {
  return describeTaggedServices(deps, await listServiceArns(deps));
}

/**
 * The state of the named APIs (default: every API on the cluster), in the order asked; names with
 * no ACTIVE tagged service are left out.
 */
export async function describeAwsApis(
  deps: EcsApiDeps,
  names?: string[],
  options: DescribeAwsApisOptions = {},
): Promise<AwsApiState[]> {
  const services =
    names === undefined
      ? await describeTaggedServices(deps, await listServiceArns(deps))
      : (await describeTaggedServices(deps, names.map(serviceName))).filter((entry) =>
          names.includes(entry.name),
        );
  if (names === undefined) services.sort((a, b) => a.name.localeCompare(b.name));
  else services.sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name));
  const specs = options.specs ?? new Map<string, ApiSpec | undefined>();
  const now = options.now ?? Date.now;
  return mapLimited(services, CONCURRENCY, (entry) => apiState(deps, entry, specs, now));
}

/** The API's resolved spec, from its task definition's `AXON_API_SPEC`; undefined when absent. */
export async function describeAwsApiSpec(
  deps: EcsApiDeps,
  state: AwsApiState,
): Promise<ApiSpec | undefined> {
  return readSpec(deps, state.taskDefinitionArn);
}

async function readSpec(deps: EcsApiDeps, taskDefinitionArn: string): Promise<ApiSpec | undefined> {
  if (taskDefinitionArn === "") return undefined;
  const output = await callAws(deps, "ecs:DescribeTaskDefinition", () =>
    deps.ports.ecs.describeTaskDefinition({ taskDefinition: taskDefinitionArn }),
  );
  return output.taskDefinition === undefined
    ? undefined
    : replicaEnvironment(output.taskDefinition).spec;
}

/** The replica container's spec and bundle, as the deploy wrote them (api-task-definition.ts). */
export function replicaEnvironment(taskDefinition: TaskDefinition): {
  spec?: ApiSpec;
  bundle?: string;
} {
  const containers = taskDefinition.containerDefinitions ?? [];
  const container =
    containers.find((candidate) => candidate.name === REPLICA_CONTAINER) ?? containers[0];
  const env = (key: string): string | undefined =>
    container?.environment?.find((entry) => entry.name === key)?.value;
  const json = env(REPLICA_ENV.spec);
  const spec = json === undefined ? undefined : parseSpecJson(json);
  const bundle = env(REPLICA_ENV.bundle);
  return { ...(spec === undefined ? {} : { spec }), ...(bundle === undefined ? {} : { bundle }) };
}

/**
 * A spec written by the deploy (`JSON.stringify` of a resolved `ApiSpec`) read back: only the
 * fields Axon relies on are checked; anything else (hand-edited, other tool) is undefined.
 */
export function parseSpecJson(json: string): ApiSpec | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const spec = value as Partial<ApiSpec>;
  if (
    typeof spec.name !== "string" ||
    typeof spec.predictor?.path !== "string" ||
    typeof spec.networking?.endpoint !== "string"
  ) {
    return undefined;
  }
  return spec as ApiSpec;
}

export interface TaggedService {
  name: string;
  service: Service;
  tags: Record<string, string>;
}

/** Every service ARN of the cluster (ListServices, all pages). */
async function listServiceArns(deps: EcsApiDeps): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const page = await callAws(deps, "ecs:ListServices", () =>
      deps.ports.ecs.listServices({
        cluster: deps.refs.clusterName,
        maxResults: 100,
        ...(token === undefined ? {} : { nextToken: token }),
      }),
    );
    arns.push(...(page.serviceArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken !== undefined && nextToken !== "");
  return arns;
}

/** The ACTIVE services among `services` (names or ARNs) that carry `axon:api`, 10 per call. */
export async function describeTaggedServices(
  deps: EcsApiDeps,
  services: string[],
): Promise<TaggedService[]> {
  const found: TaggedService[] = [];
  for (let start = 0; start < services.length; start += DESCRIBE_BATCH) {
    const batch = services.slice(start, start + DESCRIBE_BATCH);
    const output = await callAws(deps, "ecs:DescribeServices", () =>
      deps.ports.ecs.describeServices({
        cluster: deps.refs.clusterName,
        services: batch,
        include: ["TAGS"],
      }),
    );
    // Missing services come back in `failures` (reason MISSING): they are simply not APIs.
    for (const service of output.services ?? []) {
      if (service.status !== "ACTIVE") continue;
      const tags = tagMap(service.tags);
      const name = tags[API_TAGS.api];
      if (name === undefined || name === "") continue;
      found.push({ name, service, tags });
    }
  }
  return found;
}

function tagMap(tags: Tag[] | undefined): Record<string, string> {
  const map: Record<string, string> = {};
  for (const tag of tags ?? []) {
    if (tag.key !== undefined) map[tag.key] = tag.value ?? "";
  }
  return map;
}

async function apiState(
  deps: EcsApiDeps,
  entry: TaggedService,
  specs: Map<string, ApiSpec | undefined>,
  now: () => number,
): Promise<AwsApiState> {
  const { name, service, tags } = entry;
  const deployments = service.deployments ?? [];
  const primary = deployments.find((deployment) => deployment.status === "PRIMARY");
  const others = deployments.filter((deployment) => deployment !== primary);
  const replicas: ReplicaCounts = {
    requested: service.desiredCount ?? primary?.desiredCount ?? 0,
    upToDate: primary?.runningCount ?? 0,
    stale: others.reduce((sum, deployment) => sum + (deployment.runningCount ?? 0), 0),
    initializing: primary?.pendingCount ?? 0,
    failed: primary?.failedTasks ?? 0,
  };
  const taskDefinitionArn = service.taskDefinition ?? primary?.taskDefinition ?? "";
  const serviceArn = service.serviceArn ?? "";

  const [spec, serviceDeployment] = await Promise.all([
    cachedSpec(deps, taskDefinitionArn, specs),
    latestServiceDeployment(deps, serviceArn),
  ]);
  const revisions =
    serviceDeployment !== undefined && rolledOrFailed(serviceDeployment.status)
      ? await serviceRevisionNumbers(deps, serviceDeployment)
      : new Map<string, number>();

  const verdict =
    serviceDeployment === undefined
      ? verdictFromDeployments(deployments, primary, replicas)
      : verdictFromServiceDeployment(serviceDeployment, {
          deployments,
          primary,
          replicas,
          revisions,
          now: now(),
        });

  const stoppedTasks =
    verdict.status === "live" ? [] : await stoppedTaskReasons(deps, serviceName(name));
  const lastStopped = stoppedTasks[0];
  const statusMessage =
    verdict.message === undefined
      ? idleMessage(verdict.status, replicas, spec)
      : lastStopped === undefined
        ? verdict.message
        : `${verdict.message}; last stopped task: ${lastStopped}`;

  const endpointPath = spec?.networking.endpoint ?? `/${name}`;
  const specHash = tags[API_TAGS.specHash];
  const bundle = tags[API_TAGS.bundle];
  const configFile = tags[API_TAGS.configFile];
  return {
    name,
    status: verdict.status,
    ...(statusMessage === undefined ? {} : { statusMessage }),
    replicas,
    lastUpdated: lastUpdated(service, deployments, serviceDeployment, now),
    endpoint: endpointUrl(deps.refs, endpointPath),
    serviceArn,
    taskDefinitionArn,
    revision: revisionOf(taskDefinitionArn),
    ...(specHash === undefined ? {} : { specHash }),
    ...(bundle === undefined ? {} : { bundle }),
    ...(configFile === undefined ? {} : { configFile }),
    ...(verdict.rollout === undefined ? {} : { rollout: verdict.rollout }),
    events: (service.events ?? []).slice(0, MAX_EVENTS).map((event): ApiEvent => ({
      time: (event.createdAt ?? new Date(now())).toISOString(),
      type: eventLevel(event.message ?? ""),
      message: event.message ?? "",
    })),
    stoppedTasks,
  };
}

/**
 * A scale-to-zero API at 0 tasks (api-scale-to-zero.ts): idle, not broken, and what its next
 * caller gets. Undefined for anything else.
 */
function idleMessage(
  status: ApiStatus,
  replicas: ReplicaCounts,
  spec: ApiSpec | undefined,
): string | undefined {
  if (status !== "live" || replicas.requested !== 0 || spec?.autoscaling.min_replicas !== 0) {
    return undefined;
  }
  return "idle (0 tasks; a request wakes one in about 2–4 minutes, answered 503 by the load balancer until then)";
}

/** The spec of a task definition, read once per ARN into `specs`. */
async function cachedSpec(
  deps: EcsApiDeps,
  taskDefinitionArn: string,
  specs: Map<string, ApiSpec | undefined>,
): Promise<ApiSpec | undefined> {
  if (taskDefinitionArn === "") return undefined;
  if (specs.has(taskDefinitionArn)) return specs.get(taskDefinitionArn);
  let spec: ApiSpec | undefined;
  try {
    spec = await readSpec(deps, taskDefinitionArn);
  } catch (error) {
    // A deleted revision (or any AWS answer other than a refusal) only costs the endpoint's custom
    // path: the status is still worth showing. Refusals (credentials, permissions) are not hidden.
    if (!(error instanceof DomainError) || error.code !== AWS_FAILED) throw error;
    return undefined;
  }
  specs.set(taskDefinitionArn, spec);
  return spec;
}

/** Pages of 100 ListServiceDeployments reads at most (ECS keeps a service's history long). */
const DEPLOYMENT_PAGES = 5;

/**
 * The service's newest service deployment with its details, or undefined when ECS does not answer
 * (moto, a missing permission): the caller then reads the `deployments` array.
 */
export async function latestServiceDeployment(
  deps: EcsApiDeps,
  serviceArn: string,
): Promise<ServiceDeployment | undefined> {
  if (serviceArn === "") return undefined;
  try {
    // AWS documents no order for ListServiceDeployments' answer, only pages ("returns up to 20
    // results and a nextToken value if applicable",
    // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServiceDeployments.html):
    // the newest is found by createdAt over every page (bounded), not within the first five.
    const listed: ServiceDeploymentBrief[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < DEPLOYMENT_PAGES; page += 1) {
      const answer = await callAws(deps, "ecs:ListServiceDeployments", () =>
        deps.ports.ecs.listServiceDeployments({
          cluster: deps.refs.clusterName,
          service: serviceArn,
          maxResults: 100,
          ...(nextToken === undefined ? {} : { nextToken }),
        }),
      );
      listed.push(...(answer.serviceDeployments ?? []));
      nextToken = answer.nextToken;
      if (nextToken === undefined || nextToken === "") break;
    }
    const newest = listed.sort((a, b) => time(b.createdAt) - time(a.createdAt))[0]
      ?.serviceDeploymentArn;
    if (newest === undefined) return undefined;
    const described = await callAws(deps, "ecs:DescribeServiceDeployments", () =>
      deps.ports.ecs.describeServiceDeployments({ serviceDeploymentArns: [newest] }),
    );
    return described.serviceDeployments?.[0];
  } catch (error) {
    if (deps.signal.aborted) throw error;
    return undefined;
  }
}

/** Task definition revisions by service revision ARN (target and rollback), empty on failure. */
async function serviceRevisionNumbers(
  deps: EcsApiDeps,
  serviceDeployment: ServiceDeployment,
): Promise<Map<string, number>> {
  const arns = [
    serviceDeployment.targetServiceRevision?.arn,
    serviceDeployment.rollback?.serviceRevisionArn,
    ...(serviceDeployment.sourceServiceRevisions ?? []).map((revision) => revision.arn),
  ].filter((arn): arn is string => arn !== undefined && arn !== "");
  const numbers = new Map<string, number>();
  if (arns.length === 0) return numbers;
  try {
    const output = await callAws(deps, "ecs:DescribeServiceRevisions", () =>
      deps.ports.ecs.describeServiceRevisions({ serviceRevisionArns: [...new Set(arns)] }),
    );
    for (const revision of output.serviceRevisions ?? []) {
      if (revision.serviceRevisionArn !== undefined && revision.taskDefinition !== undefined)
        numbers.set(revision.serviceRevisionArn, revisionOf(revision.taskDefinition));
    }
  } catch (error) {
    if (deps.signal.aborted) throw error;
  }
  return numbers;
}

interface Verdict {
  status: ApiStatus;
  message?: string;
  rollout?: NonNullable<AwsApiState["rollout"]>;
}

/** The status from the service's `deployments` array alone (no service-deployment details). */
function verdictFromDeployments(
  deployments: Deployment[],
  primary: Deployment | undefined,
  replicas: ReplicaCounts,
): Verdict {
  if (primary === undefined) {
    return {
      status: "updating",
      message: "the service has no deployment yet",
    };
  }
  const stage = rollingStage(primary.runningCount ?? 0, primary.desiredCount ?? 0, replicas.stale);
  const failed = deployments.find((deployment) => deployment.rolloutState === "FAILED");
  if (failed !== undefined) {
    const why = trimReason(failed.rolloutStateReason) ?? "the deployment failed";
    if (failed === primary) {
      return {
        status: "error",
        message: `revision ${revisionOf(failed.taskDefinition)} failed: ${why}`,
        rollout: { stage, state: "FAILED", reason: why },
      };
    }
    const done = primary.rolloutState === "COMPLETED";
    return {
      status: "error",
      message: `revision ${revisionOf(failed.taskDefinition)} failed and ${done ? "was" : "is being"} rolled back to revision ${revisionOf(primary.taskDefinition)}: ${why}`,
      rollout: {
        stage: `${done ? "rolled back" : "rolling back"} to revision ${revisionOf(primary.taskDefinition)}`,
        state: done ? "ROLLED_BACK" : "ROLLING_BACK",
        reason: why,
      },
    };
  }
  const rolloutState = primary.rolloutState ?? "COMPLETED";
  const reason = trimReason(primary.rolloutStateReason);
  const rollout = {
    stage,
    state: rolloutState,
    ...(reason === undefined ? {} : { reason }),
  };
  if (rolloutState === "IN_PROGRESS") return { status: "updating", message: stage, rollout };
  return steadyVerdict(primary, replicas, rollout);
}

/** A completed rollout: live when every desired task runs, else updating (a task is replaced). */
function steadyVerdict(
  primary: Deployment | undefined,
  replicas: ReplicaCounts,
  rollout: NonNullable<AwsApiState["rollout"]>,
): Verdict {
  const running = primary?.runningCount ?? 0;
  if (running === replicas.requested) return { status: "live", rollout };
  return {
    status: "updating",
    message: `${running} of ${replicas.requested} tasks running`,
    rollout,
  };
}

/** The status from the newest service deployment (rollback, circuit breaker, alarms, canary). */
function verdictFromServiceDeployment(
  serviceDeployment: ServiceDeployment,
  context: {
    deployments: Deployment[];
    primary: Deployment | undefined;
    replicas: ReplicaCounts;
    revisions: Map<string, number>;
    now: number;
  },
): Verdict {
  const { primary, replicas, revisions } = context;
  const status = serviceDeployment.status;
  const state = rolloutStateOf(status);
  const why = failureCause(serviceDeployment);
  const target = revisionName(
    revisions.get(serviceDeployment.targetServiceRevision?.arn ?? ""),
    context.deployments.find((deployment) => deployment.rolloutState === "FAILED")?.taskDefinition,
  );
  const back = revisionName(
    revisions.get(serviceDeployment.rollback?.serviceRevisionArn ?? ""),
    primary?.taskDefinition,
  );
  const reason = trimReason(serviceDeployment.statusReason);
  const withReason = <T extends object>(value: T): T & { reason?: string } =>
    reason === undefined ? value : { ...value, reason };
  switch (status) {
    case "ROLLBACK_REQUESTED":
    case "ROLLBACK_IN_PROGRESS":
      return {
        status: "error",
        message: `${target} failed and is being rolled back to ${back}: ${why}`,
        rollout: withReason({ stage: `rolling back to ${back}`, state }),
      };
    case "ROLLBACK_SUCCESSFUL":
      return {
        status: "error",
        message: `${target} failed and was rolled back to ${back}: ${why}`,
        rollout: withReason({ stage: `rolled back to ${back}`, state }),
      };
    case "ROLLBACK_FAILED":
      return {
        status: "error",
        message: `${target} failed and its rollback to ${back} failed too: ${why}`,
        rollout: withReason({ stage: `rollback to ${back} failed`, state }),
      };
    case "STOPPED":
      return {
        status: "error",
        message: `${target} was stopped before it finished: ${why}`,
        rollout: withReason({ stage: "stopped", state }),
      };
    case "SUCCESSFUL":
    case undefined:
      return steadyVerdict(
        primary,
        replicas,
        withReason({ stage: deploymentStage(serviceDeployment, context), state }),
      );
    case "PENDING":
    case "IN_PROGRESS":
    case "STOP_REQUESTED": {
      const stage = deploymentStage(serviceDeployment, context);
      return { status: "updating", message: stage, rollout: withReason({ stage, state }) };
    }
  }
}

/** Axon's words for a service deployment's status (the Deployment rolloutState where one fits). */
function rolloutStateOf(status: ServiceDeploymentStatus | undefined): string {
  switch (status) {
    case undefined:
    case "SUCCESSFUL":
      return "COMPLETED";
    case "IN_PROGRESS":
    case "PENDING":
    case "STOPPED":
    case "ROLLBACK_FAILED":
      return status;
    case "STOP_REQUESTED":
      return "STOPPING";
    case "ROLLBACK_REQUESTED":
    case "ROLLBACK_IN_PROGRESS":
      return "ROLLING_BACK";
    case "ROLLBACK_SUCCESSFUL":
      return "ROLLED_BACK";
  }
}

function rolledOrFailed(status: ServiceDeploymentStatus | undefined): boolean {
  return status !== undefined && (status.startsWith("ROLLBACK") || status === "STOPPED");
}

/** Why a service deployment failed: the circuit breaker, named alarms, or ECS's own words. */
function failureCause(serviceDeployment: ServiceDeployment): string {
  const breaker = serviceDeployment.deploymentCircuitBreaker;
  if (breaker?.status === "TRIGGERED") return "tasks failed to start (circuit breaker)";
  const alarms = serviceDeployment.alarms;
  if (alarms?.status === "TRIGGERED") {
    const names = alarms.triggeredAlarmNames ?? [];
    return names.length === 0 ? "a rollback alarm went off" : `alarm ${names.join(", ")} went off`;
  }
  return (
    trimReason(serviceDeployment.rollback?.reason) ??
    trimReason(serviceDeployment.statusReason) ??
    "no reason given"
  );
}

/** Where a service deployment is, in the words of its strategy. */
function deploymentStage(
  serviceDeployment: ServiceDeployment,
  context: { primary: Deployment | undefined; replicas: ReplicaCounts; now: number },
): string {
  const configuration = serviceDeployment.deploymentConfiguration;
  const target = serviceDeployment.targetServiceRevision;
  const stageWords = (serviceDeployment.lifecycleStage ?? "").toLowerCase().replaceAll("_", " ");
  const weight = target?.requestedProductionTrafficWeight;
  switch (configuration?.strategy) {
    case "CANARY": {
      const percent = configuration.canaryConfiguration?.canaryPercent ?? 0;
      const bake = configuration.canaryConfiguration?.canaryBakeTimeInMinutes ?? 0;
      const head = `canary ${formatNumber(percent)}% for ${formatNumber(bake)}m`;
      if (weight !== undefined && weight > 0 && weight <= percent) {
        // The canary's traffic shifted at the deployment's last update: its bake runs from there.
        const since = time(serviceDeployment.updatedAt ?? serviceDeployment.startedAt);
        const left = Math.max(0, Math.ceil(bake - (context.now - since) / 60_000));
        return since === 0 ? head : `${head}, ${left}m left`;
      }
      if (weight !== undefined && weight >= 100) return `${head}, all traffic shifted`;
      return stageWords === "" ? head : `${head}, ${stageWords}`;
    }
    case "LINEAR": {
      const step = configuration.linearConfiguration?.stepPercent ?? 0;
      const bake = configuration.linearConfiguration?.stepBakeTimeInMinutes ?? 0;
      const head = `linear ${formatNumber(step)}% every ${formatNumber(bake)}m`;
      return weight === undefined ? head : `${head}: ${formatNumber(weight)}% of traffic shifted`;
    }
    case "BLUE_GREEN":
      return stageWords === "" ? "blue/green" : `blue/green: ${stageWords}`;
    case "ROLLING":
    case undefined:
      return target?.requestedTaskCount !== undefined
        ? rollingStage(target.runningTaskCount ?? 0, target.requestedTaskCount, 0)
        : rollingStage(
            context.primary?.runningCount ?? 0,
            context.primary?.desiredCount ?? context.replicas.requested,
            context.replicas.stale,
          );
  }
}

function rollingStage(running: number, desired: number, stale: number): string {
  return `rolling: ${running} of ${desired} new tasks running${stale > 0 ? `, ${stale} old still running` : ""}`;
}

/** The latest stopped tasks' reasons, newest first; a scale-in or replaced task is not news. */
async function stoppedTaskReasons(deps: EcsApiDeps, service: string): Promise<string[]> {
  const listed = await callAws(deps, "ecs:ListTasks", () =>
    deps.ports.ecs.listTasks({
      cluster: deps.refs.clusterName,
      serviceName: service,
      desiredStatus: "STOPPED",
    }),
  );
  const arns = (listed.taskArns ?? []).slice(0, 100);
  if (arns.length === 0) return [];
  const described = await callAws(deps, "ecs:DescribeTasks", () =>
    deps.ports.ecs.describeTasks({ cluster: deps.refs.clusterName, tasks: arns }),
  );
  return (described.tasks ?? [])
    .filter((task) => !isRoutineStop(task))
    .sort((a, b) => time(b.stoppedAt ?? b.stoppingAt) - time(a.stoppedAt ?? a.stoppingAt))
    .slice(0, MAX_STOPPED)
    .map(stoppedReason);
}

/**
 * ECS stops tasks itself when scaling in or replacing a deployment's tasks; it has no code that
 * tells those from a health-check kill (both are ServiceSchedulerInitiated), only its documented
 * wording, which Copilot filters by the same way.
 */
function isRoutineStop(task: Task): boolean {
  return (
    task.stopCode === "ServiceSchedulerInitiated" &&
    (task.stoppedReason ?? "").startsWith("Scaling activity initiated by")
  );
}

/** "Essential container in task exited: exit code 1" */
function stoppedReason(task: Task): string {
  const reason = task.stoppedReason ?? task.stopCode ?? "stopped";
  const container =
    task.containers?.find((candidate) => candidate.name === REPLICA_CONTAINER) ??
    task.containers?.[0];
  if (container?.exitCode !== undefined) return `${reason}: exit code ${container.exitCode}`;
  if (container?.reason !== undefined && !reason.includes(container.reason))
    return `${reason}: ${container.reason}`;
  return reason;
}

/** Service events that say something went wrong (Copilot's keywords, ecs.md §1.4) are warnings. */
function eventLevel(message: string): EventLevel {
  return /fail|unhealthy|error|throttl|unable|missing|alarm detected|rolling back/i.test(message)
    ? "warning"
    : "info";
}

/** When the latest deployment started (ISO). */
function lastUpdated(
  service: Service,
  deployments: Deployment[],
  serviceDeployment: ServiceDeployment | undefined,
  now: () => number,
): string {
  const times = [
    ...deployments.map((deployment) => time(deployment.createdAt)),
    time(serviceDeployment?.createdAt),
    time(service.createdAt),
  ];
  const newest = Math.max(...times);
  return new Date(newest > 0 ? newest : now()).toISOString();
}

/** `arn:…:task-definition/axon-demo-iris:3` → 3 (0 when there is none). */
function revisionOf(taskDefinitionArn: string | undefined): number {
  const match = /:(\d+)$/.exec(taskDefinitionArn ?? "");
  return match?.[1] === undefined ? 0 : Number(match[1]);
}

function revisionName(revision: number | undefined, fallbackArn: string | undefined): string {
  const number = revision ?? revisionOf(fallbackArn);
  return number > 0 ? `revision ${number}` : "the new revision";
}

function trimReason(reason: string | undefined): string | undefined {
  const trimmed = reason?.trim().replace(/\.$/, "");
  return trimmed === undefined || trimmed === "" ? undefined : trimmed;
}

function time(date: Date | undefined): number {
  return date === undefined ? 0 : date.getTime();
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** `map` with at most `limit` calls in flight, results in input order. */
async function mapLimited<T, R>(
  items: T[],
  limit: number,
  map: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await map(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
