/**
 * A deploy is planned once, above both engines (issue 25): the request is read and its config
 * parsed and validated against the uploaded project here, and each engine applies the same
 * `DeployPlan` — the endpoint and `--force` rules included, so they cannot drift apart again
 * (after aws-cdk-cli's shared pre-steps in `deploy-stack.ts`, and wrangler's d1
 * `execute.ts`: validate once, then local or remote to one result type).
 */
import {
  ConfigError,
  parseApiConfigOffThread,
  MAX_SPLITTER_APIS_ON_ECS,
  specHash,
  type ApiSpec,
  type BatchApiSpec,
  type TrafficSplitterSpec,
  type Diagnostic,
  type ParsedApiConfig,
} from "@axon/config";
import { readdirSync } from "node:fs";
import { BUNDLE_NOT_FOUND, BundleStore, projectHas } from "../bundles/bundle-store.js";
import { LOCAL_ENVIRONMENT, type DeployRequest } from "../contract/index.js";
import type { Artifact } from "../state/store.js";
import { CONFIG_INVALID, DomainError, REQUEST_INVALID } from "../errors.js";
import type { EngineNotSupportedCode } from "../contract/index.js";

/** What an engine that cannot run a kind of the config answers (the engines' own code). */
const ENGINE_NOT_SUPPORTED: EngineNotSupportedCode = "engine.not_supported";
import { userSetFields } from "./set-fields.js";

export { CONFIG_INVALID };

/**
 * The artifact recorded with one API's version on the local engine: the project's (its Python
 * environment) plus `cpuWritten` when the config wrote `compute.cpu`. The spec cannot say it — the
 * default `200m` is filled in either way — and the local engine holds a replica to a CPU quota
 * only where the user asked for that CPU (compute-limits.ts).
 */
export function localArtifactFor(api: PlannedApi, artifact: Artifact): Artifact {
  return api.setFields.has("compute.cpu") ? { ...artifact, cpuWritten: true } : artifact;
}

/** One API of the config, as `planDeploy` found it. */
export interface PlannedApi {
  spec: ApiSpec;
  /** `specHash(spec)`: what "unchanged" is decided by, on either engine. */
  hash: string;
  /** The fields the user wrote (dotted paths): knob warnings are said for these only. */
  setFields: ReadonlySet<string>;
  /** The API as the target environment runs it now; undefined: this deploy creates it. */
  deployed: DeployedApi | undefined;
}

export interface DeployPlan {
  request: DeployRequest;
  /** The uploaded project, unpacked (the local engine builds its environment from it). */
  projectDir: string;
  apis: PlannedApi[];
  /**
   * The config's TrafficSplitters, each API they name checked to exist in the environment or in
   * this config (applied after the APIs, so a splitter never routes to an API not yet recorded).
   */
  splitters: PlannedSplitter[];
  /**
   * The config's BatchAPIs (issue 32): recorded, no replica started (a job starts its workers).
   * An engine that runs no batch jobs refuses a plan that has any.
   */
  batchApis: PlannedBatchApi[];
  /** Said with the result: old Cortex spellings that were mapped. */
  warnings: Diagnostic[];
  /** `--force`: replace a version that is still rolling out. */
  force: boolean;
}

/** What a deploy plan needs to know of an API the environment runs now. */
export interface DeployedApi {
  name: string;
  /** Its canonical `networking.endpoint` path (`/iris`). */
  endpoint: string;
  /** The spec hash and bundle of the version it runs (or rolls out) now. */
  specHash: string | undefined;
  bundle: string | undefined;
  /** That version, as `get` names it (`v-…` locally, `revision N` on ECS). */
  version: string;
  /** True while that version has not rolled out yet: changing it then needs `--force`. */
  rollingOut: boolean;
  /** That version's spec, for `deploy --plan`'s field diff (absent when it cannot be read back). */
  spec?: ApiSpec;
  /** Set for a TrafficSplitter's or a BatchAPI's entry (only its name and endpoint matter to a plan). */
  kind?: "TrafficSplitter" | "BatchAPI";
}

