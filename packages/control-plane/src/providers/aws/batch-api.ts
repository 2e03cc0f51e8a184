/**
 * A BatchAPI on ECS (issue 32): its task definition and nothing else. Deploy registers it — the
 * replica image with `AXON_MODE=batch`, no port and no health check (nothing is served) — and makes
 * no service: nothing runs between jobs. The family's latest revision is tagged `axon:kind =
 * BatchAPI`, which is how the cluster's BatchAPIs are found again (decision 0009: the account is
 * the record). Jobs are `batch-jobs.ts`.
 */
import type { RegisterTaskDefinitionCommandInput } from "@aws-sdk/client-ecs";
import { createHash } from "node:crypto";
import { API_NOT_BATCH, DomainError, API_NOT_FOUND } from "../../errors.js";
import { specHash, type ApiSpec } from "@axon/config";
import { ensureBundle, isAwsError } from "./api-deploy.js";
import { taskFamily, type EcsApiDeps } from "./api-names.js";
import { taskDefinitionInput, type TaskSpec } from "./api-task-definition.js";
import { BATCH_ENV, BATCH_MODE, BATCH_TAGS } from "./batch-names.js";
import { callAws } from "./cluster-stack.js";

/**
 * What ECS needs of a BatchAPI's spec: the fields config's `BatchApiSpec` (issue 32) shares with a
 * RealtimeAPI's — name, predictor, compute, and its endpoint — so either kind's spec is accepted.
 */
export type EcsBatchSpec = TaskSpec & { networking: { endpoint: string } };

/** A BatchAPI deploy: its spec, and the project bundle it runs (as a RealtimeAPI's deploy). */
export interface EcsBatchDeployRequest {
  spec: EcsBatchSpec;
  bundleSha256: string;
  readBundle: () => Promise<Uint8Array>;
}

/** A BatchAPI as a deploy plan sees what the environment runs (services/deploy-plan.ts). */
export interface DeployedEcsBatchApi {
  name: string;
  endpoint: string;
  /** The hash of the spec read back from the task definition (`specHash` of @axon/config). */
  specHash: string | undefined;
  bundle: string | undefined;
  version: string;
  rollingOut: false;
  kind: "BatchAPI";
}

/**
 * The task definition of a BatchAPI: the replica's, started in batch mode. No port mapping and no
 * health check: a batch worker serves nothing, and a health check that cannot pass would get ECS to
 * stop it.
 */
export function batchTaskDefinitionInput(
  spec: EcsBatchSpec,
  refs: EcsApiDeps["refs"],
  bundleSha256: string,
): RegisterTaskDefinitionCommandInput {
  const input = taskDefinitionInput(spec, refs, bundleSha256);
  const containers = (input.containerDefinitions ?? []).map((container) => {
    const { portMappings: _ports, healthCheck: _health, ...rest } = container;
    return {
      ...rest,
      environment: [...(container.environment ?? []), { name: BATCH_ENV.mode, value: BATCH_MODE }]
        // Sorted, as the realtime input is, so equal specs hash equal.
        .sort((a, b) => ((a.name ?? "") < (b.name ?? "") ? -1 : 1)),
    };
  });
  return {
    ...input,
    containerDefinitions: containers,
    tags: [...(input.tags ?? []), { key: BATCH_TAGS.kind, value: "BatchAPI" }],
  };
}

/**
 * Deploys a BatchAPI: its bundle in the bucket and its task definition, registered only when
 * something changed (the spec hash is tagged on the revision).
 */
export async function deployEcsBatchApi(
  deps: EcsApiDeps,
  request: EcsBatchDeployRequest,
): Promise<{ outcome: "created" | "updated" | "unchanged"; taskDefinitionArn: string }> {
  const input = batchTaskDefinitionInput(request.spec, deps.refs, request.bundleSha256);
  const hash = createHash("sha256").update(JSON.stringify(input)).digest("hex");
  const current = await describeBatchTaskDefinition(deps, request.spec.name);
  if (current !== undefined && current.tags["axon:spec-hash"] === hash) {
    return { outcome: "unchanged", taskDefinitionArn: current.arn };
  }
  await ensureBundle(deps, request);
  const registered = await callAws(deps, "ecs:RegisterTaskDefinition", () =>
    deps.ports.ecs.registerTaskDefinition({
      ...input,
      tags: [...(input.tags ?? []), { key: "axon:spec-hash", value: hash }],
    }),
  );
  const arn = registered.taskDefinition?.taskDefinitionArn ?? "";
  deps.onProgress?.(`registered task definition ${arn.split("/").at(-1) ?? arn} (batch mode)`);
  return { outcome: current === undefined ? "created" : "updated", taskDefinitionArn: arn };
}

