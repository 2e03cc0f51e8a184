/**
 * What the control plane has to say, as typed events: one union that the daemon log, the state
 * store's per-API events, the API log files and (later) the NDJSON streams and ink views all read.
 * Core code emits these to an injected sink and never prints; `describeEvent` is the one place that
 * turns an event into words, so every reader says the same thing.
 *
 * Names are `noun.past-participle` (what happened), fields are data, not prose: a view may render
 * `replica.ready` as a green tick and the log as a sentence.
 */

/** Events about one API carry its name; daemon-wide events have none. */
export type ControlPlaneEvent =
  | {
      kind: "daemon.started";
      version: string;
      apiUrl: string;
      engine: string;
      endpointBaseUrl: string;
      detail: string;
    }
  | { kind: "daemon.stopping"; reason: string }
  | { kind: "daemon.stopped" }
  | { kind: "daemon.warning"; message: string }
  /** The gateway's TLS certificate was read again (SIGHUP) and serves new connections. */
  | { kind: "gateway.tls_reloaded"; certFile: string; fingerprint256: string; validTo: string }
  | { kind: "deploy.recorded"; api: string; versionId: string; outcome: "created" | "updated" }
  | { kind: "deploy.cancelled"; api: string }
  | { kind: "api.deleted"; api: string }
  | {
      kind: "rollout.started";
      api: string;
      versionId: string;
      replicas: number;
      maxSurge: string;
      maxUnavailable: string;
    }
  | { kind: "rollout.finished"; api: string; versionId: string; seconds: number }
  | {
      kind: "rollout.rolled_back";
      api: string;
      versionId: string;
      toVersionId: string;
      reason: string;
    }
  | { kind: "rollback.requested"; api: string; fromVersionId: string; toVersionId: string }
  | { kind: "api.scaled"; api: string; from: number; to: number; because: string }
  | { kind: "api.resumed"; api: string; versionId: string; replicas: number }
  | { kind: "api.recovered"; api: string; versionId: string; replicas: number; seconds: number }
  | { kind: "reconcile.failed"; api: string; message: string }
  | { kind: "monitoring.shifted"; api: string; versionId: string; message: string }
  | { kind: "monitoring.stable"; api: string; versionId: string; message: string }
  | {
      kind: "replica.starting";
      api: string;
      replicaId: string;
      versionId: string;
      pids: number[];
    }
  | { kind: "replica.ready"; api: string; replicaId: string; seconds: number }
  | { kind: "replica.failed"; api: string; replicaId: string; versionId: string; reason: string }
  | { kind: "replica.stopped"; api: string; replicaId: string }
  | { kind: "worker.orphan_stopped"; api: string; replicaId: string; pid: number }
  | { kind: "environment.built"; key: string; seconds: number }
  | { kind: "environment.build_failed"; message: string }
  | { kind: "environment.removed"; key: string }
  | { kind: "environment.cleanup_failed"; message: string }
  | { kind: "bundle.removed"; sha256: string; bytes: number }
  | { kind: "bundle.cleanup_failed"; message: string }
  | {
      kind: "request.failed";
      /** The id the 500 response names, to find this line from what the client saw. */
      requestId: string;
      method: string;
      url: string;
      /** The error's message, then each `cause` in turn. */
      cause: string;
      /** Where it was thrown (the first frame of its stack), when known. */
      at?: string;
    }
  | {
      kind: "cluster.resource_updated";
      /** The environment (an AWS cluster) whose stack changed. */
      env: string;
      logicalId: string;
      resourceType: string;
      status: string;
      reason?: string;
    }
  | { kind: "cluster.created"; env: string; stackName: string; region: string; seconds: number }
  | { kind: "cluster.deleted"; env: string; stackName: string; region: string; seconds: number }
  | { kind: "cluster.failed"; env: string; stackName: string; message: string };

export type ControlPlaneEventKind = ControlPlaneEvent["kind"];

export type EventLevel = "info" | "warning" | "error";

/** The API an event is about, if any. */
export function eventApi(event: ControlPlaneEvent): string | undefined {
  return "api" in event ? event.api : undefined;
}

