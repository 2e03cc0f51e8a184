/**
 * Deploys one API's AWS resources on an existing cluster (issue 20), by direct calls in the order
 * AWS needs them (shared/reference/ecs.md §1.2): the bundle in the cluster bucket, the target
 * group(s), the listener rule for the endpoint, a task definition revision, the canary alarm, then
 * the ECS service (created, or updated without touching its desired count, which autoscaling owns).
 *
 * Drift by spec hash (STYLE §13): everything this would send is hashed and the hash is tagged on
 * the service; an ACTIVE service carrying the same hash means nothing changed, and the deploy
 * returns `unchanged` having made read calls only.
 *
 * Partial failure: every piece is found by its name (target groups, task family, service) or by
 * what it points at (the rule forwarding to the API's target group) before it is created, so a
 * deploy that failed midway is finished by the next one, or removed by `deleteApiResources`. The
 * hash is tagged last, so a half-finished update is redone.
 */
import { createHash, randomUUID } from "node:crypto";
import type {
  Action,
  CreateTargetGroupCommandInput,
  Rule,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { LoadBalancer, Service } from "@aws-sdk/client-ecs";
import type { ApiSpec } from "@axon/config";
import { bundleKey } from "./replica-env.js";
import { DomainError } from "../../errors.js";
import {
  alternateTargetGroupName,
  API_TAGS,
  endpointUrl as endpointUrlOf,
  isSplitterRule,
  REPLICA_CONTAINER,
  serviceName,
  targetGroupName,
  type EcsApiDeps,
} from "./api-names.js";
import {
  checkRollout,
  deleteRolloutAlarm,
  deploymentConfiguration,
  describeRollout,
  putRolloutAlarm,
} from "./api-rollout.js";
import {
  apiTags,
  SERVICE_HEALTH_GRACE_PERIOD_SECONDS,
  predictorTimeoutSeconds,
  taskDefinitionInput,
} from "./api-task-definition.js";
import { callAws } from "./cluster-stack.js";
import { REPLICA_CONTAINER_PORT } from "./cluster-template.js";
import { AWS_FAILED } from "./aws-errors.js";

/** The API's ECS service is still being deleted, so it cannot be created again yet (409). */
export const API_SERVICE_DRAINING = "api.service_draining";

/** `predictor.timeout` beyond what the load balancer can hold a connection open (400). */
export const API_TIMEOUT_TOO_LONG = "api.timeout_too_long";

export interface ApiDeployRequest {
  spec: ApiSpec;
  /** The project bundle's sha256 (object `bundles/<sha256>.tar.gz` in the cluster bucket). */
  bundleSha256: string;
  /** The bundle's bytes; read only when the bucket does not have it yet. */
  readBundle: () => Promise<Uint8Array>;
  /** The config file the API comes from (tag `axon:config-file`, shown by `get`). */
  configFile: string;
}

export interface ApiDeployOutcome {
  outcome: "created" | "updated" | "unchanged";
  serviceArn: string;
  taskDefinitionArn: string;
  /** `http(s)://<load balancer or domain>/<endpoint>` */
  endpointUrl: string;
}

/** ALB's longest deregistration delay, in seconds. */
const MAX_DEREGISTRATION_DELAY_SECONDS = 3600;
/**
 * ALB's longest idle timeout: "idle_timeout.timeout_seconds - The idle timeout value, in seconds.
 * The valid range is 1-4000 seconds"
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_LoadBalancerAttribute.html).
 */
export const MAX_ALB_IDLE_TIMEOUT_SECONDS = 4000;
/** The load balancer waits this much longer than the replica, whose own 504 then arrives first. */
const IDLE_MARGIN_SECONDS = 10;
/** Attempts at a free rule priority when a concurrent deploy takes the one we chose. */
const PRIORITY_ATTEMPTS = 3;

/**
 * Creates or updates the API's resources so they match `request`; `unchanged` (read calls only)
 * when the service already carries this spec's hash.
 *
 * @throws DomainError `api.fargate_size` / `api.canary_unavailable` before any AWS call;
 *   `api.service_draining` (409) while a deleted service of the same name is still draining;
 *   `provider.aws.*` for AWS's refusals.
 */
export async function deployApiResources(
  deps: EcsApiDeps,
  request: ApiDeployRequest,
): Promise<ApiDeployOutcome> {
  const { spec } = request;
  const { refs } = deps;
  // (1) Everything Axon can check is checked before the first call.
  checkRollout(spec, refs);
  checkTimeout(spec, refs);
  const taskDefinition = taskDefinitionInput(spec, refs, request.bundleSha256);
  const deployment = deploymentConfiguration(spec, refs);
  const canary = spec.update_strategy.canary !== undefined;
  const groupInputs = [targetGroupInput(deps, targetGroupName(refs.clusterName, spec.name), spec)];
  if (canary) {
    groupInputs.push(
      targetGroupInput(deps, alternateTargetGroupName(refs.clusterName, spec.name), spec),
    );
  }
  const deregistrationDelay = String(
    Math.min(MAX_DEREGISTRATION_DELAY_SECONDS, predictorTimeoutSeconds(spec)),
  );
  const name = serviceName(spec.name);
  const endpointUrl = endpointUrlOf(refs, spec.networking.endpoint);
  // (2) The hash of everything that would be sent.
  const hash = createHash("sha256")
    .update(
      JSON.stringify({
        taskDefinition,
        groupInputs,
        deregistrationDelay,
        rule: { listener: refs.listenerArn, endpoint: spec.networking.endpoint },
        deployment,
        service: serviceSettings(deps),
        bundle: request.bundleSha256,
        configFile: request.configFile,
      }),
    )
    .digest("hex");

  // CreateService's clientToken names one request: "You should not reuse the same client token
  // for other API requests" (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/ECS_Idempotency.html).
  // The spec hash alone came back on a later, different CreateService (delete, then redeploy: a
  // new task definition revision) and was refused. The SDK's own retries resend this very input,
  // token included, so they stay idempotent. 32 hex characters (ECS allows up to 36).
  const attemptToken = createHash("sha256")
    .update(`${hash}/${randomUUID()}`)
    .digest("hex")
    .slice(0, 32);

  const existing = await describeService(deps, name);
  if (existing?.status === "DRAINING") {
    throw new DomainError(
      API_SERVICE_DRAINING,
      `the ECS service ${name} of cluster ${refs.clusterName} is still being deleted (DRAINING): a new one cannot be created until its tasks have stopped`,
      { status: 409, hint: "wait a minute, then deploy again" },
    );
  }
  const active = existing?.status === "ACTIVE" ? existing : undefined;
  if (active !== undefined && tagValue(active, API_TAGS.specHash) === hash) {
    return {
      outcome: "unchanged",
      serviceArn: active.serviceArn ?? "",
      taskDefinitionArn: active.taskDefinition ?? "",
      endpointUrl,
    };
  }

  // The load balancer must keep a connection open as long as this API may compute an answer.
  await ensureIdleTimeout(deps, predictorTimeoutSeconds(spec) + IDLE_MARGIN_SECONDS);
  // (3) The bundle, once per content hash.
  await ensureBundle(deps, request);
  // (4) The target group(s).
  const groupArns: string[] = [];
  for (const input of groupInputs) {
    const arn = await ensureTargetGroup(deps, input);
    await callAws(deps, "elasticloadbalancing:ModifyTargetGroupAttributes", () =>
      deps.ports.elb.modifyTargetGroupAttributes({
        TargetGroupArn: arn,
        Attributes: [{ Key: "deregistration_delay.timeout_seconds", Value: deregistrationDelay }],
      }),
    );
    groupArns.push(arn);
  }
  let [primaryArn = "", alternateArn] = groupArns;
  // Production traffic may sit on the alternate group: ECS swaps the groups at the end of a canary.
  // The service keeps registering into the group that carries production, so a switch between
  // canary and rolling never points the rule at a group whose tasks are draining (finding 4).
  const production = await productionGroup(deps, spec.name, primaryArn, alternateArn);
  if (production !== undefined && production !== primaryArn) {
    alternateArn = alternateArn === undefined ? undefined : primaryArn;
    primaryArn = production;
    groupArns.splice(
      0,
      groupArns.length,
      primaryArn,
      ...(alternateArn === undefined ? [] : [alternateArn]),
    );
    deps.onProgress?.(`production traffic is on ${groupName(production)}: the service stays on it`);
  }
  // (5) The listener rule.
  const ruleArn = await ensureRule(
    deps,
    spec.name,
    spec.networking.endpoint,
    primaryArn,
    alternateArn,
  );
  await retirePlainHttpRules(deps, groupArns);
  // (6) One new task definition revision.
  const registered = await callAws(deps, "ecs:RegisterTaskDefinition", () =>
    deps.ports.ecs.registerTaskDefinition(taskDefinition),
  );
  const taskDefinitionArn = registered.taskDefinition?.taskDefinitionArn ?? "";
  deps.onProgress?.(`registered task definition ${revisionOf(taskDefinitionArn)}`);
  // The alarm a canary is rolled back by must exist before the service names it.
  if (canary) await putRolloutAlarm(deps, spec, groupArns);

  // (7) The service.
  const loadBalancers: LoadBalancer[] = [
    {
      targetGroupArn: primaryArn,
      containerName: REPLICA_CONTAINER,
      containerPort: REPLICA_CONTAINER_PORT,
      ...(alternateArn === undefined
        ? {}
        : {
            advancedConfiguration: {
              alternateTargetGroupArn: alternateArn,
              productionListenerRule: ruleArn,
              roleArn: refs.ecsInfrastructureRoleArn ?? "",
            },
          }),
    },
  ];
  const tags = {
    ...apiTags(refs, spec.name),
    [API_TAGS.specHash]: hash,
    [API_TAGS.bundle]: request.bundleSha256,
    [API_TAGS.configFile]: request.configFile,
  };
  let outcome: ApiDeployOutcome["outcome"];
  let serviceArn: string;
  if (active === undefined) {
    const created = await callAws(deps, "ecs:CreateService", () =>
      deps.ports.ecs.createService({
        cluster: refs.clusterName,
        serviceName: name,
        taskDefinition: taskDefinitionArn,
        desiredCount: spec.autoscaling.init_replicas,
        // No launchType or capacityProviderStrategy: the cluster's default strategy places tasks.
        ...serviceSettings(deps),
        loadBalancers,
        deploymentConfiguration: deployment,
        deploymentController: { type: "ECS" },
        schedulingStrategy: "REPLICA",
        propagateTags: "SERVICE",
        enableECSManagedTags: true,
        tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
        clientToken: attemptToken,
      }),
    );
    serviceArn = created.service?.serviceArn ?? "";
    outcome = "created";
    deps.onProgress?.(`created service ${name} (${describeRollout(deployment)})`);
  } else {
    const updated = await callAws(deps, "ecs:UpdateService", () =>
      deps.ports.ecs.updateService({
        cluster: refs.clusterName,
        service: name,
        taskDefinition: taskDefinitionArn,
        // No desiredCount: the running count (autoscaling's) is kept.
        deploymentConfiguration: deployment,
        ...serviceSettings(deps),
        // Only when the rollout kind changes: after a canary, ECS itself swaps which target group
        // is production, and sending ours back would undo that.
        ...(sameLoadBalancing(active.loadBalancers ?? [], groupArns) ? {} : { loadBalancers }),
      }),
    );
    serviceArn = updated.service?.serviceArn ?? active.serviceArn ?? "";
    await callAws(deps, "ecs:TagResource", () =>
      deps.ports.ecs.tagResource({
        resourceArn: serviceArn,
        tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      }),
    );
    outcome = "updated";
    deps.onProgress?.(`updated service ${name} (${describeRollout(deployment)})`);
  }
  // A rollout that stopped being a canary leaves no alarm behind.
  if (!canary) await deleteRolloutAlarm(deps, spec.name);
  return { outcome, serviceArn, taskDefinitionArn, endpointUrl };
}

/**
 * Refuses a `predictor.timeout` the load balancer cannot wait for: past ALB's 4000 s idle timeout
 * the client gets the ALB's 504 while the replica keeps computing (issue 26 finding 9).
 *
 * @throws DomainError `api.timeout_too_long` (400) before any AWS call.
 */
export function checkTimeout(spec: ApiSpec, refs: { clusterName: string; envName: string }): void {
  const seconds = predictorTimeoutSeconds(spec);
  const longest = MAX_ALB_IDLE_TIMEOUT_SECONDS - IDLE_MARGIN_SECONDS;
  if (seconds <= longest) return;
  throw new DomainError(
    API_TIMEOUT_TOO_LONG,
    `${spec.name}.predictor.timeout is ${seconds}s, and cluster ${refs.clusterName} (${refs.envName}) serves through an Application Load Balancer that closes a connection after at most ${MAX_ALB_IDLE_TIMEOUT_SECONDS}s without data`,
    {
      status: 400,
      hint: `set predictor.timeout to ${longest}s or less (e.g. ${Math.floor(longest / 60)}m) for AWS; longer work belongs in a batch job`,
    },
  );
}

/**
 * Raises the load balancer's idle timeout to `seconds` (capped at ALB's maximum) when it is lower;
 * never lowers it, so it covers the longest predictor.timeout of every API the cluster serves.
 */
async function ensureIdleTimeout(deps: EcsApiDeps, seconds: number): Promise<void> {
  const wanted = Math.min(MAX_ALB_IDLE_TIMEOUT_SECONDS, seconds);
  const loadBalancerArn = deps.refs.loadBalancerArn;
  const described = await callAws(deps, "elasticloadbalancing:DescribeLoadBalancerAttributes", () =>
    deps.ports.elb.describeLoadBalancerAttributes({ LoadBalancerArn: loadBalancerArn }),
  );
  const current = Number(
    described.Attributes?.find((attribute) => attribute.Key === "idle_timeout.timeout_seconds")
      ?.Value ?? "60",
  );
  if (current >= wanted) return;
  await callAws(deps, "elasticloadbalancing:ModifyLoadBalancerAttributes", () =>
    deps.ports.elb.modifyLoadBalancerAttributes({
      LoadBalancerArn: loadBalancerArn,
      Attributes: [{ Key: "idle_timeout.timeout_seconds", Value: String(wanted) }],
    }),
  );
  deps.onProgress?.(
    `raised the load balancer's idle timeout from ${current}s to ${wanted}s (predictor.timeout)`,
  );
}

/** Network and health settings of the service, sent on create and update alike. */
function serviceSettings(deps: EcsApiDeps): {
  networkConfiguration: {
    awsvpcConfiguration: {
      subnets: string[];
      securityGroups: string[];
      assignPublicIp: "ENABLED" | "DISABLED";
    };
  };
  healthCheckGracePeriodSeconds: number;
} {
  return {
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: deps.refs.taskSubnetIds,
        securityGroups: [deps.refs.taskSecurityGroupId],
        assignPublicIp: deps.refs.assignPublicIp ? "ENABLED" : "DISABLED",
      },
    },
    // The load balancer's checks wait as long as the container's own start period.
    healthCheckGracePeriodSeconds: SERVICE_HEALTH_GRACE_PERIOD_SECONDS,
  };
}

