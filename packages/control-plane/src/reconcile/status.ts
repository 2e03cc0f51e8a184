/**
 * API status from desired state and observed replicas, in Cortex's order: enough up-to-date ready
 * replicas → live; a failing current version → error; at least min_replicas ready → live; else
 * updating. A rollout that was rolled back automatically is an error (saying which version
 * failed, why, and which one serves) until the next deploy.
 */
import type { ApiStatus, ApiSummary, ReplicaCounts } from "../contract/index.js";
import { summarizeMetrics } from "../metrics/api-metrics.js";
import type { Provider } from "../providers/provider.js";
import type { ApiRecord } from "../state/store.js";

export function summarizeApi(
  api: ApiRecord,
  provider: Pick<Provider, "observe" | "endpointUrl" | "metrics" | "lastStartMs">,
): ApiSummary {
  const spec = api.currentVersion.spec;
  const observed = provider.observe(api.name);
  const replicas = observed.replicas.filter((r) => r.phase !== "stopping");
  const current = replicas.filter((r) => r.versionId === api.currentVersion.id);
  const failure = observed.failure;
  const failing = failure !== undefined && failure.versionId === api.currentVersion.id;

  const upToDate = current.filter((r) => r.phase === "ready").length;
  const counts: ReplicaCounts = {
    requested: api.requested,
    upToDate,
    stale: replicas.filter((r) => r.versionId !== api.currentVersion.id && r.phase === "ready")
      .length,
    initializing: failing ? 0 : current.filter((r) => r.phase === "starting").length,
    failed: failing ? Math.max(1, api.requested - upToDate) : 0,
  };

  let status: ApiStatus;
  let statusMessage: string | undefined;
  if (upToDate >= api.requested) status = "live";
  else if (counts.failed > 0) {
    status = "error";
    statusMessage = `${failure?.message ?? "replicas fail"}; run \`axon logs ${api.name}\``;
    if (counts.stale > 0) statusMessage += "; the previous version keeps serving";
  } else if (upToDate >= spec.autoscaling.min_replicas) status = "live";
  else status = "updating";
  // The live version coming back (after a control-plane restart) is not a rollout: the API keeps
  // the status it had, and says its replicas are starting (readers that need an answering API,
  // such as `deploy --wait`, look at the ready count too). A crash is not this: it is an error.
  if (status === "updating" && api.liveVersionId === api.currentVersion.id) {
    status = "live";
    statusMessage = `version ${api.currentVersion.id} is live; its replicas are starting again (${upToDate} of ${api.requested} ready)`;
  }
  // An automatic rollback is an error until the next deploy, even while the old version serves.
  const rolledBack = api.rolledBack;
  if (rolledBack !== null && status !== "error") {
    status = "error";
    statusMessage =
      `version ${rolledBack.failedVersionId} was rolled back: ${rolledBack.reason}; ` +
      `version ${api.currentVersion.id} is serving; run \`axon logs ${api.name}\``;
  }

  const summary: ApiSummary = {
    name: api.name,
    kind: "RealtimeAPI",
    status,
    replicas: counts,
    lastUpdated: api.updatedAt,
    endpoint: provider.endpointUrl(spec.networking.endpoint),
  };
  // Scale to zero: an API at zero replicas is live (its next request starts one), and says so.
  if (api.requested === 0 && spec.autoscaling.min_replicas === 0 && status === "live") {
    const startMs = provider.lastStartMs?.(api.name);
    const starts =
      startMs === undefined
        ? "starts on request"
        : `starts in ~${Math.max(1, Math.round(startMs / 1000))}s on request`;
    statusMessage = `idle (0 replicas, ${starts})`;
    summary.idle = startMs === undefined ? {} : { startSeconds: Math.round(startMs / 100) / 10 };
  }
  if (statusMessage !== undefined) summary.statusMessage = statusMessage;
  const metrics = provider.metrics;
  if (metrics !== undefined) {
    let inFlight = 0;
    for (const r of metrics.replicaMetrics()) if (r.apiName === api.name) inFlight += r.inFlight;
    summary.metrics = summarizeMetrics(metrics.apiRequestStats(api.name), inFlight);
  }
  return summary;
}
