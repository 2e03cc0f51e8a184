/**
 * APIs on an AWS environment (issue 20, decision 0009): `deploy`, `get`, `logs` and `delete` with
 * `--env <aws env>` act on the environment's ECS cluster through the per-API resources of
 * `providers/aws/api-*.ts`. The account is the record: nothing about an AWS API is stored in
 * `$AXON_HOME`; every read describes the cluster's services by their tags, so a lost home loses
 * nothing. Deploys are level-based and idempotent (an unchanged spec makes no mutating call), and
 * the rollout itself is ECS's (rolling or canary, circuit breaker and alarm rollback).
 *
 * The AWS calls are made with the calling shell's AWS settings (forwarded per request, never
 * stored), or the daemon's own chain when it sent none.
 */
import {
  canonicalizeEndpoint,
  parseApiConfig,
  specHash,
  specToYaml,
  type ApiSpec,
  type Diagnostic,
} from "@axon/config";
import type { BundleStore } from "../bundles/bundle-store.js";
import type {
  ApiDetail,
  ApiMonitoring,
  ApiListResponse,
  ApiSummary,
  ApiTraffic,
  ApiVersion,
  BaselineResponse,
  DeleteResponse,
  DeployResponse,
  DeployResult,
  EcsRuntime,
  RollbackResponse,
} from "../contract/index.js";
import { DomainError } from "../errors.js";
import { clusterRefs, type EcsApiDeps } from "../providers/aws/api-names.js";
import { describeClusterStack } from "../providers/aws/cluster-stack.js";
import type { AwsPorts, AwsSettings } from "../providers/aws/sdk.js";
import type { LogSource } from "../providers/provider.js";
import { DRIFT_WINDOW_MS, monitoringFromTallies, summarize } from "../monitoring/summary.js";
import { emptyTally, mergeTally } from "../replica/prediction-recorder.js";
import type { EnvironmentRecord } from "../state/store.js";
import { connectAwsRegion, STACK_OUTPUTS_USABLE } from "./aws-environment.js";
import { awsApiCost, clusterStrategy, type CostContext } from "./aws-api-costs.js";
import type { DeployedApi, DeployPlan } from "./deploy-plan.js";
import { API_NOT_FOUND } from "./describe-api.js";
import { exampleCurl, sampleCurl } from "./example-curl.js";

/** The AWS environment's cluster stack does not exist (404). */
export const ENV_NO_CLUSTER = "env.no_cluster";

/** The AWS environment's cluster stack is in a state APIs cannot use (409). */
export const ENV_CLUSTER_NOT_READY = "env.cluster_not_ready";

/** A rollback's version is neither `revision N` nor `N` (400). */
export const ROLLBACK_VERSION_INVALID = "rollback.version_invalid";

/** How many revisions `get <api> --env` lists (one DescribeTaskDefinition each). */
const DETAIL_VERSIONS = 10;

export interface AwsApisDeps {
  bundles: BundleStore;
  signal: AbortSignal;
  /** The calling shell's AWS settings (`AWS_SETTINGS_HEADER`); empty: the daemon's own chain. */
  awsSettings?: AwsSettings;
  /** Progress lines for the client (a deploy's steps). */
  onProgress?: (message: string) => void;
  /** The AWS ports for a region; default: the real SDK (`connectAws`). */
  connect?: (region: string) => Promise<AwsPorts>;
  pollMs?: number;
}

/** Connects to the environment's region and reads its cluster's refs from the stack. */
export async function connectAwsEnvironment(
  deps: AwsApisDeps,
  record: EnvironmentRecord,
): Promise<EcsApiDeps> {
  const ports = await connectAwsRegion(deps, record.region);
  const call = {
    target: ports.target,
    signal: deps.signal,
    ...(deps.pollMs === undefined ? {} : { pollMs: deps.pollMs }),
  };
  const stack = await describeClusterStack(
    { ...call, cloudFormation: ports.cloudFormation, onResource: () => {} },
    record.stackName,
  );
  if (stack === undefined) {
    throw new DomainError(
      ENV_NO_CLUSTER,
      `environment ${record.name} has no cluster: stack ${record.stackName} does not exist in ${record.region}`,
      {
        status: 404,
        hint: `create it with axon cluster up --provider aws --config cluster.yaml --env ${record.name}`,
      },
    );
  }
  if (!STACK_OUTPUTS_USABLE.has(stack.status)) {
    throw new DomainError(
      ENV_CLUSTER_NOT_READY,
      `the cluster of environment ${record.name} is not usable: stack ${record.stackName} is ${stack.status}${stack.statusReason === undefined ? "" : ` (${stack.statusReason})`}`,
      {
        status: 409,
        hint: `axon cluster info --env ${record.name}; axon cluster up again repairs or finishes it`,
      },
    );
  }
  return {
    ...call,
    ports,
    refs: clusterRefs(record.name, record.region, record.stackName, stack.outputs),
    ...(deps.onProgress === undefined ? {} : { onProgress: deps.onProgress }),
  };
}

