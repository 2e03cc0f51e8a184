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
  specHash,
  type ApiSpec,
  type Diagnostic,
  type ParsedApiConfig,
} from "@axon/config";
import { readdirSync } from "node:fs";
import { BundleStore, projectHas } from "../bundles/bundle-store.js";
import { LOCAL_ENVIRONMENT, type DeployRequest } from "../contract/index.js";
import { DomainError, REQUEST_INVALID } from "../errors.js";
import { userSetFields } from "./set-fields.js";

/** The deploy names a bundle that was not uploaded (404). */
export const BUNDLE_NOT_FOUND = "bundle.not_found";

/** The config is not a valid API configuration; `diagnostics` say where (400). */
export const CONFIG_INVALID = "config.invalid";

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
}

/** Where a plan is checked: an engine's environment and what it runs now (`ApiEngine`). */
export interface DeployTarget {
  readonly environment: string;
  deployed(): Promise<DeployedApi[]>;
}

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
  const byName = new Map(deployed.map((api) => [api.name, api]));
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
    warnings: [...parsed.deprecations],
    force: request.force === true,
  };
  assertEndpointsFree(plan, deployed, engine.environment);
  const envFlag = engine.environment === LOCAL_ENVIRONMENT ? "" : ` --env ${engine.environment}`;
  if (!plan.force) for (const api of plan.apis) assertNotRollingOut(api, request, envFlag);
  return plan;
}

/** An endpoint is one API's within an environment: another API's is refused, naming it. */
function assertEndpointsFree(plan: DeployPlan, deployed: DeployedApi[], environment: string): void {
  const names = new Set(plan.apis.map((api) => api.spec.name));
  const taken = new Map<string, string>();
  for (const other of deployed) if (!names.has(other.name)) taken.set(other.endpoint, other.name);
  const file = plan.request.configFileName;
  for (const { spec } of plan.apis) {
    const owner = taken.get(spec.networking.endpoint);
    if (owner === undefined) continue;
    const local = environment === LOCAL_ENVIRONMENT;
    throw new DomainError(
      CONFIG_ENDPOINT_TAKEN,
      `${file}: ${spec.name}: networking.endpoint ${spec.networking.endpoint} is already used by api ${owner}${local ? "" : ` in environment ${environment}`}`,
      {
        hint: `choose another networking.endpoint, or delete ${owner} with \`axon delete ${owner}${local ? "" : ` --env ${environment}`}\``,
      },
    );
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
