/**
 * An API's versions on ECS, and `axon rollback <api> [revision] --env <aws env>`: an API's versions
 * are the revisions of its task definition family (`taskFamily`), since every deploy that changes
 * anything registers one and each carries its resolved spec (`AXON_API_SPEC`) and its bundle (tag
 * `axon:bundle`, environment `AXON_BUNDLE_SHA256`). The account is the record, as for everything
 * on AWS: nothing here reads `$AXON_HOME`.
 *
 * A rollback points the service at an older revision with UpdateService; ECS rolls it out with the
 * service's own deployment settings (rolling with the circuit breaker, or canary), exactly as it
 * rolls out a deploy. Only the task definition changes: the listener rule, target groups and
 * scaling stay as the last deploy made them, so a revision served on another endpoint is refused
 * (redeploying that config is the way back to it). The service's spec-hash tag is replaced by one
 * no deploy produces, so the next deploy of any config (the current one included) applies it again
 * instead of finding it "unchanged".
 *
 * Calls: versions = DescribeServices + ListTaskDefinitions (all pages) + one DescribeTaskDefinition
 * per revision shown (at most `limit`, default 20, newest first). A rollback = DescribeServices +
 * ListTaskDefinitions + two DescribeTaskDefinition (current and target); then UpdateService and
 * TagResource, or nothing more when the API already runs the target.
 */
import type { Service, TaskDefinition, Tag } from "@aws-sdk/client-ecs";
import { specHash, type ApiSpec } from "@axon/config";
import { DomainError } from "../../errors.js";
import { describeService, isAwsError } from "./api-deploy.js";
import { API_TAGS, serviceName, taskFamily, type EcsApiDeps } from "./api-names.js";
import { replicaEnvironment } from "./api-status.js";
import { callAws } from "./cluster-stack.js";
import { API_NOT_FOUND, ROLLBACK_NO_VERSION } from "../../errors.js";
export { API_NOT_FOUND, ROLLBACK_NO_VERSION } from "../../errors.js";

/** The revision was deregistered: ECS refuses to point a service at it. */
export const ROLLBACK_REVISION_INACTIVE = "rollback.revision_inactive";
/** The revision serves another endpoint than the listener rule routes now. */
export const ROLLBACK_ENDPOINT_CHANGED = "rollback.endpoint_changed";

/** One version of an API on ECS: a revision of its task definition family. */
export interface AwsApiVersion {
  /** The task definition revision (`…/axon-demo-iris:3` → 3). */
  revision: number;
  taskDefinitionArn: string;
  /** ACTIVE, or INACTIVE when deregistered (listed only while the service still runs it). */
  status: string;
  /** ISO time ECS registered the revision; absent when ECS does not say (moto never does). */
  createdAt?: string;
  /** `specHash` (@axon/config) of the spec the revision carries, as a local version's hash. */
  specHash?: string;
  /** sha256 of the project bundle the revision's replicas download. */
  bundle?: string;
  /** The endpoint path the revision's spec serves. */
  endpoint?: string;
  /** The revision the service runs now (its task definition). */
  current: boolean;
  /** A deployment of the service runs or starts this revision's tasks (mid-rollout: two do). */
  serving: boolean;
}

export interface ListAwsApiVersionsOptions {
  /** Newest revisions described (one DescribeTaskDefinition each); default 20. */
  limit?: number;
}

export interface AwsRollbackOutcome {
  /** The revision the service ran before. */
  from: number;
  /** The revision it runs (or rolls out) now. */
  to: number;
  /** `unchanged`: it already ran `to`, and no mutating call was made. */
  outcome: "updated" | "unchanged";
  taskDefinitionArn: string;
}

const DEFAULT_LIMIT = 20;

/**
 * The API's versions, newest first: its family's ACTIVE revisions (and the one the service runs,
 * should it have been deregistered), each with what it carries.
 *
 * @throws DomainError `api.not_found` (404) when the cluster has no ACTIVE service for the API.
 */
export async function listAwsApiVersions(
  ecs: EcsApiDeps,
  name: string,
  options: ListAwsApiVersionsOptions = {},
): Promise<AwsApiVersion[]> {
  const service = await requireAwsApiService(ecs, name);
  const currentArn = service.taskDefinition ?? "";
  const revisions = await activeRevisions(ecs, name);
  const current = revisionOf(currentArn);
  if (current !== undefined && !revisions.some((entry) => entry.revision === current)) {
    revisions.push({ revision: current, arn: currentArn });
    revisions.sort((a, b) => b.revision - a.revision);
  }
  const serving = new Set(
    (service.deployments ?? []).flatMap((deployment) =>
      deployment.taskDefinition === undefined ? [] : [revisionOf(deployment.taskDefinition)],
    ),
  );
  const shown = revisions.slice(0, options.limit ?? DEFAULT_LIMIT);
  const versions: AwsApiVersion[] = [];
  for (const { revision, arn } of shown) {
    const described = await describeRevision(ecs, arn);
    versions.push({
      revision,
      taskDefinitionArn: described?.taskDefinition.taskDefinitionArn ?? arn,
      status: described?.taskDefinition.status ?? "ACTIVE",
      ...(described === undefined ? {} : carried(described)),
      current: revision === current,
      serving: serving.has(revision),
    });
  }
  return versions;
}