/** Deploys every API of the request's config to the environment's cluster. */
export async function deployToAws(
  deps: AwsApisDeps,
  record: EnvironmentRecord,
  plan: DeployPlan,
): Promise<DeployResponse> {
  const { request } = plan;
  const parsed = { apis: plan.apis.map((api) => api.spec) };
  const { fargateSize } = await import("../providers/aws/api-task-definition.js");
  const { planApiScaling, applyApiScaling } = await import("../providers/aws/api-scaling.js");
  const { deployApiResources } = await import("../providers/aws/api-deploy.js");
  // Everything Axon can check itself is checked before the first AWS call (moto checks none of it).
  for (const spec of parsed.apis) fargateSize(spec);
  const ecs = await connectAwsEnvironment(deps, record);
  const { checkRollout } = await import("../providers/aws/api-rollout.js");
  for (const spec of parsed.apis) checkRollout(spec, ecs.refs);
  const warnings: Diagnostic[] = [...plan.warnings];
  const results: DeployResult[] = [];
  for (const { spec, setFields } of plan.apis) {
    const deployed = await deployApiResources(ecs, {
      spec,
      bundleSha256: request.bundle,
      readBundle: () => deps.bundles.read(request.bundle),
      configFile: request.configFileName,
    });
    const scaling = await applyApiScaling(ecs, spec);
    // A knob the config sets that AWS cannot honour is said at deploy; the defaults' notes only
    // in `get <api>` (five warnings on every deploy of a config that sets none would be noise).
    for (const note of planApiScaling(spec, ecs.refs).notes) {
      const knob = /^[a-z_]+/.exec(note)?.[0] ?? "";
      if (knob === "" || !setFields.has(`autoscaling.${knob}`)) continue;
      warnings.push({
        file: request.configFileName,
        path: `${spec.name}.autoscaling.${knob}`,
        message: note,
      });
    }
    // Issue 29: a public endpoint without keys can be called, and billed, by anyone who finds it.
    if (spec.networking.auth !== "api_key" && ecs.refs.loadBalancerScheme !== "internal") {
      warnings.push({
        file: request.configFileName,
        path: `${spec.name}.networking.auth`,
        message: `is none on a public load balancer: anyone who finds ${deployed.endpointUrl} can call it and run up the bill; set networking.auth: api_key and make a key with axon keys create ${spec.name} (docs/security.md)`,
      });
    }
    const outcome =
      deployed.outcome === "unchanged" && scaling !== "unchanged" ? "updated" : deployed.outcome;
    const curl = sampleCurl(deployed.endpointUrl, request.projectPath, {
      requiresKey: spec.networking.auth === "api_key",
    });
    results.push({
      api: spec.name,
      kind: spec.kind,
      outcome,
      message:
        outcome === "unchanged"
          ? `${spec.name} (${spec.kind}) is up to date on ${record.name}`
          : `${outcome === "created" ? "creating" : "updating"} ${spec.name} (${spec.kind}) on ${record.name}: ECS rolls it out`,
      endpoint: deployed.endpointUrl,
      ...(curl === null ? {} : { exampleCurl: curl }),
    });
  }
  return { results, warnings, env: record.name };
}

/** Every API of the environment, from its cluster's tagged services. */
export async function listAwsApis(
  deps: AwsApisDeps,
  record: EnvironmentRecord,
): Promise<ApiListResponse> {
  const ecs = await connectAwsEnvironment(deps, record);
  const { describeAwsApis, listAwsApiNames } = await import("../providers/aws/api-status.js");
  const names = await listAwsApiNames(ecs);
  const specs = new Map<string, ApiSpec | undefined>();
  const states = names.length === 0 ? [] : await describeAwsApis(ecs, names, { specs });
  const context = await costContext(ecs, record, names.length);
  return {
    apis: await Promise.all(
      states.map(async (state) => {
        const spec = specs.get(state.taskDefinitionArn);
        if (spec === undefined) return summaryOf(state);
        const cost = await awsApiCost(ecs, context, spec, state.replicas);
        return { ...summaryOf(state), costPerHour: cost.perHour };
      }),
    ),
    redrawMs: ECS_REDRAW_MS,
  };
}