/** The service, whatever its status, or undefined when ECS has never heard of it. */
export async function describeService(
  deps: EcsApiDeps,
  name: string,
): Promise<Service | undefined> {
  const described = await callAws(deps, "ecs:DescribeServices", () =>
    deps.ports.ecs.describeServices({
      cluster: deps.refs.clusterName,
      services: [name],
      include: ["TAGS"],
    }),
  );
  // An INACTIVE (deleted) service may linger in answers; prefer a live one of the same name.
  const services = (described.services ?? []).filter((service) => service.serviceName === name);
  return (
    services.find((service) => service.status === "ACTIVE") ??
    services.find((service) => service.status === "DRAINING") ??
    services[0]
  );
}

function tagValue(service: Service, key: string): string | undefined {
  return service.tags?.find((tag) => tag.key === key)?.value;
}

/** `family:revision` from a task definition ARN. */
function revisionOf(arn: string): string {
  return arn.slice(arn.lastIndexOf("/") + 1);
}

/** True when the service already balances over exactly these target groups, the same way. */
function sameLoadBalancing(current: LoadBalancer[], groupArns: string[]): boolean {
  const [first] = current;
  if (current.length !== 1 || first === undefined) return false;
  const used = [first.targetGroupArn, first.advancedConfiguration?.alternateTargetGroupArn].filter(
    (arn): arn is string => arn !== undefined && arn !== "",
  );
  return used.length === groupArns.length && used.every((arn) => groupArns.includes(arn));
}