/**
 * Rolls the API back to `revision` (default: the newest ACTIVE revision older than the one it
 * runs) by pointing its service at that task definition; ECS rolls it out. Already on it: no
 * mutating call, outcome `unchanged`.
 *
 * @throws DomainError `api.not_found` (404); `rollback.no_version` (404) for a revision that was
 *   never registered or when there is no earlier one; `rollback.revision_inactive` (409) for a
 *   deregistered one; `rollback.endpoint_changed` (409) for a revision served on another endpoint.
 */
export async function rollbackAwsApi(
  ecs: EcsApiDeps,
  name: string,
  revision?: number,
): Promise<AwsRollbackOutcome> {
  const service = await requireAwsApiService(ecs, name);
  const currentArn = service.taskDefinition ?? "";
  const from = revisionOf(currentArn) ?? 0;
  if (revision === from) {
    return { from, to: from, outcome: "unchanged", taskDefinitionArn: currentArn };
  }
  const active = await activeRevisions(ecs, name);
  const known = active
    .map((entry) => (entry.revision === from ? `${from} (current)` : String(entry.revision)))
    .join(", ");
  const hint = `revisions of ${name}: ${known === "" ? "none" : known} (axon get ${name} --env ${ecs.refs.envName} shows them)`;
  const target =
    revision === undefined
      ? active.find((entry) => entry.revision < from)
      : active.find((entry) => entry.revision === revision);
  if (target === undefined && revision === undefined) {
    throw new DomainError(
      ROLLBACK_NO_VERSION,
      `${name} has no revision older than ${from} to roll back to`,
      { status: 404, hint },
    );
  }
  if (target === undefined) {
    throw await missingRevision(ecs, name, revision ?? 0, hint);
  }
  const [current, wanted] = await Promise.all([
    describeRevision(ecs, currentArn),
    describeRevision(ecs, target.arn),
  ]);
  const fromEndpoint = current === undefined ? undefined : carried(current).endpoint;
  const toEndpoint = wanted === undefined ? undefined : carried(wanted).endpoint;
  if (fromEndpoint !== undefined && toEndpoint !== undefined && fromEndpoint !== toEndpoint) {
    throw new DomainError(
      ROLLBACK_ENDPOINT_CHANGED,
      `revision ${target.revision} of ${name} serves ${toEndpoint}, but the load balancer routes ${fromEndpoint} to it now: a rollback changes only the task definition`,
      {
        status: 409,
        hint: `deploy the config of revision ${target.revision} again (axon deploy --env ${ecs.refs.envName}), which moves the route too`,
      },
    );
  }
  const serviceArn = service.serviceArn ?? "";
  await callAws(ecs, "ecs:UpdateService", () =>
    ecs.ports.ecs.updateService({
      cluster: ecs.refs.clusterName,
      service: serviceName(name),
      taskDefinition: target.arn,
      // No desiredCount and no deploymentConfiguration: autoscaling's count and the service's own
      // rollout settings (rolling or canary, with their rollback) stay as the last deploy set them.
    }),
  );
  const bundle = wanted === undefined ? undefined : carried(wanted).bundle;
  await callAws(ecs, "ecs:TagResource", () =>
    ecs.ports.ecs.tagResource({
      resourceArn: serviceArn,
      tags: [
        // No deploy hashes to this, so the next deploy (even of the current config) applies again.
        { key: API_TAGS.specHash, value: `rolled-back-to-revision-${target.revision}` },
        // The bundle the service runs now: a delete of another API keeps it.
        ...(bundle === undefined ? [] : [{ key: API_TAGS.bundle, value: bundle }]),
      ],
    }),
  );
  ecs.onProgress?.(
    `updated service ${serviceName(name)} from task definition revision ${from} to ${target.revision}: ECS rolls it out`,
  );
  return { from, to: target.revision, outcome: "updated", taskDefinitionArn: target.arn };
}

/** The API's ACTIVE service (one DescribeServices), or `api.not_found` (404). */
export async function requireAwsApiService(ecs: EcsApiDeps, name: string): Promise<Service> {
  const service = await describeService(ecs, serviceName(name));
  if (service === undefined || service.status !== "ACTIVE") {
    throw new DomainError(
      API_NOT_FOUND,
      `there is no API named ${name} in environment ${ecs.refs.envName}`,
      { status: 404, hint: `axon get --env ${ecs.refs.envName} lists its APIs` },
    );
  }
  return service;
}