/** An event in words, with how serious it is: the one formatting every reader shares. */
export function describeEvent(event: ControlPlaneEvent): { level: EventLevel; message: string } {
  switch (event.kind) {
    case "daemon.started":
      return {
        level: "info",
        message: `control plane ${event.version} running: api ${event.apiUrl}, gateway ${event.endpointBaseUrl} (${event.engine}), ${event.detail}`,
      };
    case "daemon.stopping":
      return { level: "info", message: `stopping: ${event.reason}` };
    case "daemon.stopped":
      return { level: "info", message: "stopped" };
    case "daemon.warning":
      return { level: "warning", message: `warning: ${event.message}` };
    case "gateway.tls_reloaded":
      return {
        level: "info",
        message: `gateway certificate reloaded from ${event.certFile}: SHA-256 ${event.fingerprint256}, valid to ${event.validTo}`,
      };
    case "deploy.recorded":
      return {
        level: "info",
        message: `${event.outcome === "created" ? "created" : "updated to"} version ${event.versionId}`,
      };
    case "deploy.cancelled":
      return {
        level: "warning",
        message:
          "a deploy was cancelled before it was recorded (its client disconnected); nothing changed",
      };
    case "api.deleted":
      return { level: "info", message: "deleted" };
    case "rollout.started":
      return {
        level: "info",
        message: `rolling out version ${event.versionId} to ${event.replicas} replica${event.replicas === 1 ? "" : "s"} (max_surge ${event.maxSurge}, max_unavailable ${event.maxUnavailable})`,
      };
    case "rollout.finished":
      return {
        level: "info",
        message: `version ${event.versionId} is live (rolled out in ${event.seconds.toFixed(1)}s)`,
      };
    case "rollout.rolled_back":
      return {
        level: "error",
        message: `version ${event.versionId} rolled back to ${event.toVersionId}: ${event.reason}`,
      };
    case "rollback.requested":
      return {
        level: "info",
        message: `rolling back from version ${event.fromVersionId} to ${event.toVersionId}`,
      };
    case "api.scaled":
      return {
        level: "info",
        message: `scaled ${event.to > event.from ? "up" : "down"} ${event.from} → ${event.to}: ${event.because}`,
      };
    case "api.resumed":
      return {
        level: "info",
        message: `control plane restarted; bringing back version ${event.versionId} with ${event.replicas} replica${event.replicas === 1 ? "" : "s"}`,
      };
    case "api.recovered":
      return {
        level: "info",
        message: `back after the restart: version ${event.versionId}, ${event.replicas} replica${event.replicas === 1 ? "" : "s"} ready (${event.seconds.toFixed(1)}s)`,
      };
    case "monitoring.shifted":
      return { level: "warning", message: `predictions ${event.message}` };
    case "monitoring.stable":
      return { level: "info", message: `predictions back to ${event.message}` };
    case "reconcile.failed":
      return { level: "error", message: `reconcile failed: ${event.message}` };
    case "replica.starting":
      return {
        level: "info",
        message: `replica ${event.replicaId} starting (version ${event.versionId}, worker pids ${event.pids.join(", ")})`,
      };
    case "replica.ready":
      return {
        level: "info",
        message: `replica ${event.replicaId} is ready (${event.seconds.toFixed(1)}s)`,
      };
    case "replica.failed":
      return { level: "error", message: `replica ${event.replicaId} failed: ${event.reason}` };
    case "replica.stopped":
      return { level: "info", message: `replica ${event.replicaId} stopped` };
    case "worker.orphan_stopped":
      return {
        level: "warning",
        message: `stopped orphaned worker pid ${event.pid} of ${event.api} (replica ${event.replicaId})`,
      };
    case "environment.built":
      return {
        level: "info",
        message: `Python environment ${event.key} built (${event.seconds.toFixed(1)}s)`,
      };
    case "environment.build_failed":
      return { level: "error", message: `Python environment build failed: ${event.message}` };
    case "environment.removed":
      return { level: "info", message: `removed unused Python environment ${event.key}` };
    case "environment.cleanup_failed":
      return { level: "warning", message: `environment clean-up failed: ${event.message}` };
    case "bundle.removed":
      return {
        level: "info",
        message: `removed unused bundle ${event.sha256.slice(0, 12)} and its project (${(event.bytes / 1048576).toFixed(1)} MiB)`,
      };
    case "bundle.cleanup_failed":
      return { level: "warning", message: `bundle clean-up failed: ${event.message}` };
    case "request.failed":
      return {
        level: "error",
        message: `request ${event.requestId} (${event.method} ${event.url}) failed with 500: ${event.cause}${event.at === undefined ? "" : ` ${event.at}`}`,
      };
    case "cluster.resource_updated":
      return {
        level: event.status.endsWith("_FAILED") ? "error" : "info",
        message: `${event.env}: ${event.logicalId} (${event.resourceType}) ${event.status}${event.reason === undefined ? "" : `: ${event.reason}`}`,
      };
    case "cluster.created":
      return {
        level: "info",
        message: `${event.env}: stack ${event.stackName} created in ${event.region} (${event.seconds.toFixed(0)}s)`,
      };
    case "cluster.deleted":
      return {
        level: "info",
        message: `${event.env}: stack ${event.stackName} deleted from ${event.region} (${event.seconds.toFixed(0)}s)`,
      };
    case "cluster.failed":
      return {
        level: "error",
        message: `${event.env}: stack ${event.stackName}: ${event.message}`,
      };
  }
}