/** The project bundle in the cluster bucket, copied there once per content hash. */
export async function ensureBundle(
  deps: EcsApiDeps,
  request: Pick<ApiDeployRequest, "bundleSha256" | "readBundle">,
): Promise<void> {
  const key = bundleKey(request.bundleSha256);
  const listed = await callAws(deps, "s3:ListObjectsV2", () =>
    deps.ports.s3.listObjectsV2({ Bucket: deps.refs.bucketName, Prefix: key, MaxKeys: 1 }),
  );
  if ((listed.Contents ?? []).some((object) => object.Key === key)) return;
  const bytes = await request.readBundle();
  await callAws(deps, "s3:PutObject", () =>
    deps.ports.s3.putObject({
      Bucket: deps.refs.bucketName,
      Key: key,
      Body: bytes,
      ContentType: "application/gzip",
    }),
  );
  // The CLI may just have said "project unchanged … not sent again" (the control plane had it):
  // this line says where it goes next, so the two read as one story (issue 28 item 5).
  deps.onProgress?.(
    `copied the project (${request.bundleSha256.slice(0, 12)}, ${formatSize(bytes.byteLength)}) from the control plane to bucket ${deps.refs.bucketName}`,
  );
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
}

function targetGroupInput(
  deps: EcsApiDeps,
  name: string,
  spec: ApiSpec,
): CreateTargetGroupCommandInput {
  return {
    Name: name,
    TargetType: "ip",
    Protocol: "HTTP",
    Port: REPLICA_CONTAINER_PORT,
    VpcId: deps.refs.vpcId,
    HealthCheckEnabled: true,
    HealthCheckProtocol: "HTTP",
    HealthCheckPath: "/healthz",
    // Fast enough that a new replica takes traffic within ~20 s of being ready (ecs.md §1.2 14).
    HealthCheckIntervalSeconds: 10,
    HealthCheckTimeoutSeconds: 5,
    HealthyThresholdCount: 2,
    UnhealthyThresholdCount: 3,
    Matcher: { HttpCode: "200" },
    Tags: Object.entries(apiTags(deps.refs, spec.name)).map(([Key, Value]) => ({ Key, Value })),
  };
}