/**
 * The family's ACTIVE revisions, newest first. ListTaskDefinitions lists ACTIVE ones by default,
 * and `sort: DESC` puts the newest revision of a family first
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTaskDefinitions.html); the
 * result is sorted here as well, since `familyPrefix` is a prefix (`axon-demo-iris` also lists
 * `axon-demo-iris-v2`, filtered out below) and an emulator may not sort.
 */
async function activeRevisions(
  ecs: EcsApiDeps,
  name: string,
): Promise<Array<{ revision: number; arn: string }>> {
  const family = taskFamily(ecs.refs.clusterName, name);
  const arns = await callAws(ecs, "ecs:ListTaskDefinitions", () =>
    ecs.ports.ecs.listAllTaskDefinitionArns({
      familyPrefix: family,
      status: "ACTIVE",
      sort: "DESC",
    }),
  );
  return arns
    .flatMap((arn) => {
      const revision = revisionOf(arn);
      return revision !== undefined && familyOf(arn) === family ? [{ revision, arn }] : [];
    })
    .sort((a, b) => b.revision - a.revision);
}

/**
 * Why `revision` cannot be rolled back to: deregistered (ECS refuses to update a service to an
 * INACTIVE task definition,
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeregisterTaskDefinition.html),
 * or never registered (DescribeTaskDefinition answers ClientException).
 */
async function missingRevision(
  ecs: EcsApiDeps,
  name: string,
  revision: number,
  hint: string,
): Promise<DomainError> {
  const family = taskFamily(ecs.refs.clusterName, name);
  let status: string | undefined;
  try {
    const output = await callAws(ecs, "ecs:DescribeTaskDefinition", () =>
      ecs.ports.ecs.describeTaskDefinition({ taskDefinition: `${family}:${revision}` }),
    );
    status = output.taskDefinition?.status;
  } catch (error) {
    if (!isAwsError(error, "ClientException")) throw error;
  }
  if (status !== undefined && status !== "ACTIVE") {
    return new DomainError(
      ROLLBACK_REVISION_INACTIVE,
      `revision ${revision} of ${name} was deregistered (${status}): ECS cannot run it again`,
      { status: 409, hint },
    );
  }
  return new DomainError(ROLLBACK_NO_VERSION, `${name} has no revision ${revision}`, {
    status: 404,
    hint,
  });
}

/** A revision with its tags; undefined when ECS no longer has it. */
async function describeRevision(
  ecs: EcsApiDeps,
  arn: string,
): Promise<{ taskDefinition: TaskDefinition; tags: Tag[] } | undefined> {
  if (arn === "") return undefined;
  try {
    const output = await callAws(ecs, "ecs:DescribeTaskDefinition", () =>
      ecs.ports.ecs.describeTaskDefinition({ taskDefinition: arn, include: ["TAGS"] }),
    );
    return output.taskDefinition === undefined
      ? undefined
      : { taskDefinition: output.taskDefinition, tags: output.tags ?? [] };
  } catch (error) {
    if (isAwsError(error, "ClientException")) return undefined;
    throw error;
  }
}

/**
 * The resolved spec a revision carries (its `AXON_API_SPEC`); undefined when it carries none or
 * ECS no longer has it. One DescribeTaskDefinition.
 */
export async function readRevisionSpec(ecs: EcsApiDeps, arn: string): Promise<ApiSpec | undefined> {
  const described = await describeRevision(ecs, arn);
  return described === undefined ? undefined : replicaEnvironment(described.taskDefinition).spec;
}

/** What a revision carries: its registration time, spec (hash, endpoint) and bundle. */
function carried(described: {
  taskDefinition: TaskDefinition;
  tags: Tag[];
}): Pick<AwsApiVersion, "createdAt" | "specHash" | "bundle" | "endpoint"> {
  const { taskDefinition, tags } = described;
  const { spec, bundle: envBundle } = replicaEnvironment(taskDefinition);
  const bundle = tags.find((tag) => tag.key === API_TAGS.bundle)?.value ?? envBundle;
  const registered = taskDefinition.registeredAt;
  return {
    ...(registered === undefined ? {} : { createdAt: registered.toISOString() }),
    ...(spec === undefined ? {} : { specHash: specHash(spec), endpoint: spec.networking.endpoint }),
    ...(bundle === undefined ? {} : { bundle }),
  };
}

/** `…:task-definition/axon-demo-iris:3` → 3 */
function revisionOf(arn: string): number | undefined {
  const revision = Number(arn.slice(arn.lastIndexOf(":") + 1));
  return Number.isInteger(revision) && revision > 0 ? revision : undefined;
}

/** `…:task-definition/axon-demo-iris:3` → `axon-demo-iris` */
function familyOf(arn: string): string {
  const last = arn.slice(arn.lastIndexOf("/") + 1);
  return last.slice(0, last.lastIndexOf(":"));
}
