/**
 * Request metrics as the control plane exposes them: the Prometheus text of `GET /metrics` and
 * the per-API summary in `ApiSummary.metrics` (what `axon get` shows). The numbers come from the
 * replica fronts (`replica/metrics.ts`); a provider that has them offers a MetricsSource.
 */
import type { ApiMetrics } from "../contract/index.js";
import {
  emptyStats,
  LATENCY_BUCKETS_MS,
  latencyQuantileMs,
  mergeStats,
  type RequestStats,
  STATUS_CLASSES,
} from "../replica/metrics.js";

/** One live replica's numbers. */
export interface ReplicaMetricsView {
  apiName: string;
  replicaId: string;
  inFlight: number;
  stats: RequestStats;
}

/** What a provider offers when it can report request metrics. */
export interface MetricsSource {
  /** Every live replica, any API. */
  replicaMetrics(): ReplicaMetricsView[];
  /** All requests an API's replicas answered since the control plane started (live and gone). */
  apiRequestStats(apiName: string): RequestStats;
  /** APIs that have request totals (with or without live replicas). */
  metricApiNames(): string[];
  /**
   * The in-flight samples (one a second) of each of an API's replicas since `sinceEpochMs`, for
   * the autoscaler (`averageInFlight` turns them into the API-wide average).
   */
  inFlightSamples(apiName: string, sinceEpochMs: number): number[][];
}

/** The `ApiSummary.metrics` of an API: request counts by class, mean and p99 latency, in-flight. */
export function summarizeMetrics(stats: RequestStats, inFlight: number): ApiMetrics {
  const p99 = latencyQuantileMs(stats, 0.99);
  return {
    requests: {
      "2XX": stats.statusClasses["2XX"],
      "4XX": stats.statusClasses["4XX"],
      "5XX": stats.statusClasses["5XX"],
    },
    avgLatencyMs: stats.count === 0 ? null : round(stats.latencySumMs / stats.count),
    p99LatencyMs: p99 === null ? null : round(p99),
    inFlight,
  };
}

/** Folds one replica's final numbers into the running totals of its API. */
export function addToTotals(
  totals: Map<string, RequestStats>,
  apiName: string,
  stats: RequestStats,
): void {
  totals.set(apiName, mergeStats(totals.get(apiName) ?? emptyStats(), stats));
}

/**
 * Prometheus text exposition (format 0.0.4) of every live replica's counters, latency histogram
 * and in-flight gauge, plus per-API request totals that survive replica replacement.
 */
export function renderPrometheus(source: MetricsSource | null): string {
  const replicas = source === null ? [] : source.replicaMetrics();
  const apiNames =
    source === null
      ? []
      : [...new Set([...replicas.map((r) => r.apiName), ...source.metricApiNames()])].sort();
  const lines: string[] = [];

  lines.push(
    "# HELP axon_in_flight_requests Requests a replica has admitted and not yet answered (executing or queued).",
    "# TYPE axon_in_flight_requests gauge",
  );
  for (const r of replicas) {
    lines.push(`axon_in_flight_requests{${labels(r)}} ${r.inFlight}`);
  }

  lines.push(
    "# HELP axon_requests_total Requests a replica answered, by status class.",
    "# TYPE axon_requests_total counter",
  );
  for (const r of replicas) {
    for (const cls of STATUS_CLASSES) {
      const count = r.stats.statusClasses[cls];
      if (count > 0 || cls === "2XX") {
        lines.push(`axon_requests_total{${labels(r)},code="${cls}"} ${count}`);
      }
    }
  }

  lines.push(
    "# HELP axon_request_duration_seconds Time from admission to response, per replica.",
    "# TYPE axon_request_duration_seconds histogram",
  );
  for (const r of replicas) {
    let cumulative = 0;
    for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) {
      cumulative += r.stats.latencyBuckets[i] ?? 0;
      const le = formatNumber((LATENCY_BUCKETS_MS[i] ?? 0) / 1000);
      lines.push(`axon_request_duration_seconds_bucket{${labels(r)},le="${le}"} ${cumulative}`);
    }
    lines.push(`axon_request_duration_seconds_bucket{${labels(r)},le="+Inf"} ${r.stats.count}`);
    lines.push(
      `axon_request_duration_seconds_sum{${labels(r)}} ${formatNumber(r.stats.latencySumMs / 1000)}`,
    );
    lines.push(`axon_request_duration_seconds_count{${labels(r)}} ${r.stats.count}`);
  }

  lines.push(
    "# HELP axon_api_requests_total Requests an API answered since the control plane started, all replicas past and present, by status class.",
    "# TYPE axon_api_requests_total counter",
  );
  if (source !== null) {
    for (const apiName of apiNames) {
      const stats = source.apiRequestStats(apiName);
      for (const cls of STATUS_CLASSES) {
        const count = stats.statusClasses[cls];
        if (count > 0 || cls === "2XX") {
          lines.push(
            `axon_api_requests_total{api="${escapeLabel(apiName)}",code="${cls}"} ${count}`,
          );
        }
      }
    }
  }
  return `${lines.join("\n")}\n`;
}

function labels(r: ReplicaMetricsView): string {
  return `api="${escapeLabel(r.apiName)}",replica="${escapeLabel(r.replicaId)}"`;
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(12)));
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