/** The target group's ARN: the existing one of that name, else a new one. */
async function ensureTargetGroup(
  deps: EcsApiDeps,
  input: CreateTargetGroupCommandInput,
): Promise<string> {
  const name = input.Name ?? "";
  const found = await findTargetGroupArn(deps, name);
  if (found !== undefined) return found;
  const created = await callAws(deps, "elasticloadbalancing:CreateTargetGroup", () =>
    deps.ports.elb.createTargetGroup(input),
  );
  const arn = created.TargetGroups?.[0]?.TargetGroupArn;
  if (arn === undefined) {
    throw new DomainError(
      AWS_FAILED,
      `elasticloadbalancing:CreateTargetGroup returned no target group for ${name}`,
      { status: 502 },
    );
  }
  deps.onProgress?.(`created target group ${name}`);
  return arn;
}

/** The ARN of the target group called `name`, or undefined. */
export async function findTargetGroupArn(
  deps: EcsApiDeps,
  name: string,
): Promise<string | undefined> {
  try {
    const found = await callAws(deps, "elasticloadbalancing:DescribeTargetGroups", () =>
      deps.ports.elb.describeTargetGroups({ Names: [name] }),
    );
    return found.TargetGroups?.find((group) => group.TargetGroupName === name)?.TargetGroupArn;
  } catch (error) {
    if (isAwsError(error, "TargetGroupNotFoundException", "TargetGroupNotFound")) return undefined;
    throw error;
  }
}

