/**
 * The local engine: APIs run as replica processes on this machine. The store holds desired state,
 * the reconciler and the local provider converge to it, and every verb here is today's local
 * service behind the `ApiEngine` seam (deploy records a version and enqueues a reconcile; delete
 * forgets the API and reconciles it away; the event bus is the live stream).
 */
import type {
  BatchJobList,
  BatchJobResponse,
  BatchJobSpec,
  BatchJobStopped,
  BatchJobSubmission,
} from "../contract/index.js";
import type { TrafficSplitterSpec } from "@axon/config";
import {
  LOCAL_ENVIRONMENT,
  type DeployResult,
  type TrafficSplitterSummary,
  type ApiKeyCreated,
  type ApiKeyList,
  type ApiKeyRevoked,
  type CreateApiKeyRequest,
  type ApiAutoscaling,
  type ApiDetail,
  type ApiListResponse,
  type ApiVersion,
  type BaselineResponse,
  type DeleteResponse,
  type DeployPreviewResponse,
  type DeployResponse,
  type RollbackResponse,
} from "../contract/index.js";
import type { BundleStore } from "../bundles/bundle-store.js";
import { API_NOT_BATCH, DomainError } from "../errors.js";
import { eventApi } from "../contract/index.js";
import type { EventBus } from "../events/event-sink.js";
import { monitoringOf, type MonitoringLoop } from "../monitoring/monitoring-loop.js";
import type { Provider } from "../providers/provider.js";
import { summarizeApi } from "../reconcile/status.js";
import { acceptedCredentials, deployApis } from "../services/deploy.js";
import { API_NOT_FOUND, describeApi, requireApi } from "../services/describe-api.js";
import { rollbackApi } from "../services/rollback.js";
import { apiKeyNotFound, keyInfo, makeApiKey, notRequiredWarning } from "../keys/api-keys.js";
import type { SecretStore } from "../state/secrets.js";
import type { StateStore } from "../state/store.js";
import {
  apiUsedBySplitter,
  engineNotSupported,
  type ApiEngine,
  type ApiEventFeed,
  type ApiLogStream,
  type DeployRun,
  type DescribeOptions,
} from "./api-engine.js";
import type { DeployedApi, DeployPlan } from "../services/deploy-plan.js";
import { previewLocalDeploy } from "./local-plan.js";
import type { LocalBatchJobs } from "../batch/local-batch-jobs.js";
import { MONITORING_OFF, MONITORING_NO_PREDICTIONS } from "../errors.js";
export { MONITORING_OFF, MONITORING_NO_PREDICTIONS } from "../errors.js";

/**
 * What a local splitter's counts cover: the gateway counts the requests through the splitter's own
 * endpoint in memory (providers/local/traffic-split.ts), so they start at 0 with the control plane
 * and never include a request sent to an API's own endpoint (ECS's target groups do).
 */
const LOCAL_SPLITTER_WINDOW =
  "the splitter's own requests since the control plane started (a request to an api's own endpoint is not counted)";

/** What the local engine works with: the daemon's store, provider, queue and loops. */
export interface LocalEngineDeps {
  store: StateStore;
  bundles: BundleStore;
  provider: Provider;
  secrets: SecretStore;
  events: EventBus;
  enqueue(apiName: string): void;
  /** Reconciles an API now and resolves when done (delete uses it so the 404 is immediate). */
  reconcileNow(apiName: string): Promise<void>;
  /** Prediction monitoring (absent when the engine records no predictions). */
  monitoring?: Pick<MonitoringLoop, "summary" | "pinBaseline" | "prometheus">;
  /** The autoscaler's view of an API (absent when the engine scales by itself). */
  autoscaling?: (apiName: string) => ApiAutoscaling | undefined;
  /** BatchAPIs and their jobs (issue 32; absent: this engine runs none). */
  batch?: LocalBatchJobs;
}

export class LocalEngine implements ApiEngine {
  readonly name = "local";
  readonly environment = LOCAL_ENVIRONMENT;
  readonly #deps: LocalEngineDeps;

