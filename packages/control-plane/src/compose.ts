/**
 * Composition: which store, which provider, which readers of the event bus, and how the reconcile
 * queue is wired to them. The only file that names the local provider; the daemon's lifecycle
 * (`daemon.ts`) starts and stops what this returns without knowing which engine it is.
 */
import path from "node:path";
import { AutoscalerLoop } from "./autoscaler/autoscaler-loop.js";
import { MonitoringLoop } from "./monitoring/monitoring-loop.js";
import { BundleStore } from "./bundles/bundle-store.js";
import { EventBus, type EventSink, type EventSubscriber } from "./events/event-sink.js";
import type { Provider } from "./providers/provider.js";
import { ApiLogs } from "./providers/local/api-logs.js";
import type { GatewayTls } from "./providers/local/gateway-tls.js";
import { LocalProvider } from "./providers/local/local-provider.js";
import type { PythonChoice } from "./providers/local/python-interpreter.js";
import { makeApiReconciler } from "./reconcile/api-reconciler.js";
import { WorkQueue } from "./reconcile/work-queue.js";
import { SecretStore } from "./state/secrets.js";
import { PredictionStore } from "./state/prediction-store.js";
import { storeEventSubscriber } from "./state/store-events.js";
import { StateStore } from "./state/store.js";
import { BatchJobStore } from "./batch/job-store.js";
import { LocalBatchJobs } from "./batch/local-batch-jobs.js";
import { connectAws, resolveAwsRegion } from "./providers/aws/sdk.js";

export const STATE_FILE = "state.db";
/** A reconcile that takes longer is aborted (its signal fires) and retried with backoff. */
const RECONCILE_TIMEOUT_MS = 30 * 60_000;

export interface CompositionOptions {
  home: string;
  gatewayPort: number;
  /** Where the gateway listens (default 127.0.0.1; `--listen`, gateway-exposure.ts). */
  gatewayHost?: string;
  /** `--insecure-no-auth`: APIs without keys may be served beyond loopback. */
  insecureNoAuth?: boolean;
  /** `--tls-cert/--tls-key`: the gateway serves HTTPS with this certificate (gateway-tls.ts). */
  gatewayTls?: GatewayTls;
  python: PythonChoice;
  isolatedEnvironments: boolean;
  envGcGraceMs: number;
  /** Aborted when the daemon stops (environment builds in progress end). */
  stopSignal: AbortSignal;
  /** Reads every event, after the store and the API log files (the daemon log). */
  onEvent: EventSubscriber;
  /** How long a rollout may take before it is rolled back (`AXON_ROLLOUT_TIMEOUT`). */
  rolloutTimeoutMs?: number;
  /** How long prediction buckets are kept (`AXON_MONITORING_RETENTION`, default 7 days). */
  monitoringRetentionMs?: number;
  /**
   * The engine; the local provider when absent. Tests pass a provider that works the way a managed
   * engine does, to prove that nothing above the provider assumes local processes.
   */
  provider?: ProviderFactory;
}

/** What a provider may be built from. */
export interface ProviderDeps {
  home: string;
  events: EventSink;
  bundles: BundleStore;
}

export type ProviderFactory = (deps: ProviderDeps) => Provider;

export interface ControlPlane {
  events: EventBus;
  store: StateStore;
  bundles: BundleStore;
  secrets: SecretStore;
  provider: Provider;
  queue: WorkQueue;
  /** Runs the autoscaler every AUTOSCALER_TICK_MS (absent: the engine scales by itself). */
  autoscaler: AutoscalerLoop | undefined;
  /** Prediction monitoring's buckets (closed with the store). */
  predictions: PredictionStore;
  /** Drains predictions and checks drift (absent: the engine records none). */
  monitoring: MonitoringLoop | undefined;
  /** BatchAPIs and their jobs (issue 32), on the local provider's workers; absent otherwise. */
  batch: LocalBatchJobs | undefined;
  /** The batch queue's tables of the state database (closed with the store). */
  batchStore: BatchJobStore;
}