/** Every rule of the cluster's listener (all pages). */
export async function listenerRules(deps: EcsApiDeps): Promise<Rule[]> {
  const rules: Rule[] = [];
  let marker: string | undefined;
  do {
    const page = await callAws(deps, "elasticloadbalancing:DescribeRules", () =>
      deps.ports.elb.describeRules({
        ListenerArn: deps.refs.listenerArn,
        ...(marker === undefined ? {} : { Marker: marker }),
      }),
    );
    rules.push(...(page.Rules ?? []));
    marker = page.NextMarker;
  } while (marker !== undefined && marker !== "");
  return rules;
}

/**
 * Deletes the rules on the port-80 listener that forward to `groupArns`: made before the cluster got
 * a certificate, they would serve the API over plain HTTP past the redirect and keep its target
 * groups in use (a delete could not remove them). None when the cluster has no HTTPS listener.
 */
export async function retirePlainHttpRules(deps: EcsApiDeps, groupArns: string[]): Promise<void> {
  const listenerArn = deps.refs.plainHttpListenerArn;
  if (listenerArn === undefined) return;
  const page = await callAws(deps, "elasticloadbalancing:DescribeRules", () =>
    deps.ports.elb.describeRules({ ListenerArn: listenerArn }),
  );
  const stale = (page.Rules ?? []).filter(
    (rule) =>
      rule.IsDefault !== true && forwardedGroups(rule).some((arn) => groupArns.includes(arn)),
  );
  await deleteRules(deps, stale);
  if (stale.length > 0)
    deps.onProgress?.("removed the API's old plain-HTTP rule: port 80 redirects");
}