/** One BatchAPI of the config, as `planDeploy` found it. */
export interface PlannedBatchApi {
  spec: BatchApiSpec;
  hash: string;
  /** The batch API as the environment has it now; undefined: this deploy creates it. */
  deployed: DeployedApi | undefined;
}

/** One TrafficSplitter of the config, as `planDeploy` found it. */
export interface PlannedSplitter {
  spec: TrafficSplitterSpec;
  /** The splitter as the environment serves it now; undefined: this deploy creates it. */
  deployed: TrafficSplitterSpec | undefined;
}

/** Where a plan is checked: an engine's environment and what it runs now (`ApiEngine`). */
export interface DeployTarget {
  readonly environment: string;
  deployed(): Promise<DeployedApi[]>;
  /** The environment's TrafficSplitters; absent: the engine has none (and deploys none yet). */
  deployedSplitters?(): Promise<TrafficSplitterSpec[]>;
  /** The environment's BatchAPIs (kind `BatchAPI`); absent: the engine has none. */
  deployedBatchApis?(): Promise<DeployedApi[]>;
}

/** An API of one kind would take the name of an API of another kind (Cortex: delete it first). */
export const API_KIND_TAKEN = "api.kind_taken";

/** A TrafficSplitter names an API the environment does not run and the config does not define. */
export const SPLITTER_API_NOT_FOUND = "splitter.api_not_found";

/** A TrafficSplitter and an API would share a name (one namespace, as in Cortex). */
export const SPLITTER_NAME_TAKEN = "splitter.name_taken";

/** A TrafficSplitter has more APIs than the engine can route to (ECS: 5 target groups a rule). */
export const SPLITTER_TOO_MANY_APIS = "splitter.too_many_apis";

/** The code of a deploy refused because an API of the config is still rolling out. */
export const API_UPDATING = "api.updating";

/**
 * `name` is rolling out `version`: a change needs `--force` (Cortex's rule), 409. `envFlag` is
 * what the hint's commands need to reach the environment (` --env prod`; empty for the default).
 */
export function apiUpdating(name: string, version: string, envFlag = ""): DomainError {
  return new DomainError(
    API_UPDATING,
    `${name} is updating (override with --force): its version ${version} is still rolling out`,
    {
      status: 409,
      hint: `wait until \`axon get ${name}${envFlag}\` shows it live and deploy again, or deploy with --force to replace the version rolling out now`,
    },
  );
}

/** The code of a deploy refused because another API of the environment serves the endpoint. */
export const CONFIG_ENDPOINT_TAKEN = "config.endpoint_taken";

/**
 * Reads and validates a deploy request against the uploaded bundle and the target environment as
 * `engine` reports it: an endpoint another API of that environment serves is refused, and so is a
 * change to an API still rolling out unless `force` (Cortex's rule), on every engine alike.
 * @throws DomainError request.invalid, bundle.not_found, config.invalid (every diagnostic at once),
 *   config.endpoint_taken, api.updating
 */