/** What every API's cost shares: the cluster's strategy and the load balancer's API count. */
async function costContext(
  ecs: EcsApiDeps,
  record: EnvironmentRecord,
  apis: number,
): Promise<CostContext> {
  return { strategy: await clusterStrategy(ecs), apisOnLoadBalancer: apis, region: record.region };
}

/** Every API of the environment as a deploy plan needs it (one describe of its services). */
export async function deployedAwsApis(
  deps: AwsApisDeps,
  record: EnvironmentRecord,
): Promise<DeployedApi[]> {
  const ecs = await connectAwsEnvironment(deps, record);
  const { describeAwsApis, listAwsApiNames } = await import("../providers/aws/api-status.js");
  const names = await listAwsApiNames(ecs);
  // The specs read back from the task definitions: the state's own hash tag covers everything
  // sent to AWS (a no-op check of the resources), not the spec the plan compares.
  const specs = new Map<string, ApiSpec | undefined>();
  const states = names.length === 0 ? [] : await describeAwsApis(ecs, names, { specs });
  return states.map((state) => {
    const spec = specs.get(state.taskDefinitionArn);
    return {
      name: state.name,
      endpoint: spec?.networking.endpoint ?? canonicalizeEndpoint(new URL(state.endpoint).pathname),
      specHash: spec === undefined ? undefined : specHash(spec),
      bundle: state.bundle,
      version: `revision ${state.revision}`,
      // ECS rolls the service's newest deployment out; until it completes, it is "updating".
      rollingOut: state.status === "updating",
      ...(spec === undefined ? {} : { spec }),
    };
  });
}

/** One API of the environment, with its spec read back from its task definition. */
export async function describeAwsApi(
  deps: AwsApisDeps,
  record: EnvironmentRecord,
  name: string,
  options: { since?: Date; now?: Date; traffic?: { minutes: number } } = {},
): Promise<ApiDetail> {
  const ecs = await connectAwsEnvironment(deps, record);
  const { describeAwsApis } = await import("../providers/aws/api-status.js");
  // The describe reads the spec back from the task definition once, into `specs`.
  const specs = new Map<string, ApiSpec | undefined>();
  const [state] = await describeAwsApis(ecs, [name], { specs });
  if (state === undefined) throw notFound(record, name);
  const spec = specs.get(state.taskDefinitionArn);
  const { planApiScaling } = await import("../providers/aws/api-scaling.js");
  const { fargateSize } = await import("../providers/aws/api-task-definition.js");
  const notes: string[] = [];
  if (spec !== undefined) {
    // Knobs left at their defaults have nothing to say: only those the config changed.
    const defaults = defaultScaling();
    notes.push(
      ...planApiScaling(spec, ecs.refs).notes.filter((note) => {
        const knob = /^[a-z_]+/.exec(note)?.[0] ?? "";
        return (
          !(knob in defaults) ||
          spec.autoscaling[knob as ScalingKnob] !== defaults[knob as ScalingKnob]
        );
      }),
    );
  }
  const size = spec === undefined ? undefined : fargateSize(spec);
  const runtime: EcsRuntime = {
    engine: "ecs",
    ...(await taskDefinitionImage(ecs, state.taskDefinitionArn)),
    ...(size === undefined
      ? {}
      : { fargate: { vcpu: size.cpu / 1024, memoryGb: size.memory / 1024 } }),
    taskDefinitionRevision: state.revision,
    capacityProviders: await clusterCapacityProviders(ecs),
  };
  if (spec !== undefined) {
    const { describeRolling } = await import("../providers/aws/api-rollout.js");
    notes.push(`next rollout: ${describeRolling(spec)}`);
  }
  if (state.rollout !== undefined) {
    notes.push(
      `rollout ${state.rollout.state}: ${state.rollout.stage}${state.rollout.reason === undefined ? "" : ` (${state.rollout.reason})`}`,
    );
  }
  for (const reason of state.stoppedTasks) notes.push(`a task stopped: ${reason}`);
  const monitoring =
    spec === undefined ? undefined : await awsMonitoring(ecs, spec, state, options);
  const traffic =
    options.traffic === undefined
      ? undefined
      : await awsTraffic(ecs, name, options.traffic.minutes, options.now ?? new Date());
  const { listAwsApiNames } = await import("../providers/aws/api-status.js");
  // A live view's redraw (`traffic` asked) shows no dollars: the cost's 6 calls (its own hour of
  // load balancer metrics among them) are spent on `get <api>` only.
  const cost =
    spec === undefined || options.traffic !== undefined
      ? undefined
      : await awsApiCost(
          ecs,
          await costContext(ecs, record, (await listAwsApiNames(ecs)).length),
          spec,
          state.replicas,
          { name, ...(options.now === undefined ? {} : { now: options.now }) },
        );
  return {
    ...(monitoring === undefined ? {} : { monitoring }),
    ...(cost === undefined ? {} : { cost }),
    ...(traffic === undefined ? {} : { traffic }),
    ...summaryOf(state),
    spec: spec === undefined ? {} : { ...spec },
    specYaml: spec === undefined ? "" : specToYaml(spec),
    exampleCurl: exampleCurl(state.endpoint, null, {
      requiresKey: spec?.networking.auth === "api_key",
    }),
    runtime,
    versions: await awsVersions(ecs, name, DETAIL_VERSIONS),
    events: state.events,
    notes,
  };
}

