/**
 * Deploy: validate a config against an uploaded bundle (authoritatively, again, in the daemon),
 * record a new version for every API whose spec or code changed, and enqueue them for reconcile.
 * Nothing already deployed is touched when validation fails.
 *
 * Decisions recorded here:
 * - **Check, then record, in one synchronous stretch.** A deploy awaits its environment build for
 *   seconds to minutes, and other deploys and deletes run meanwhile. Everything that depends on
 *   the rest of the store (endpoints free, API not deleted meanwhile, API not updating) is checked
 *   once early, for fast feedback, and again right before recording, with no `await` between that
 *   check and the last `putApiVersion`. The daemon is one Node process, so that stretch is atomic
 *   with respect to every other deploy and delete. Either every API of the config is recorded or
 *   none is.
 * - **A delete during a deploy wins.** An API's `createdAt` names its incarnation: if the API
 *   existed when the deploy started and is gone (or was created anew) when it would be recorded,
 *   the deploy fails with "api X was deleted while this deploy was running" instead of bringing
 *   it back. An API that did not exist yet cannot be deleted (404), so a deploy creating it goes on.
 * - **Cancelled when the client goes away** (`signal`): Ctrl-C of `axon deploy` records nothing.
 * - **`force`**, as in Cortex: a deploy that changes an API whose current version is still rolling
 *   out (status `updating`) is refused with "X is updating (override with --force)"; an unchanged
 *   API is never refused.
 */
import { isForwardedAwsVariable, specHash, type ApiSpec, type Diagnostic } from "@axon/config";
import type { ApiStatus, DeployRequest, DeployResponse, DeployResult } from "../contract/index.js";
import type { BundleStore } from "../bundles/bundle-store.js";
import {
  apiUpdating,
  CONFIG_ENDPOINT_TAKEN,
  localArtifactFor,
  type DeployPlan,
  type PlannedApi,
} from "./deploy-plan.js";
import { DomainError, REQUEST_INVALID } from "../errors.js";
import { sampleCurl } from "./example-curl.js";
import type { EventSink } from "../events/event-sink.js";
import type { Artifact, Provider } from "../providers/provider.js";
import type { SecretStore } from "../state/secrets.js";
import type { ApiRecord, StateStore } from "../state/store.js";

/** An API of the config was deleted while its deploy ran; nothing was deployed (409). */
export const API_DELETED_DURING_DEPLOY = "api.deleted_during_deploy";

/** The deploy's client went away before anything was recorded (499). */
export const DEPLOY_CANCELLED = "deploy.cancelled";

/** The config asks for what this engine cannot run (422). */
export const CONFIG_UNSUPPORTED = "config.unsupported";

export interface DeployDeps {
  store: StateStore;
  bundles: BundleStore;
  secrets: SecretStore;
  /** Prepares the version's artifact (locally: its Python environment) and serves its endpoint. */
  provider: Pick<Provider, "prepare" | "endpointUrl" | "checkSpec">;
  events: EventSink;
  enqueue: (apiName: string) => void;
  /** Status of a deployed API from its observed replicas (`updating` refuses changes without force). */
  apiStatus: (api: ApiRecord) => ApiStatus;
  /** Progress for the client (environment builds); lines are shown as they come. */
  onProgress?: (message: string) => void;
  /** Aborted when the client goes away: the deploy stops and records nothing. */
  signal?: AbortSignal;
}