  constructor(deps: LocalEngineDeps) {
    this.#deps = deps;
  }

  async deploy(plan: DeployPlan, run: DeployRun): Promise<DeployResponse> {
    // A config of splitters only builds no environment.
    const response =
      plan.apis.length === 0
        ? { results: [], warnings: plan.warnings }
        : await this.#deployApis(plan, run);
    if (plan.batchApis.length > 0) response.results.push(...(await this.#deployBatch(plan, run)));
    // After the APIs: a splitter's route never points at an API not recorded yet (an API still
    // starting answers its share with the gateway's 503 until a replica is ready).
    for (const { spec } of plan.splitters) response.results.push(this.#applySplitter(spec));
    return response;
  }

  /** Records a splitter and routes it: a weight change restarts nothing (no replica, no reconcile). */
  #applySplitter(spec: TrafficSplitterSpec): DeployResult {
    const { store, provider } = this.#deps;
    const outcome = store.putTrafficSplitter(spec);
    provider.splitRouter?.route(spec);
    const kind = "TrafficSplitter";
    const message =
      outcome === "created"
        ? `created ${spec.name} (${kind})`
        : outcome === "updated"
          ? `updated ${spec.name} (${kind})`
          : `${spec.name} (${kind}) is up to date`;
    return {
      api: spec.name,
      kind,
      outcome,
      message,
      endpoint: provider.endpointUrl(spec.endpoint),
    };
  }

  /**
   * Records the config's BatchAPIs with the project's environment (built once per content, so a
   * config that also has realtime APIs reuses theirs); no replica starts.
   */
  async #deployBatch(plan: DeployPlan, run: DeployRun): Promise<DeployResult[]> {
    const batch = this.#batch("deploy");
    // A BatchAPI's job endpoints take no API key: a gateway serving other machines refuses it
    // (unless --insecure-no-auth), as it refuses a realtime API without keys (issue 29).
    try {
      this.#deps.provider.apiKeys?.checkExposure(
        plan.batchApis.map((api) => ({ name: api.spec.name, auth: undefined })),
      );
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      throw new DomainError(error.code, error.message, {
        status: error.status,
        hint: "a BatchAPI's job endpoints take no API key yet: deploy it to a cluster whose gateway listens on 127.0.0.1, or start this one with --insecure-no-auth to serve it to anyone who can reach the address",
        cause: error,
      });
    }
    const artifact = await this.#deps.provider.prepare({
      bundle: plan.request.bundle,
      projectDir: plan.projectDir,
      signal: run.signal,
      ...(run.onProgress === undefined ? {} : { onProgress: run.onProgress }),
    });
    run.signal.throwIfAborted();
    // The caller's AWS settings reach the jobs' workers, as a realtime API's replicas (to read S3).
    const { secrets } = this.#deps;
    const credentials = acceptedCredentials(plan.request.credentials);
    const results = batch.deploy(plan.batchApis, {
      bundle: plan.request.bundle,
      artifact,
      configFileName: plan.request.configFileName,
      projectPath: plan.request.projectPath ?? null,
      credentialsChanged: (name) => secrets.differs(name, credentials),
    });
    for (const { spec } of plan.batchApis) secrets.put(spec.name, credentials);
    return results;
  }

  async #deployApis(plan: DeployPlan, run: DeployRun): Promise<DeployResponse> {
    const deps = this.#deps;
    // A gateway serving other machines takes only APIs that require keys (issue 29).
    deps.provider.apiKeys?.checkExposure(
      plan.apis.map((api) => ({ name: api.spec.name, auth: api.spec.networking.auth })),
    );
    return deployApis(
      {
        store: deps.store,
        bundles: deps.bundles,
        secrets: deps.secrets,
        provider: deps.provider,
        events: deps.events,
        enqueue: (name) => deps.enqueue(name),
        apiStatus: (api) => summarizeApi(api, deps.provider).status,
        signal: run.signal,
        ...(run.onProgress === undefined ? {} : { onProgress: run.onProgress }),
      },
      plan,
    );
  }

  async preview(plan: DeployPlan): Promise<DeployPreviewResponse> {
    const preview = previewLocalDeploy(this.#deps, plan);
    if (plan.batchApis.length === 0) return preview;
    const artifact = this.#deps.provider.previewArtifact?.(plan.projectDir).artifact;
    const batch = this.#batch("deploy --plan").preview(
      plan.batchApis,
      plan.request.bundle,
      artifact,
    );
    return {
      ...preview,
      apis: [...preview.apis, ...batch],
      changes: preview.changes || batch.some((api) => api.outcome !== "unchanged"),
    };
  }

  async list(): Promise<ApiListResponse> {
    const { store, provider } = this.#deps;
    const apis = store.listApis().map((api) => summarizeApi(api, provider));
    const splitters = store.listTrafficSplitters();
    const batchApis = this.#deps.batch?.summaries() ?? [];
    return {
      apis,
      ...(splitters.length === 0
        ? {}
        : { trafficSplitters: splitters.map((record) => this.#summarizeSplitter(record)) }),
      ...(batchApis.length === 0 ? {} : { batchApis }),
    };
  }

  #summarizeSplitter(record: {
    spec: TrafficSplitterSpec;
    updatedAt: string;
  }): TrafficSplitterSummary {
    const { provider } = this.#deps;
    const stats = provider.splitRouter?.stats(record.spec.name);
    const total = stats?.reduce((sum, backend) => sum + backend.requests, 0) ?? 0;
    return {
      name: record.spec.name,
      kind: "TrafficSplitter",
      endpoint: provider.endpointUrl(record.spec.endpoint),
      lastUpdated: record.updatedAt,
      // Said in the field, as ECS says its own, so an `-o json` reader gets one shape on both.
      window: LOCAL_SPLITTER_WINDOW,
      apis: record.spec.apis.map(({ name, weight }) => {
        const counted = stats?.find((backend) => backend.api === name);
        if (counted === undefined) return { name, weight };
        return {
          name,
          weight,
          requests: counted.requests,
          ...(total === 0 ? {} : { share: counted.requests / total }),
          ...(counted.requests === 0 ? {} : { errorRate: counted.errors / counted.requests }),
        };
      }),
    };
  }

  async deployedSplitters(): Promise<TrafficSplitterSpec[]> {
    return this.#deps.store.listTrafficSplitters().map((record) => record.spec);
  }

  async deployedBatchApis(): Promise<DeployedApi[]> {
    return (this.#deps.batch?.apis() ?? []).map((api) => ({
      name: api.name,
      endpoint: api.spec.networking.endpoint,
      specHash: api.specHash,
      bundle: api.bundle,
      version: api.versionId,
      rollingOut: false,
      kind: "BatchAPI" as const,
    }));
  }

  async deployed(): Promise<DeployedApi[]> {
    const { store, provider } = this.#deps;
    return store.listApis().map((api) => ({
      name: api.name,
      endpoint: api.currentVersion.spec.networking.endpoint,
      specHash: api.currentVersion.specHash,
      bundle: api.currentVersion.bundle,
      version: api.currentVersion.id,
      // A version that was fully rolled out is not "still rolling out" while its replicas come
      // back after a control-plane restart: only a version that never went live is.
      rollingOut:
        api.liveVersionId !== api.currentVersion.id &&
        summarizeApi(api, provider).status === "updating",
      spec: api.currentVersion.spec,
    }));
  }

  async describe(name: string, options: DescribeOptions): Promise<ApiDetail> {
    if (this.#deps.store.getTrafficSplitter(name) !== undefined) {
      throw new DomainError(API_NOT_FOUND, `${name} is a TrafficSplitter, not an api`, {
        status: 404,
        // `axon get <splitter>` answers from the list on this 404 (cli/commands/get-once.ts).
        hint: `\`axon get ${name}\` shows its weights and each api's share of its requests and error rate`,
      });
    }
    if (this.#deps.batch?.has(name) === true) {
      throw new DomainError(API_NOT_FOUND, `${name} is a BatchAPI, not a realtime api`, {
        status: 404,
        hint: `\`axon get ${name}\` lists its jobs (GET /v1/apis/${name}/jobs)`,
      });
    }
    const detail = describeApi(this.#deps, name, options);
    const api = this.#deps.store.getApi(name);
    if (api === undefined || !requiresKeys(api)) return detail;
    return { ...detail, apiKeys: await this.listKeys(api.name) };
  }

  async logs(name: string): Promise<ApiLogStream> {
    const { store, provider, batch } = this.#deps;
    if (batch?.has(name) === true) {
      // The BatchAPI's own log: its jobs' lifecycle lines (each job's workers have their own).
      return { name, source: provider.logs, isDeleted: () => !batch.has(name) };
    }
    const api = requireApi(this.#deps, name);
    return {
      name: api.name,
      source: provider.logs,
      isDeleted: () => store.getApi(api.name) === undefined,
    };
  }

  async remove(name: string): Promise<DeleteResponse> {
    const deps = this.#deps;
    if (deps.batch?.has(name) === true) {
      // Its running jobs stop first; their queues and logs go with it, and its credentials.
      await deps.batch.deleteApi(name);
      deps.secrets.delete(name);
      return { message: `deleting ${name}` };
    }
    if (deps.store.getTrafficSplitter(name) !== undefined) {
      deps.store.deleteTrafficSplitter(name);
      deps.provider.splitRouter?.unroute(name);
      return { message: `deleting ${name}` };
    }
    const api = requireApi(deps, name);
    const users = deps.store
      .listTrafficSplitters()
      .filter((splitter) => splitter.spec.apis.some((backend) => backend.name === api.name))
      .map((splitter) => splitter.name);
    if (users.length > 0) throw apiUsedBySplitter(api.name, users);
    deps.store.deleteApi(api.name);
    deps.secrets.delete(api.name);
    deps.events.emit({ kind: "api.deleted", api: api.name });
    // The provider stops its replicas and removes its route and logs.
    await deps.reconcileNow(api.name);
    return { message: `deleting ${api.name}` };
  }

  watch(api: string | undefined): ApiEventFeed {
    const events = this.#deps.events;
    return {
      subscribe: (listener) =>
        events.subscribe((event, time) => {
          if (api === undefined || eventApi(event) === api) listener(event, time);
        }),
    };
  }

  async rollback(name: string, versionId: string | undefined): Promise<RollbackResponse> {
    const deps = this.#deps;
    return rollbackApi(
      { store: deps.store, events: deps.events, enqueue: (api) => deps.enqueue(api) },
      name,
      versionId,
    );
  }

  async versions(name: string): Promise<ApiVersion[]> {
    const api = requireApi(this.#deps, name);
    return this.#deps.store.listVersions(api.name).map((v) => ({
      id: v.id,
      createdAt: v.createdAt,
      specHash: v.specHash,
      bundle: v.bundle,
      liveAt: v.liveAt,
      current: v.id === api.currentVersion.id,
    }));
  }

  async pinBaseline(name: string): Promise<BaselineResponse> {
    const api = requireApi(this.#deps, name);
    const monitoring = this.#deps.monitoring;
    if (monitoring === undefined || monitoringOf(api) === undefined) {
      throw new DomainError(MONITORING_OFF, `${api.name} has no monitoring to pin a baseline for`, {
        hint: "add `monitoring: {model_type: classification}` (or regression, with `key` for a field of the response) to its config and deploy",
      });
    }
    const tally = monitoring.pinBaseline(api, new Date());
    if (tally.count === 0) {
      throw new DomainError(
        MONITORING_NO_PREDICTIONS,
        `${api.name} has made no prediction in the last hour to pin`,
        { hint: "send it some traffic, then pin the baseline" },
      );
    }
    return {
      message: `pinned ${tally.count} predictions of ${api.name} (the last hour of version ${api.currentVersion.id}) as its baseline`,
      predictions: tally.count,
    };
  }

  async createKey(name: string, request: CreateApiKeyRequest): Promise<ApiKeyCreated> {
    const { store, provider } = this.#deps;
    const api = requireApi(this.#deps, name);
    const { key, record } = makeApiKey(request, new Date());
    store.addApiKey(api.name, record);
    // The gateway re-reads now: the key works at once, not after the next 30 s read.
    await provider.apiKeys?.changed(api.name);
    return {
      message: `created key ${record.id} for ${api.name}; it is shown only now, keep it somewhere safe`,
      key,
      info: keyInfo(record),
      ...(requiresKeys(api) ? {} : { warning: notRequiredWarning(api.name) }),
    };
  }

  async listKeys(name: string): Promise<ApiKeyList> {
    const { store, provider } = this.#deps;
    const api = requireApi(this.#deps, name);
    const usage = provider.apiKeys?.usage(api.name);
    const seen = new Map(usage?.keys.map((k) => [k.id, k]));
    return {
      api: api.name,
      required: requiresKeys(api),
      keys: store.listApiKeys(api.name).map((row) => {
        const used = seen.get(row.id);
        const lastUsedAt =
          used?.lastUsedAt === null || used?.lastUsedAt === undefined
            ? row.lastUsedAt
            : new Date(used.lastUsedAt).toISOString();
        return {
          ...keyInfo(row, lastUsedAt),
          ...(used === undefined ? {} : { requests: used.requests, refused: used.refused }),
        };
      }),
      ...(usage === undefined ? {} : { unauthorized: usage.unauthorized }),
    };
  }

  async revokeKey(name: string, id: string): Promise<ApiKeyRevoked> {
    const { store, provider } = this.#deps;
    const api = requireApi(this.#deps, name);
    if (!store.deleteApiKey(api.name, id)) throw apiKeyNotFound(api.name, id);
    await provider.apiKeys?.changed(api.name);
    return { message: `revoked key ${id} of ${api.name}; requests with it now get 401`, id };
  }
  // Batch jobs (issue 32): the same object serves these verbs and the gateway's data plane.
  async submitJob(name: string, submission: BatchJobSubmission): Promise<BatchJobSpec> {
    return this.#batch("submit", name).submit(name, submission);
  }

  async listJobs(name: string): Promise<BatchJobList> {
    return this.#batch("get", name).list(name);
  }

  async getJob(name: string, jobId: string): Promise<BatchJobResponse> {
    return this.#batch("get", name).get(name, jobId);
  }

  async stopJob(name: string, jobId: string): Promise<BatchJobStopped> {
    return this.#batch("delete", name).stop(name, jobId);
  }

  async jobLogs(name: string, jobId: string): Promise<ApiLogStream> {
    const batch = this.#batch("logs", name);
    const { name: api, source } = batch.logSource(name, jobId);
    return { name: api, source, isDeleted: () => !batch.has(api) };
  }

  /** The batch jobs, for `verb` on the BatchAPI `api` (a RealtimeAPI of that name is refused). */
  #batch(verb: string, api?: string): LocalBatchJobs {
    const batch = this.#deps.batch;
    if (batch === undefined) {
      throw engineNotSupported(
        this,
        `${verb} (batch jobs)`,
        "this control plane runs no batch jobs (its engine has no local workers)",
      );
    }
    if (api !== undefined && !batch.has(api) && this.#deps.store.getApi(api) !== undefined) {
      throw new DomainError(
        API_NOT_BATCH,
        `${api} is a RealtimeAPI: jobs are submitted to a BatchAPI (axon ${verb} acts on jobs)`,
        { status: 400, hint: `send ${api} requests instead (axon predict ${api} payload.json)` },
      );
    }
    return batch;
  }
}

/** Whether the API's current version requires keys (older stored specs have no `auth`). */
function requiresKeys(api: {
  currentVersion: { spec: { networking: { auth?: string } } };
}): boolean {
  return api.currentVersion.spec.networking.auth === "api_key";
}