export async function planDeploy(
  deps: { bundles: BundleStore },
  engine: DeployTarget,
  request: DeployRequest,
): Promise<DeployPlan> {
  const { projectDir, parsed } = await readDeployRequest(deps.bundles, request);
  const deployed = await engine.deployed();
  const deployedSplitters = (await engine.deployedSplitters?.()) ?? [];
  const deployedBatch = (await engine.deployedBatchApis?.()) ?? [];
  const byName = new Map(deployed.map((api) => [api.name, api]));
  const splittersByName = new Map(deployedSplitters.map((splitter) => [splitter.name, splitter]));
  const fields = userSetFields(request.config);
  const plan: DeployPlan = {
    request,
    projectDir,
    apis: parsed.apis.map((spec) => ({
      spec,
      hash: specHash(spec),
      setFields: fields.get(spec.name) ?? new Set(),
      deployed: byName.get(spec.name),
    })),
    splitters: parsed.splitters.map((spec) => ({ spec, deployed: splittersByName.get(spec.name) })),
    batchApis: parsed.batchApis.map((spec) => ({
      spec,
      hash: specHash(spec),
      deployed: deployedBatch.find((api) => api.name === spec.name),
    })),
    warnings: [...parsed.deprecations],
    force: request.force === true,
  };
  assertSplittersSound(plan, deployed, deployedSplitters, engine.environment);
  // Splitters' endpoints are taken like APIs': by another splitter or API of the environment.
  const takenBySplitters: DeployedApi[] = deployedSplitters
    .filter((splitter) => !plan.splitters.some((planned) => planned.spec.name === splitter.name))
    .map((splitter) => ({
      name: splitter.name,
      endpoint: splitter.endpoint,
      specHash: undefined,
      bundle: undefined,
      version: "",
      rollingOut: false,
      kind: "TrafficSplitter" as const,
    }));
  if (plan.batchApis.length > 0 && engine.deployedBatchApis === undefined) {
    throw new DomainError(
      ENGINE_NOT_SUPPORTED,
      `${request.configFileName}: ${plan.batchApis.map((api) => api.spec.name).join(", ")}: kind BatchAPI is not supported in environment ${engine.environment} yet; nothing was deployed`,
      {
        status: 501,
        hint: "deploy batch APIs to the local environment, or remove them from this config",
      },
    );
  }
  assertKindsKept(plan, deployed, deployedBatch, deployedSplitters, engine.environment);
  assertEndpointsFree(
    plan,
    [...deployed, ...takenBySplitters, ...deployedBatch],
    engine.environment,
  );
  const envFlag = engine.environment === LOCAL_ENVIRONMENT ? "" : ` --env ${engine.environment}`;
  if (!plan.force) for (const api of plan.apis) assertNotRollingOut(api, request, envFlag);
  return plan;
}

/** An endpoint is one API's within an environment: another API's is refused, naming it. */
function assertEndpointsFree(plan: DeployPlan, deployed: DeployedApi[], environment: string): void {
  const names = new Set(plan.apis.map((api) => api.spec.name));
  for (const splitter of plan.splitters) names.add(splitter.spec.name);
  for (const batch of plan.batchApis) names.add(batch.spec.name);
  const taken = new Map<string, string>();
  const kinds = new Map<string, string>();
  for (const other of deployed) {
    if (names.has(other.name)) continue;
    taken.set(other.endpoint, other.name);
    kinds.set(other.name, other.kind ?? "api");
  }
  const file = plan.request.configFileName;
  const wanted = [
    ...plan.apis.map(({ spec }) => ({
      name: spec.name,
      endpoint: spec.networking.endpoint,
      field: "networking.endpoint",
    })),
    ...plan.splitters.map(({ spec }) => ({
      name: spec.name,
      endpoint: spec.endpoint,
      field: "endpoint",
    })),
    ...plan.batchApis.map(({ spec }) => ({
      name: spec.name,
      endpoint: spec.networking.endpoint,
      field: "networking.endpoint",
    })),
  ];
  for (const spec of wanted) {
    const owner = taken.get(spec.endpoint);
    if (owner === undefined) continue;
    const local = environment === LOCAL_ENVIRONMENT;
    throw new DomainError(
      CONFIG_ENDPOINT_TAKEN,
      `${file}: ${spec.name}: ${spec.field} ${spec.endpoint} is already used by ${kinds.get(owner) ?? "api"} ${owner}${local ? "" : ` in environment ${environment}`}`,
      {
        hint: `choose another ${spec.field}, or delete ${owner} with \`axon delete ${owner}${local ? "" : ` --env ${environment}`}\``,
      },
    );
  }
}