/**
 * How often `get --watch --env` redraws an API on ECS: the load balancer's metrics change once a
 * minute, and each redraw costs CloudWatch 3 metrics (docs/aws.md, "Live metrics").
 */
export const ECS_REDRAW_MS = 10_000;

/** The API's last `minutes` of load balancer traffic and its task counts (3 AWS calls). */
async function awsTraffic(
  ecs: EcsApiDeps,
  name: string,
  minutes: number,
  now: Date,
): Promise<ApiTraffic> {
  const { readAwsApiMetrics } = await import("../providers/aws/api-metrics.js");
  const metrics = await readAwsApiMetrics(ecs, name, { now, minutes });
  return {
    redrawMs: ECS_REDRAW_MS,
    minutes: metrics.minutes,
    replicas: metrics.replicas,
    ...(metrics.scaling === undefined ? {} : { scaling: metrics.scaling }),
    ...(metrics.metricsUnavailable === undefined
      ? {}
      : { unavailable: metrics.metricsUnavailable }),
  };
}

type ScalingKnob = keyof ApiSpec["autoscaling"];

/** The autoscaling settings of a config that sets none (the schema's defaults). */
function defaultScaling(): ApiSpec["autoscaling"] {
  const [spec] = parseApiConfig(
    "- name: defaults\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: p.py\n",
    "defaults.yaml",
  ).apis;
  if (spec === undefined) throw new Error("a config of one API parsed to none");
  return spec.autoscaling;
}

/** The replica image of a task definition (one DescribeTaskDefinition); `{}` when it has none. */
async function taskDefinitionImage(ecs: EcsApiDeps, arn: string): Promise<{ image?: string }> {
  if (arn === "") return {};
  const { callAws } = await import("../providers/aws/cluster-stack.js");
  const { REPLICA_CONTAINER } = await import("../providers/aws/api-names.js");
  const output = await callAws(ecs, "ecs:DescribeTaskDefinition", () =>
    ecs.ports.ecs.describeTaskDefinition({ taskDefinition: arn }),
  );
  const containers = output.taskDefinition?.containerDefinitions ?? [];
  const image = (containers.find((c) => c.name === REPLICA_CONTAINER) ?? containers[0])?.image;
  return image === undefined ? {} : { image };
}

/**
 * The capacity providers of the cluster's default strategy, which places every API's tasks (the
 * services set no strategy of their own): "when you call the CreateService or RunTask APIs with no
 * capacity provider strategy or launch type specified, the default capacity provider strategy for
 * the cluster is used" —
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PutClusterCapacityProviders.html
 */
async function clusterCapacityProviders(ecs: EcsApiDeps): Promise<string[]> {
  const { callAws } = await import("../providers/aws/cluster-stack.js");
  const output = await callAws(ecs, "ecs:DescribeClusters", () =>
    ecs.ports.ecs.describeClusters({ clusters: [ecs.refs.clusterName] }),
  );
  const strategy = output.clusters?.[0]?.defaultCapacityProviderStrategy ?? [];
  return strategy.flatMap((item) =>
    item.capacityProvider === undefined ? [] : [item.capacityProvider],
  );
}