export function composeControlPlane(options: CompositionOptions): ControlPlane {
  const { home } = options;
  // A reader that fails (a full disk under the log files) must not fail the work that reported.
  const events = new EventBus((error) =>
    process.stderr.write(
      `an event reader failed: ${error instanceof Error ? error.message : String(error)}\n`,
    ),
  );
  const store = StateStore.open(path.join(home, STATE_FILE));
  const bundles = new BundleStore(home, store);
  const secrets = new SecretStore(home);
  events.subscribe(storeEventSubscriber(store));
  let provider: Provider;
  let batch: LocalBatchJobs | undefined;
  const batchStore = BatchJobStore.open(path.join(home, STATE_FILE));
  if (options.provider === undefined) {
    const logs = new ApiLogs(home);
    const local = new LocalProvider({
      home,
      projectDir: (bundle) => bundles.unpack(bundle),
      events,
      logs,
      python: options.python,
      gatewayPort: options.gatewayPort,
      isolatedEnvironments: options.isolatedEnvironments,
      envGcGraceMs: options.envGcGraceMs,
      stopSignal: options.stopSignal,
      apiKeys: store,
      ...(options.gatewayHost === undefined ? {} : { gatewayHost: options.gatewayHost }),
      ...(options.insecureNoAuth === true ? { insecureNoAuth: true } : {}),
      ...(options.gatewayTls === undefined ? {} : { gatewayTls: options.gatewayTls }),
    });
    provider = local;
    events.subscribe(logs.subscriber());
    const s3Clients = new Map<string, ReturnType<typeof connectAws>>();
    batch = new LocalBatchJobs({
      store: batchStore,
      launch: (request) => local.batchWorkerLaunch(request),
      logs,
      secretEnv: (apiName) => secrets.get(apiName),
      // S3 sources are listed as the API's workers would read them: with the deploying shell's
      // AWS settings (AWS_ENDPOINT_URL for moto included), else the daemon's default chain. With
      // no region anywhere, us-east-1 (S3's default endpoint); a bucket elsewhere then answers a
      // redirect, or a 400 in a Region launched after March 20, 2019
      // (https://docs.aws.amazon.com/AmazonS3/latest/API/UsingRouting.html), which the job's
      // status_message shows with s3-items.ts's hint to check the region.
      s3: async (apiName) => {
        const settings = secrets.get(apiName);
        const region = (await resolveAwsRegion(undefined, settings)) ?? "us-east-1";
        // One set of clients per distinct settings, kept: a client holds its connections open.
        const key = JSON.stringify([region, settings]);
        let ports = s3Clients.get(key);
        if (ports === undefined) {
          ports = connectAws(region, settings);
          s3Clients.set(key, ports);
          ports.catch(() => s3Clients.delete(key));
        }
        return (await ports).s3;
      },
      endpointUrl: (endpoint) => local.endpointUrl(endpoint),
      routes: local.gateway,
      outputDir: (apiName, jobId) => path.join(home, "batch", apiName, jobId),
      holdBundle: (sha256) => bundles.hold(sha256),
    });
  } else {
    provider = options.provider({ home, events, bundles });
  }
  events.subscribe(options.onEvent);

  // What this daemon finds in the store is coming back after a restart: say so, then say when
  // each API is back.
  const resuming = new Set<string>();
  for (const api of store.listApis()) {
    resuming.add(api.name);
    events.emit({
      kind: "api.resumed",
      api: api.name,
      versionId: api.currentVersion.id,
      replicas: api.requested,
    });
  }
  const reconcileApi = makeApiReconciler({
    store,
    secrets,
    provider,
    events,
    resuming,
    ...(options.rolloutTimeoutMs === undefined
      ? {}
      : { rolloutTimeoutMs: options.rolloutTimeoutMs }),
  });
  const queue = new WorkQueue(reconcileApi, {
    timeoutMs: RECONCILE_TIMEOUT_MS,
    onError: (key, error) =>
      events.emit({
        kind: "reconcile.failed",
        api: key,
        message: error instanceof Error ? error.message : String(error),
      }),
  });
  provider.onChange((apiName) => queue.add(apiName));
  // The control plane autoscales where the engine reports in-flight samples (locally); a managed
  // engine scales by itself.
  const metrics = provider.metrics;
  const autoscaler =
    metrics === undefined
      ? undefined
      : new AutoscalerLoop({ store, metrics, events, enqueue: (name) => queue.add(name) });
  const predictionSource = provider.predictions;
  const predictions = PredictionStore.open(path.join(home, STATE_FILE));
  const monitoring =
    predictionSource === undefined
      ? undefined
      : new MonitoringLoop({
          store,
          predictions,
          source: predictionSource,
          events,
          ...(options.monitoringRetentionMs === undefined
            ? {}
            : { retentionMs: options.monitoringRetentionMs }),
        });
  return {
    events,
    store,
    bundles,
    secrets,
    provider,
    queue,
    autoscaler,
    predictions,
    monitoring,
    batch,
    batchStore,
  };
}