/**
 * A name is one kind's: a RealtimeAPI and a BatchAPI (deployed or in this config) never share
 * one, as Cortex refused to change an API's kind in place.
 */
function assertKindsKept(
  plan: DeployPlan,
  deployed: DeployedApi[],
  deployedBatch: DeployedApi[],
  deployedSplitters: TrafficSplitterSpec[],
  environment: string,
): void {
  const envFlag = environment === LOCAL_ENVIRONMENT ? "" : ` --env ${environment}`;
  const clash = (name: string, wanted: string, existing: string): DomainError =>
    new DomainError(
      API_KIND_TAKEN,
      `${plan.request.configFileName}: ${name}: name ${name} is already used by a ${existing}; it cannot become a ${wanted}`,
      {
        status: 409,
        hint: `rename it, or delete the ${existing} first with \`axon delete ${name}${envFlag}\``,
      },
    );
  for (const { spec } of plan.apis) {
    if (deployedBatch.some((api) => api.name === spec.name)) {
      throw clash(spec.name, "RealtimeAPI", "BatchAPI");
    }
  }
  for (const { spec } of plan.batchApis) {
    if (deployed.some((api) => api.name === spec.name)) {
      throw clash(spec.name, "BatchAPI", "RealtimeAPI");
    }
    const splitter =
      deployedSplitters.some((other) => other.name === spec.name) ||
      plan.splitters.some((other) => other.spec.name === spec.name);
    if (splitter) throw clash(spec.name, "BatchAPI", "TrafficSplitter");
  }
  for (const { spec } of plan.splitters) {
    if (deployedBatch.some((api) => api.name === spec.name)) {
      throw clash(spec.name, "TrafficSplitter", "BatchAPI");
    }
  }
}

/**
 * Each API a splitter names runs in the environment or is defined in this config (Cortex's rule),
 * is not itself a splitter, and a splitter and an API never share a name.
 */
function assertSplittersSound(
  plan: DeployPlan,
  deployed: DeployedApi[],
  deployedSplitters: TrafficSplitterSpec[],
  environment: string,
): void {
  const file = plan.request.configFileName;
  const local = environment === LOCAL_ENVIRONMENT;
  const where = local ? "" : ` in environment ${environment}`;
  const envFlag = local ? "" : ` --env ${environment}`;
  const apiNames = new Set([
    ...deployed.map((api) => api.name),
    ...plan.apis.map((api) => api.spec.name),
  ]);
  const splitterNames = new Set([
    ...deployedSplitters.map((splitter) => splitter.name),
    ...plan.splitters.map((splitter) => splitter.spec.name),
  ]);
  for (const { spec } of plan.apis) {
    if (!splitterNames.has(spec.name)) continue;
    throw new DomainError(
      SPLITTER_NAME_TAKEN,
      `${file}: ${spec.name}: name ${spec.name} is already used by a TrafficSplitter${where}`,
      {
        status: 409,
        hint: `rename the api, or delete the splitter first with \`axon delete ${spec.name}${envFlag}\``,
      },
    );
  }
  for (const { spec } of plan.splitters) {
    if (deployed.some((api) => api.name === spec.name)) {
      throw new DomainError(
        SPLITTER_NAME_TAKEN,
        `${file}: ${spec.name}: name ${spec.name} is already used by an api${where}`,
        {
          status: 409,
          hint: `rename the TrafficSplitter, or delete the api first with \`axon delete ${spec.name}${envFlag}\``,
        },
      );
    }
    spec.apis.forEach((backend, index) => {
      if (apiNames.has(backend.name)) return;
      const isSplitter = splitterNames.has(backend.name);
      throw new DomainError(
        SPLITTER_API_NOT_FOUND,
        isSplitter
          ? `${file}: ${spec.name}: apis[${index}].name: ${backend.name} is a TrafficSplitter; a splitter sends traffic to RealtimeAPIs only`
          : `${file}: ${spec.name}: apis[${index}].name: api ${backend.name} is not deployed${where} and not defined in ${file}`,
        {
          hint: isSplitter
            ? "name the APIs behind that splitter instead"
            : `deploy ${backend.name} first (\`axon get${envFlag}\` lists what runs), or define it in ${file}`,
        },
      );
    });
    // ELBv2 quota "Target Groups per Action per Application Load Balancer": 5, not adjustable
    // (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html).
    if (!local && spec.apis.length > MAX_SPLITTER_APIS_ON_ECS) {
      throw new DomainError(
        SPLITTER_TOO_MANY_APIS,
        `${file}: ${spec.name}: apis has ${spec.apis.length} entries; an ECS environment routes a TrafficSplitter to at most ${MAX_SPLITTER_APIS_ON_ECS} APIs (one load-balancer rule forwards to at most ${MAX_SPLITTER_APIS_ON_ECS} target groups)`,
        {
          hint: `split between at most ${MAX_SPLITTER_APIS_ON_ECS} APIs, the most an ECS environment can route to`,
        },
      );
    }
  }
}