/**
 * Prediction monitoring of an API on ECS (`monitoring` in its spec): the tallies its replicas
 * printed since `since` (default: since its current revision was deployed), summed, with the
 * drift of the last hour against the baseline pinned by `axon monitor baseline --env` (one GetObject
 * of `baselines/<api>.json`), or against the revision's first predictions when none was pinned.
 */
async function awsMonitoring(
  ecs: EcsApiDeps,
  spec: ApiSpec,
  state: { name: string; lastUpdated: string; revision: number },
  options: { since?: Date; now?: Date },
): Promise<ApiMonitoring | undefined> {
  if (spec.monitoring === null || spec.monitoring.model_type === null) return undefined;
  const since = options.since ?? new Date(state.lastUpdated);
  const now = options.now ?? new Date();
  const { readAwsPredictions } = await import("../providers/aws/api-predictions.js");
  const { driftFromAwsBaseline, readAwsBaseline, recentTally } =
    await import("../providers/aws/api-baseline.js");
  const baseline = await readAwsBaseline(ecs, state.name);
  // A pinned baseline is compared with the last hour, which may start before `since`.
  const from = Math.min(
    since.getTime(),
    baseline === undefined ? Infinity : now.getTime() - DRIFT_WINDOW_MS,
  );
  const lines = await readAwsPredictions(ecs, state.name, from);
  // Lines name the revision their replica runs: mid-rollout the one still serving is shown beside.
  const current = lines.filter(
    (line) => line.revision === undefined || line.revision === state.revision,
  );
  const monitoring = monitoringFromTallies({
    modelType: spec.monitoring.model_type,
    key: spec.monitoring.key,
    versionId: `revision ${state.revision}`,
    since,
    now,
    tallies: current.map((line) => ({ at: new Date(line.at), tally: line.tally })),
  });
  if (baseline !== undefined) {
    const modelType = spec.monitoring.model_type;
    const recent = recentTally(lines, { revision: state.revision, modelType, now });
    monitoring.drift = driftFromAwsBaseline(baseline, recent);
  }
  const others = lines.filter(
    (line) => line.revision !== undefined && line.revision !== state.revision,
  );
  const previous = others.at(-1)?.revision;
  if (previous !== undefined) {
    const tally = emptyTally(spec.monitoring.model_type);
    for (const line of others) if (line.revision === previous) mergeTally(tally, line.tally);
    monitoring.previous = summarize(`revision ${previous}`, tally);
  }
  return monitoring;
}

/** The API's versions: its task definition revisions, newest first (`revision N`). */
export async function listAwsVersions(
  deps: AwsApisDeps,
  record: EnvironmentRecord,
  name: string,
): Promise<ApiVersion[]> {
  return awsVersions(await connectAwsEnvironment(deps, record), name);
}

async function awsVersions(ecs: EcsApiDeps, name: string, limit?: number): Promise<ApiVersion[]> {
  const { listAwsApiVersions } = await import("../providers/aws/api-versions.js");
  const versions = await listAwsApiVersions(ecs, name, limit === undefined ? {} : { limit });
  return versions.map((version) => ({
    id: `revision ${version.revision}`,
    // ECS says when it registered a revision (an emulator may not), never when it was live.
    createdAt: version.createdAt ?? "",
    specHash: version.specHash ?? "",
    bundle: version.bundle ?? "",
    liveAt: null,
    current: version.current,
  }));
}

/**
 * Points the API's service at an earlier task definition revision (`revision N` as `get` lists it,
 * or `N`; default: the newest older one); ECS rolls it out as it rolls out a deploy.
 */
export async function rollbackAwsApiVersion(
  deps: AwsApisDeps,
  record: EnvironmentRecord,
  name: string,
  versionId: string | undefined,
): Promise<RollbackResponse> {
  const revision =
    versionId === undefined ? undefined : parseRevision(record.name, name, versionId);
  const ecs = await connectAwsEnvironment(deps, record);
  const { rollbackAwsApi } = await import("../providers/aws/api-versions.js");
  const outcome = await rollbackAwsApi(ecs, name, revision);
  const to = `revision ${outcome.to}`;
  return outcome.outcome === "unchanged"
    ? { message: `${name} already runs ${to} on ${record.name}`, versionId: to }
    : {
        message: `rolling back ${name} from revision ${outcome.from} to ${to} on ${record.name}: ECS rolls it out`,
        versionId: to,
      };
}