/** Applies `plan` (made by `planDeploy`, which parsed and validated the request) locally. */
export async function deployApis(deps: DeployDeps, plan: DeployPlan): Promise<DeployResponse> {
  const { store, secrets } = deps;
  const { request, projectDir } = plan;
  const parsed = { apis: plan.apis.map((api) => api.spec) };
  // The plan hashed each spec once; every check below and the version record use that hash.
  const hashes = new Map(plan.apis.map((api) => [api.spec, api.hash]));
  const hashOf = (spec: ApiSpec): string => hashes.get(spec) ?? specHash(spec);
  const planned = new Map(plan.apis.map((api) => [api.spec, api]));
  const progress = deps.onProgress ?? ((): void => {});

  // What this engine cannot run (accelerators it lacks) is refused before anything is built;
  // what has no meaning on it is said.
  const engineWarnings = checkOnEngine(deps, parsed.apis, request.configFileName);
  const force = request.force === true;
  const credentials = acceptedCredentials(request.credentials);
  // The APIs as this deploy found them: their `createdAt` is the incarnation it may update (see
  // "A delete during a deploy wins").
  const startedFrom = new Map(parsed.apis.map((spec) => [spec.name, store.getApi(spec.name)]));
  // Early checks, so a deploy that will be refused does not build an environment first.
  assertEndpointsFree(store, parsed.apis, request.configFileName);
  if (!force) {
    for (const spec of parsed.apis) {
      const existing = startedFrom.get(spec.name);
      if (changesVersion(deps, request, spec, hashOf(spec), existing, credentials)) {
        assertNotUpdating(deps, existing);
      }
    }
  }

  // Every API of one config shares the project folder, so they share its artifact (locally, its
  // environment). It is made before anything is recorded: a failed build leaves every deployed API
  // as it was.
  let announced = false;
  const artifact = await untilCancelled(
    deps,
    parsed.apis,
    deps.provider.prepare({
      bundle: request.bundle,
      projectDir,
      onProgress: (line) => {
        if (!announced) {
          progress("building Python environment");
          announced = true;
        }
        progress(line);
      },
    }),
  );
  if (announced) progress("Python environment built");

  // From here to the end: no `await`. The checks below and the recording are one atomic stretch.
  if (deps.signal?.aborted === true) throw cancelled(deps, parsed.apis);
  const plans = parsed.apis.map((spec) =>
    planApi(
      deps,
      request,
      spec,
      hashOf(spec),
      artifactFor(planned.get(spec), artifact),
      credentials,
      startedFrom.get(spec.name)?.createdAt,
    ),
  );
  assertEndpointsFree(store, parsed.apis, request.configFileName);
  if (!force) for (const plan of plans) if (plan.changed) assertNotUpdating(deps, plan.existing);

  const results: DeployResult[] = [];
  for (const { spec, hash, existing, changed } of plans) {
    const endpoint = deps.provider.endpointUrl(spec.networking.endpoint);
    const curl = sampleCurl(endpoint, request.projectPath, {
      requiresKey: spec.networking.auth === "api_key",
    });
    const example = curl === null ? {} : { exampleCurl: curl };
    if (!changed) {
      results.push({
        api: spec.name,
        kind: spec.kind,
        outcome: "unchanged",
        message: `${spec.name} (${spec.kind}) is up to date`,
        endpoint,
        ...example,
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
        spec,
        specHash: hash,
        bundle: request.bundle,
        configFile: request.configFileName,
        projectPath: request.projectPath ?? null,
        artifact: artifactFor(planned.get(spec), artifact),
        createdAt,
      },
      spec.kind,
      requested,
    );
    secrets.put(spec.name, credentials);
    const outcome = existing === undefined ? "created" : "updated";
    deps.events.emit({ kind: "deploy.recorded", api: spec.name, versionId, outcome });
    deps.enqueue(spec.name);
    results.push({
      api: spec.name,
      kind: spec.kind,
      outcome,
      message: `${outcome === "created" ? "creating" : "updating"} ${spec.name} (${spec.kind})`,
      endpoint,
      ...example,
    });
  }
  const moved = replacedFromElsewhere(plans, request);
  return { results, warnings: [...plan.warnings, ...engineWarnings, ...moved] };
}

/**
 * A warning for each API this deploy replaced that was last deployed from another project folder:
 * two projects naming an API alike would otherwise overwrite each other without a word.
 */
function replacedFromElsewhere(plans: ApiPlan[], request: DeployRequest): Diagnostic[] {
  const here = request.projectPath;
  if (here === undefined) return [];
  const warnings: Diagnostic[] = [];
  for (const { spec, existing, changed } of plans) {
    const before = existing?.currentVersion.projectPath;
    if (!changed || before == null || before === here) continue;
    warnings.push({
      file: request.configFileName,
      path: `${spec.name}.name`,
      message: `replaced the API ${spec.name} deployed from another folder, ${before} (this deploy is from ${here}); rename the API if both should run (\`axon rollback ${spec.name}\` brings the other back)`,
    });
  }
  return warnings;
}

interface ApiPlan {
  spec: ApiSpec;
  hash: string;
  /** The API as it is now (undefined: this deploy creates it). */
  existing: ApiRecord | undefined;
  /** False when spec, code, environment and credentials are all as deployed: nothing to record. */
  changed: boolean;
}

/** One API's artifact: the project's, with what its config wrote that the spec cannot say. */
function artifactFor(api: PlannedApi | undefined, artifact: Artifact): Artifact {
  return api === undefined ? artifact : localArtifactFor(api, artifact);
}

/** What a deploy does to one API, decided against the store as it is now. */
function planApi(
  deps: DeployDeps,
  request: DeployRequest,
  spec: ApiSpec,
  hash: string,
  artifact: Artifact,
  credentials: Record<string, string>,
  startedFromCreatedAt: string | undefined,
): ApiPlan {
  const existing = deps.store.getApi(spec.name);
  if (startedFromCreatedAt !== undefined && existing?.createdAt !== startedFromCreatedAt) {
    throw new DomainError(
      API_DELETED_DURING_DEPLOY,
      `api ${spec.name} was deleted while this deploy was running; nothing was deployed`,
      {
        status: 409,
        hint: `deploy again to create ${spec.name} anew`,
      },
    );
  }
  const changed =
    changesVersion(deps, request, spec, hash, existing, credentials) ||
    !sameArtifact(existing?.currentVersion.artifact, artifact);
  return { spec, hash, existing, changed };
}

/**
 * Whether deploying `spec` would record a new version of `existing` for what the config, the code
 * and the credentials decide (the environment, known only once built, aside).
 */
function changesVersion(
  deps: DeployDeps,
  request: DeployRequest,
  spec: ApiSpec,
  hash: string,
  existing: ApiRecord | undefined,
  credentials: Record<string, string>,
): boolean {
  return (
    existing === undefined ||
    existing.currentVersion.specHash !== hash ||
    existing.currentVersion.bundle !== request.bundle ||
    deps.secrets.differs(spec.name, credentials)
  );
}

/** Cortex's rule: a change to an API whose current version is still rolling out needs --force. */
function assertNotUpdating(deps: DeployDeps, existing: ApiRecord | undefined): void {
  if (existing === undefined || deps.apiStatus(existing) !== "updating") return;
  // A version that was fully rolled out is not "still rolling out" while its replicas come back
  // after a control-plane restart: only a version that never went live is.
  if (existing.liveVersionId === existing.currentVersion.id) return;
  throw apiUpdating(existing.name, existing.currentVersion.id);
}

/** `work`, unless the client goes away first: then the deploy fails and records nothing. */
async function untilCancelled<T>(deps: DeployDeps, apis: ApiSpec[], work: Promise<T>): Promise<T> {
  const signal = deps.signal;
  if (signal === undefined) return work;
  if (signal.aborted) {
    work.catch(() => {});
    throw cancelled(deps, apis);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      // The environment build itself goes on (it is shared by content and kept for the next
      // deploy); its outcome no longer matters to this deploy.
      work.catch(() => {});
      reject(cancelled(deps, apis));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** The error of a deploy whose client went away; deployed APIs get an event saying nothing changed. */
function cancelled(deps: DeployDeps, apis: ApiSpec[]): DomainError {
  for (const spec of apis) {
    if (deps.store.getApi(spec.name) === undefined) continue;
    deps.events.emit({ kind: DEPLOY_CANCELLED, api: spec.name });
  }
  return new DomainError(
    DEPLOY_CANCELLED,
    "the deploy was cancelled (its client disconnected) before anything was recorded; nothing changed",
    { status: 499 },
  );
}

/** Refuses specs the engine cannot run (every problem at once); returns its warnings. */
function checkOnEngine(deps: DeployDeps, apis: ApiSpec[], file: string): Diagnostic[] {
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  for (const spec of apis) {
    const check = deps.provider.checkSpec(spec);
    errors.push(...check.errors.map((e) => ({ file, path: e.path, message: e.message })));
    warnings.push(...check.warnings.map((w) => ({ file, path: w.path, message: w.message })));
  }
  if (errors.length > 0) {
    throw new DomainError(
      CONFIG_UNSUPPORTED,
      `${file} asks for what this cluster cannot run; nothing was deployed`,
      {
        status: 422,
        diagnostics: errors,
        hint: "change the fields listed, or deploy to an environment that has them",
      },
    );
  }
  return warnings;
}

/** Artifacts are small flat records: equal when every field is. */
function sameArtifact(a: Artifact | undefined, b: Artifact): boolean {
  if (a === undefined) return false;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if (a[key] !== b[key]) return false;
  return true;
}

/** Only the standard AWS settings are accepted as forwarded credentials (BatchAPIs' deploys too). */
export function acceptedCredentials(
  given: Record<string, string> | undefined,
): Record<string, string> {
  if (given === undefined || given === null) return {};
  if (typeof given !== "object")
    throw new DomainError(REQUEST_INVALID, "credentials must be an object of strings");
  const accepted: Record<string, string> = {};
  for (const [name, value] of Object.entries(given)) {
    if (!isForwardedAwsVariable(name) || typeof value !== "string") {
      throw new DomainError(
        REQUEST_INVALID,
        `credentials may only hold AWS settings as strings (got ${name})`,
      );
    }
    accepted[name] = value;
  }
  return accepted;
}

function assertEndpointsFree(store: StateStore, apis: ApiSpec[], fileName: string): void {
  const names = new Set(apis.map((a) => a.name));
  const taken = new Map<string, string>();
  for (const other of store.listApis()) {
    if (names.has(other.name)) continue;
    taken.set(other.currentVersion.spec.networking.endpoint, other.name);
  }
  for (const api of apis) {
    const owner = taken.get(api.networking.endpoint);
    if (owner !== undefined) {
      throw new DomainError(
        CONFIG_ENDPOINT_TAKEN,
        `${fileName}: ${api.name}: networking.endpoint ${api.networking.endpoint} is already used by api ${owner}`,
        {
          hint: `choose another networking.endpoint, or delete ${owner} with \`axon delete ${owner}\``,
        },
      );
    }
  }
}
