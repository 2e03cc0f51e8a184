/**
 * A deploy is planned once, above both engines (issue 25): the request is read and its config
 * parsed and validated against the uploaded project here, and each engine applies the same
 * `DeployPlan` — the endpoint and `--force` rules included, so they cannot drift apart again
 * (after aws-cdk-cli's shared pre-steps in `deploy-stack.ts`, and wrangler's d1
 * `execute.ts`: validate once, then local or remote to one result type).
 */
import { ConfigError, parseApiConfig, specHash, type ParsedApiConfig } from "@axon/config";
import { BundleStore, projectHas } from "../bundles/bundle-store.js";
import { LOCAL_ENVIRONMENT, type DeployRequest } from "../contract/index.js";
import { DomainError, REQUEST_INVALID } from "../errors.js";
import {
  apiUpdating,
  CONFIG_ENDPOINT_TAKEN,
  type ApiEngine,
  type DeployedApi,
  type DeployPlan,
  type PlannedApi,
} from "./api-engine.js";
import { userSetFields } from "./set-fields.js";

/** The deploy names a bundle that was not uploaded (404). */
export const BUNDLE_NOT_FOUND = "bundle.not_found";

/** The config is not a valid API configuration; `diagnostics` say where (400). */
export const CONFIG_INVALID = "config.invalid";

/**
 * Reads and validates a deploy request against the uploaded bundle and the target environment as
 * `engine` reports it: an endpoint another API of that environment serves is refused, and so is a
 * change to an API still rolling out unless `force` (Cortex's rule), on every engine alike.
 * @throws DomainError request.invalid, bundle.not_found, config.invalid (every diagnostic at once),
 *   config.endpoint_taken, api.updating
 */
export async function planDeploy(
  deps: { bundles: BundleStore },
  engine: Pick<ApiEngine, "deployed" | "environment">,
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
    parsed = parseApiConfig(request.config, request.configFileName, {
      fileExists: (rel) => projectHas(projectDir, rel),
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