/** Cortex's rule: a change to an API whose current version is still rolling out needs --force. */
function assertNotRollingOut(api: PlannedApi, request: DeployRequest, envFlag: string): void {
  const deployed = api.deployed;
  if (deployed === undefined || !deployed.rollingOut) return;
  // An unchanged API is never refused (the deploy is a no-op for it).
  if (deployed.specHash === api.hash && deployed.bundle === request.bundle) return;
  throw apiUpdating(api.spec.name, deployed.version, envFlag);
}

/** A deploy request's project, unpacked, and its config, parsed against it (any engine). */
async function readDeployRequest(
  bundles: BundleStore,
  request: DeployRequest,
): Promise<{ projectDir: string; parsed: ParsedApiConfig }> {
  assertDeployRequest(request);
  BundleStore.assertSha(request.bundle);
  if (!bundles.has(request.bundle)) {
    throw new DomainError(BUNDLE_NOT_FOUND, `bundle ${request.bundle} has not been uploaded`, {
      status: 404,
      hint: "upload it with PUT /v1/bundles/<sha256> before deploying (the CLI does this for you)",
    });
  }
  const projectDir = await bundles.unpack(request.bundle);

  let parsed: ParsedApiConfig;
  try {
    // Off the thread that serves every endpoint: no config can hold them (issue 27).
    parsed = await parseApiConfigOffThread(request.config, request.configFileName, {
      fileExists: (rel) => projectHas(projectDir, rel),
      projectFiles: pythonFilesOf(projectDir),
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new DomainError(
        CONFIG_INVALID,
        `${request.configFileName} is not a valid API configuration`,
        {
          diagnostics: error.diagnostics,
          hint: "fix the fields listed and deploy again; `axon validate` checks a config without deploying",
        },
      );
    }
    throw error;
  }

  return { projectDir, parsed };
}

/** The project's Python files (relative paths, at most 2,000), for "did you mean" on a typo. */
function pythonFilesOf(projectDir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(projectDir, { recursive: true, encoding: "utf8" })) {
    if (entry.endsWith(".py")) files.push(entry);
    if (files.length >= 2000) break;
  }
  return files;
}

function assertDeployRequest(request: DeployRequest): void {
  const problems: string[] = [];
  if (typeof request.config !== "string")
    problems.push("config must be the YAML text of the config file");
  if (typeof request.configFileName !== "string" || request.configFileName === "")
    problems.push("configFileName must be a non-empty string");
  if (typeof request.bundle !== "string")
    problems.push("bundle must be the sha256 of an uploaded bundle");
  if (problems.length > 0) {
    throw new DomainError(REQUEST_INVALID, `invalid deploy request: ${problems.join("; ")}`);
  }
}