/** The target groups a rule forwards to. */
export function forwardedGroups(rule: Rule): string[] {
  return (rule.Actions ?? []).flatMap((action) =>
    action.Type !== "forward"
      ? []
      : [
          ...(action.TargetGroupArn === undefined ? [] : [action.TargetGroupArn]),
          ...(action.ForwardConfig?.TargetGroups ?? []).flatMap((group) =>
            group.TargetGroupArn === undefined ? [] : [group.TargetGroupArn],
          ),
        ],
  );
}

/**
 * The rule sending the endpoint's requests to the API: the existing one that forwards to its
 * target group when it still fits, else a new one at the lowest free priority. A rule that no
 * longer fits (the endpoint changed, or a canary needs the second target group) is replaced: the
 * new one is created first, then the old one deleted, so the API never answers 404 in between.
 */
async function ensureRule(
  deps: EcsApiDeps,
  apiName: string,
  endpoint: string,
  primaryArn: string,
  alternateArn: string | undefined,
): Promise<string> {
  const ours = [primaryArn, ...(alternateArn === undefined ? [] : [alternateArn])];
  for (let attempt = 1; ; attempt += 1) {
    const rules = await listenerRules(deps);
    // A TrafficSplitter's rule forwards to the API's group too, but is the splitter's to keep.
    const mine = rules.filter(
      (rule) =>
        rule.IsDefault !== true &&
        !isSplitterRule(rule) &&
        forwardedGroups(rule).some((arn) => ours.includes(arn)),
    );
    // A rule fits when it forwards to exactly our groups: a weighted rule left by a canary does
    // not fit a rolling API, whose one group alone must get the traffic.
    const fitting = mine.find(
      (rule) =>
        sameValues(pathPatterns(rule), [endpoint]) && sameValues(forwardedGroups(rule), ours),
    );
    if (fitting?.RuleArn !== undefined) {
      await deleteRules(
        deps,
        mine.filter((rule) => rule !== fitting),
      );
      return fitting.RuleArn;
    }
    // Same endpoint, other groups: switch its action in place (one atomic change, no gap).
    const sameEndpoint = mine.find((rule) => sameValues(pathPatterns(rule), [endpoint]));
    if (sameEndpoint?.RuleArn !== undefined) {
      const ruleArn = sameEndpoint.RuleArn;
      await callAws(deps, "elasticloadbalancing:ModifyRule", () =>
        deps.ports.elb.modifyRule({
          RuleArn: ruleArn,
          Actions: [ruleAction(primaryArn, alternateArn)],
        }),
      );
      deps.onProgress?.(
        `routed ${endpoint} to ${alternateArn === undefined ? groupName(primaryArn) : "both target groups"}`,
      );
      await deleteRules(
        deps,
        mine.filter((rule) => rule !== sameEndpoint),
      );
      return ruleArn;
    }
    const used = new Set(rules.map((rule) => Number(rule.Priority)));
    let priority = 1;
    while (used.has(priority)) priority += 1;
    try {
      const created = await callAws(deps, "elasticloadbalancing:CreateRule", () =>
        deps.ports.elb.createRule({
          ListenerArn: deps.refs.listenerArn,
          Priority: priority,
          Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: [endpoint] } }],
          Actions: [ruleAction(primaryArn, alternateArn)],
          Tags: Object.entries(apiTags(deps.refs, apiName)).map(([Key, Value]) => ({ Key, Value })),
        }),
      );
      const arn = created.Rules?.[0]?.RuleArn ?? "";
      deps.onProgress?.(`routed ${endpoint} to the API (listener rule priority ${priority})`);
      await deleteRules(deps, mine);
      return arn;
    } catch (error) {
      // A concurrent deploy took the priority: look again.
      if (
        attempt < PRIORITY_ATTEMPTS &&
        isAwsError(error, "PriorityInUseException", "PriorityInUse")
      )
        continue;
      throw error;
    }
  }
}