/** `revision 3` or `3` → 3. */
function parseRevision(env: string, name: string, versionId: string): number {
  const match = /^(?:revision\s+)?([1-9][0-9]*)$/.exec(versionId.trim());
  if (match?.[1] === undefined) {
    throw new DomainError(
      ROLLBACK_VERSION_INVALID,
      `version ${JSON.stringify(versionId)} of ${name} is not a task definition revision`,
      { hint: `give one as axon get ${name} --env ${env} lists it: "revision 3", or just 3` },
    );
  }
  return Number(match[1]);
}

/** Pins the current revision's last hour of predictions as the API's baseline (in the bucket). */
export async function pinAwsApiBaseline(
  deps: AwsApisDeps,
  record: EnvironmentRecord,
  name: string,
  now: Date = new Date(),
): Promise<BaselineResponse> {
  const ecs = await connectAwsEnvironment(deps, record);
  const { pinAwsBaseline, readAwsRecentTally } = await import("../providers/aws/api-baseline.js");
  const baseline = await pinAwsBaseline(ecs, name, await readAwsRecentTally(ecs, name, now));
  return {
    message: `pinned ${baseline.tally.count} predictions of ${name} (the last hour of revision ${baseline.revision}) as its baseline`,
    predictions: baseline.tally.count,
  };
}

/** Deletes an API's scaling, service, route, task definitions and (unshared) bundle. */
export async function deleteAwsApi(
  deps: AwsApisDeps,
  record: EnvironmentRecord,
  name: string,
): Promise<DeleteResponse> {
  const ecs = await connectAwsEnvironment(deps, record);
  const { removeApiScaling } = await import("../providers/aws/api-scaling.js");
  const { deleteApiResources } = await import("../providers/aws/api-delete.js");
  await removeApiScaling(ecs, name);
  const outcome = await deleteApiResources(ecs, name);
  if (outcome === "absent") throw notFound(record, name);
  return { message: `deleted ${name} from ${record.name}` };
}

/** Deletes every API of the cluster (before its stack goes: the ALB and cluster must be free). */
export async function deleteAllAwsApis(ecs: EcsApiDeps): Promise<string[]> {
  const { listAwsApiNames } = await import("../providers/aws/api-status.js");
  const { removeApiScaling } = await import("../providers/aws/api-scaling.js");
  const { deleteApiResources } = await import("../providers/aws/api-delete.js");
  const names = await listAwsApiNames(ecs);
  for (const name of names) {
    ecs.onProgress?.(`deleting API ${name}`);
    await removeApiScaling(ecs, name);
    await deleteApiResources(ecs, name);
  }
  // BatchAPIs have no service: their jobs' tasks would keep the cluster from being deleted.
  const { deleteAllEcsBatchApis } = await import("../providers/aws/batch-jobs.js");
  return [...names, ...(await deleteAllEcsBatchApis(ecs))];
}

/** The environment's logs (CloudWatch Logs), for the logs route. */
export async function awsLogSource(
  deps: AwsApisDeps,
  record: EnvironmentRecord,
  name: string,
): Promise<LogSource> {
  const ecs = await connectAwsEnvironment(deps, record);
  // Only that the API exists (one DescribeServices), not its whole state.
  const { describeTaggedServices } = await import("../providers/aws/api-status.js");
  if ((await describeTaggedServices(ecs, [name])).length === 0) throw notFound(record, name);
  const { AwsLogSource } = await import("../providers/aws/api-logs.js");
  return new AwsLogSource({ ports: ecs.ports, refs: ecs.refs, target: ecs.target });
}

function summaryOf(state: {
  name: string;
  status: ApiSummary["status"];
  statusMessage?: string;
  replicas: ApiSummary["replicas"];
  lastUpdated: string;
  endpoint: string;
}): ApiSummary {
  return {
    name: state.name,
    kind: "RealtimeAPI",
    status: state.status,
    ...(state.statusMessage === undefined ? {} : { statusMessage: state.statusMessage }),
    replicas: state.replicas,
    lastUpdated: state.lastUpdated,
    endpoint: state.endpoint,
  };
}

function notFound(record: EnvironmentRecord, name: string): DomainError {
  return new DomainError(
    API_NOT_FOUND,
    `there is no API named ${name} in environment ${record.name}`,
    { status: 404, hint: `axon get --env ${record.name} lists its APIs` },
  );
}
