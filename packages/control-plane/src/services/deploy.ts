/**
 * Deploy: validate a config against an uploaded bundle (authoritatively, again, in the daemon),
 * record a new version for every API whose spec or code changed, and enqueue them for reconcile.
 * Nothing already deployed is touched when validation fails.
 */
import {
  ConfigError,
  isForwardedAwsVariable,
  parseApiConfig,
  specHash,
  type ApiSpec,
} from "@axon/spec";
import type { DeployRequest, DeployResponse, DeployResult } from "../api/public.js";
import { BundleStore, projectHas } from "../bundles/bundle-store.js";
import { DomainError } from "../errors.js";
import type { SecretStore } from "../state/secrets.js";
import type { StateStore } from "../state/store.js";
import type { PythonEnvironments } from "./python-environments.js";

export interface DeployDeps {
  store: StateStore;
  bundles: BundleStore;
  secrets: SecretStore;
  environments: PythonEnvironments;
  gatewayUrl: string;
  enqueue: (apiName: string) => void;
  /** Progress for the client (environment builds); lines are shown as they come. */
  onProgress?: (message: string) => void;
}

export async function deployApis(
  deps: DeployDeps,
  request: DeployRequest,
): Promise<DeployResponse> {
  const { store, bundles, secrets } = deps;
  const progress = deps.onProgress ?? ((): void => {});
  assertDeployRequest(request);
  BundleStore.assertSha(request.bundle);
  if (!bundles.has(request.bundle)) {
    throw new DomainError("bundle.not_found", `bundle ${request.bundle} has not been uploaded`, {
      status: 404,
      hint: "upload it with PUT /v1/bundles/<sha256> before deploying (the CLI does this for you)",
    });
  }
  const projectDir = await bundles.unpack(request.bundle);

  let parsed: ReturnType<typeof parseApiConfig>;
  try {
    parsed = parseApiConfig(request.config, request.configFileName, {
      fileExists: (rel) => projectHas(projectDir, rel),
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new DomainError(
        "config.invalid",
        `${request.configFileName} is not a valid API configuration`,
        {
          diagnostics: error.diagnostics,
          hint: "fix the fields listed and deploy again; `axon validate` checks a config without deploying",
        },
      );
    }
    throw error;
  }

  assertEndpointsFree(store, parsed.apis, request.configFileName);
  const credentials = acceptedCredentials(request.credentials);

  // Every API of one config shares the project folder, so they share its environment. It is built
  // before anything is recorded: a failed build leaves every deployed API as it was.
  let announced = false;
  const runtime = await deps.environments.prepare(projectDir, (line) => {
    if (!announced) {
      progress("building Python environment");
      announced = true;
    }
    progress(line);
  });
  if (announced) progress("Python environment built");

  const results: DeployResult[] = [];
  for (const spec of parsed.apis) {
    const hash = specHash(spec);
    const existing = store.getApi(spec.name);
    const endpoint = `${deps.gatewayUrl}${spec.networking.endpoint}`;
    const credentialsChanged = secrets.differs(spec.name, credentials);
    if (
      existing?.currentVersion.specHash === hash &&
      existing.currentVersion.bundle === request.bundle &&
      existing.currentVersion.envKey === runtime.envKey &&
      !credentialsChanged
    ) {
      results.push({
        api: spec.name,
        kind: spec.kind,
        outcome: "unchanged",
        message: `${spec.name} (${spec.kind}) is up to date`,
        endpoint,
      });
      continue;
    }
    const createdAt = new Date().toISOString();
    const versionId = `v-${Date.now().toString(36)}-${hash.slice(0, 6)}`;
    const { min_replicas: min, max_replicas: max, init_replicas: init } = spec.autoscaling;
    const requested =
      existing === undefined ? init : Math.min(max, Math.max(min, existing.requested));
    store.putApiVersion(
      {
        id: versionId,
        apiName: spec.name,
        spec: spec as unknown as Record<string, unknown>,
        specHash: hash,
        bundle: request.bundle,
        configFile: request.configFileName,
        projectPath: request.projectPath ?? null,
        envKey: runtime.envKey,
        createdAt,
      },
      spec.kind,
      requested,
    );
    secrets.put(spec.name, credentials);
    const outcome = existing === undefined ? "created" : "updated";
    store.addEvent(
      spec.name,
      "info",
      `${outcome === "created" ? "created" : "updated to"} version ${versionId}`,
    );
    deps.enqueue(spec.name);
    results.push({
      api: spec.name,
      kind: spec.kind,
      outcome,
      message: `${outcome === "created" ? "creating" : "updating"} ${spec.name} (${spec.kind})`,
      endpoint,
    });
  }
  return { results, warnings: parsed.deprecations };
}

/** Only the standard AWS settings are accepted as forwarded credentials. */
function acceptedCredentials(given: Record<string, string> | undefined): Record<string, string> {
  if (given === undefined || given === null) return {};
  if (typeof given !== "object")
    throw new DomainError("request.invalid", "credentials must be an object of strings");
  const accepted: Record<string, string> = {};
  for (const [name, value] of Object.entries(given)) {
    if (!isForwardedAwsVariable(name) || typeof value !== "string") {
      throw new DomainError(
        "request.invalid",
        `credentials may only hold AWS settings as strings (got ${name})`,
      );
    }
    accepted[name] = value;
  }
  return accepted;
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
    throw new DomainError("request.invalid", `invalid deploy request: ${problems.join("; ")}`);
  }
}

function assertEndpointsFree(store: StateStore, apis: ApiSpec[], fileName: string): void {
  const names = new Set(apis.map((a) => a.name));
  const taken = new Map<string, string>();
  for (const other of store.listApis()) {
    if (names.has(other.name)) continue;
    const spec = other.currentVersion.spec as unknown as ApiSpec;
    taken.set(spec.networking.endpoint, other.name);
  }
  for (const api of apis) {
    const owner = taken.get(api.networking.endpoint);
    if (owner !== undefined) {
      throw new DomainError(
        "config.endpoint_taken",
        `${fileName}: ${api.name}: networking.endpoint ${api.networking.endpoint} is already used by api ${owner}`,
        {
          hint: `choose another networking.endpoint, or delete ${owner} with \`axon delete ${owner}\``,
        },
      );
    }
  }
}