/** Forward to the one group, or (canary) all on the production group, none on the other. */
function ruleAction(primaryArn: string, alternateArn: string | undefined): Action {
  return alternateArn === undefined
    ? { Type: "forward", TargetGroupArn: primaryArn }
    : {
        // ECS moves the weights during a canary; it starts all on the production group. (Weights
        // are 0–999: https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetGroupTuple.html, RULES.md R22.)
        Type: "forward",
        ForwardConfig: {
          TargetGroups: [
            { TargetGroupArn: primaryArn, Weight: 100 },
            { TargetGroupArn: alternateArn, Weight: 0 },
          ],
        },
      };
}

/** `name` of a target group ARN (`…:targetgroup/<name>/<id>`), for messages. */
function groupName(arn: string): string {
  const parts = arn.split("/");
  return parts.at(-2) ?? arn;
}

/**
 * The API's group that carries production traffic now: the one its listener rule weighs highest
 * (ECS moves the weights during a canary and leaves them on the group it finished on), or
 * undefined when no rule of the API forwards with weights.
 */
async function productionGroup(
  deps: EcsApiDeps,
  apiName: string,
  primaryArn: string,
  alternateArn: string | undefined,
): Promise<string | undefined> {
  const otherArn =
    alternateArn ??
    (await findTargetGroupArn(deps, alternateTargetGroupName(deps.refs.clusterName, apiName)));
  if (otherArn === undefined) return undefined;
  const ours = [primaryArn, otherArn];
  let best: { arn: string; weight: number } | undefined;
  for (const rule of await listenerRules(deps)) {
    if (rule.IsDefault === true || isSplitterRule(rule)) continue;
    for (const action of rule.Actions ?? []) {
      if (action.Type !== "forward") continue;
      for (const group of action.ForwardConfig?.TargetGroups ?? []) {
        const arn = group.TargetGroupArn ?? "";
        const weight = group.Weight ?? 1;
        if (ours.includes(arn) && (best === undefined || weight > best.weight))
          best = { arn, weight };
      }
    }
  }
  return best?.arn;
}

async function deleteRules(deps: EcsApiDeps, rules: Rule[]): Promise<void> {
  for (const rule of rules) {
    if (rule.RuleArn === undefined) continue;
    const ruleArn = rule.RuleArn;
    await callAws(deps, "elasticloadbalancing:DeleteRule", () =>
      deps.ports.elb.deleteRule({ RuleArn: ruleArn }),
    );
  }
}

function pathPatterns(rule: Rule): string[] {
  return (rule.Conditions ?? []).flatMap((condition) =>
    condition.Field !== "path-pattern"
      ? []
      : (condition.PathPatternConfig?.Values ?? condition.Values ?? []),
  );
}

function sameValues(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((value) => b.includes(value));
}

/** True when `error` (a translated DomainError or a raw SDK error) carries one of AWS's `codes`. */
export function isAwsError(error: unknown, ...codes: string[]): boolean {
  const cause = error instanceof DomainError ? error.cause : error;
  const name =
    cause instanceof Error
      ? cause.name
      : typeof cause === "object" && cause !== null && "name" in cause
        ? String(cause.name)
        : "";
  return codes.includes(name);
}