/** The API's latest task definition with its tags and spec; undefined when it has none. */
export async function describeBatchTaskDefinition(
  deps: EcsApiDeps,
  api: string,
): Promise<{ arn: string; tags: Record<string, string>; spec?: ApiSpec } | undefined> {
  let output;
  try {
    output = await callAws(deps, "ecs:DescribeTaskDefinition", () =>
      deps.ports.ecs.describeTaskDefinition({
        taskDefinition: taskFamily(deps.refs.clusterName, api),
        include: ["TAGS"],
      }),
    );
  } catch (error) {
    // ECS answers ClientException for a family with no ACTIVE revision.
    if (isAwsError(error, "ClientException")) return undefined;
    throw error;
  }
  const definition = output.taskDefinition;
  if (definition === undefined || definition.status === "INACTIVE") return undefined;
  const tags = Object.fromEntries(
    (output.tags ?? []).map((tag) => [tag.key ?? "", tag.value ?? ""]),
  );
  const { replicaEnvironment } = await import("./api-status.js");
  const { spec } = replicaEnvironment(definition);
  return {
    arn: definition.taskDefinitionArn ?? "",
    tags,
    ...(spec === undefined ? {} : { spec }),
  };
}

/** The BatchAPI `api`'s task definition, or a 404 / 400 saying why there is none. */
export async function requireBatchApi(
  deps: EcsApiDeps,
  api: string,
): Promise<{ arn: string; spec?: ApiSpec }> {
  const found = await describeBatchTaskDefinition(deps, api);
  if (found === undefined) {
    throw new DomainError(
      API_NOT_FOUND,
      `there is no BatchAPI named ${api} in environment ${deps.refs.envName}`,
      { status: 404, hint: `axon get --env ${deps.refs.envName} lists its APIs` },
    );
  }
  if (found.tags[BATCH_TAGS.kind] !== "BatchAPI") {
    throw new DomainError(
      API_NOT_BATCH,
      `${api} in environment ${deps.refs.envName} is a RealtimeAPI: jobs are submitted to a BatchAPI`,
      {
        status: 400,
        hint: `send ${api} requests instead (axon predict ${api} payload.json --env ${deps.refs.envName})`,
      },
    );
  }
  return found;
}

/**
 * The cluster's BatchAPIs, from their task definitions (the family's latest revision is tagged
 * `axon:kind`). Families of `skip` (the APIs that have a service: RealtimeAPIs) are not described,
 * so a listing costs one ListTaskDefinitionFamilies and one DescribeTaskDefinition per BatchAPI.
 */
export async function batchApiNames(
  deps: EcsApiDeps,
  skip: readonly string[] = [],
): Promise<string[]> {
  const { refs } = deps;
  const all = await callAws(deps, "ecs:ListTaskDefinitionFamilies", () =>
    deps.ports.ecs.listAllTaskDefinitionFamilies({
      familyPrefix: `${refs.clusterName}-`,
      status: "ACTIVE",
    }),
  );
  const skipped = new Set(skip.map((api) => taskFamily(refs.clusterName, api)));
  const families = all.filter((family) => !skipped.has(family));
  const names: string[] = [];
  for (const family of families) {
    // ClientException: a family with no ACTIVE revision left (moto lists those too).
    const described = await callAws(deps, "ecs:DescribeTaskDefinition", () =>
      deps.ports.ecs.describeTaskDefinition({ taskDefinition: family, include: ["TAGS"] }),
    ).catch((error: unknown) => {
      if (isAwsError(error, "ClientException")) return undefined;
      throw error;
    });
    if (described?.taskDefinition?.status !== "ACTIVE") continue;
    const tags = Object.fromEntries((described.tags ?? []).map((tag) => [tag.key, tag.value]));
    const api = tags["axon:api"];
    if (tags[BATCH_TAGS.kind] === "BatchAPI" && api !== undefined) names.push(api);
  }
  return names.sort();
}

/**
 * The cluster's BatchAPIs as a deploy plan needs them (`deployedBatchApis` of the engine): name,
 * endpoint and the hash of the spec their latest task definition carries. `realtimeApis` (those
 * with a service) are skipped without a call.
 */
export async function deployedEcsBatchApis(
  deps: EcsApiDeps,
  realtimeApis: readonly string[] = [],
): Promise<DeployedEcsBatchApi[]> {
  const deployed: DeployedEcsBatchApi[] = [];
  for (const name of await batchApiNames(deps, realtimeApis)) {
    const found = await describeBatchTaskDefinition(deps, name);
    if (found === undefined) continue;
    deployed.push({
      name,
      endpoint: found.spec?.networking.endpoint ?? `/${name}`,
      specHash: found.spec === undefined ? undefined : specHash(found.spec),
      bundle: found.tags["axon:bundle"],
      version: `revision ${found.arn.split(":").at(-1) ?? ""}`,
      rollingOut: false,
      kind: "BatchAPI",
    });
  }
  return deployed;
}
