/**
 * Prediction monitoring in the control plane: every FLUSH_INTERVAL_MS the replicas' tallies are
 * drained into one-minute buckets per API and version (durable: a `kill -9` loses at most the last
 * few seconds); every minute old buckets are pruned and each API's drift is checked — the recent
 * hour of the current version against its baseline (pinned with `axon monitor baseline`, else the
 * version's first `baselineSize` predictions) — and a crossing of the threshold is an event. The
 * summary `axon get <api>` shows is read from the buckets.
 */
import type { MonitoringSpec } from "@axon/config";
import type { ApiMonitoring } from "../contract/index.js";
import type { EventSink } from "../events/event-sink.js";
import {
  emptyTally,
  mergeTally,
  type ModelType,
  type PredictionTally,
} from "../replica/prediction-recorder.js";
import { QuantileSketch } from "../replica/quantile-sketch.js";
import {
  minuteOf,
  type PredictionBucket,
  type PredictionStore,
} from "../state/prediction-store.js";
import type { ApiRecord, StateStore } from "../state/store.js";
import type { DriftVerdict } from "./drift.js";
import { DEFAULT_BASELINE_SIZE, DRIFT_WINDOW_MS, driftVerdict, summarize } from "./summary.js";

export { DEFAULT_BASELINE_SIZE } from "./summary.js";
export const FLUSH_INTERVAL_MS = 5_000;
export const DEFAULT_RETENTION_MS = 7 * 24 * 3_600_000;

/** What the engine hands over: each replica's tally since the last drain, by version. */
export interface PredictionSource {
  drainPredictions(apiName: string): Array<{ versionId: string; tally: PredictionTally }>;
}

export interface MonitoringLoopDeps {
  store: Pick<StateStore, "listApis" | "getApi">;
  predictions: PredictionStore;
  source: PredictionSource;
  events: EventSink;
  retentionMs?: number;
  baselineSize?: number;
  threshold?: number;
}

/** The monitoring an API's spec asks for, if any (a model type is needed to tally). */
export function monitoringOf(
  api: ApiRecord,
): { modelType: ModelType; key: string | null } | undefined {
  const spec: MonitoringSpec | null = api.currentVersion.spec.monitoring;
  if (spec === null || spec.model_type === null) return undefined;
  return { modelType: spec.model_type, key: spec.key };
}

export class MonitoringLoop {
  readonly #deps: MonitoringLoopDeps;
  /** Whether each API was last found shifted (to tell crossings, not every minute). */
  readonly #shifted = new Map<string, boolean>();
  /** Every prediction since the daemon started, by API and version (for `/metrics`). */
  readonly #totals = new Map<string, Map<string, PredictionTally>>();

  constructor(deps: MonitoringLoopDeps) {
    this.#deps = deps;
  }

  /** Drains every monitored API's replicas into the current minute's bucket. */
  flush(now: Date): void {
    const minute = minuteOf(now);
    for (const api of this.#deps.store.listApis()) {
      if (monitoringOf(api) === undefined) continue;
      for (const { versionId, tally } of this.#deps.source.drainPredictions(api.name)) {
        this.#deps.predictions.add(api.name, versionId, minute, tally);
        const versions = this.#totals.get(api.name) ?? new Map<string, PredictionTally>();
        this.#totals.set(api.name, versions);
        versions.set(
          versionId,
          mergeTally(versions.get(versionId) ?? emptyTally(tally.modelType), tally),
        );
      }
    }
  }

  /**
   * Prometheus text for `/metrics`: `axon_predictions_total{api,version,class}` for classifiers,
   * and an `axon_prediction_value` histogram (from the sketch) for regressors, since the daemon
   * started.
   */
  prometheus(): string {
    const lines = [
      "# HELP axon_predictions_total Predictions an API answered since the control plane started, by class (monitoring: classification).",
      "# TYPE axon_predictions_total counter",
    ];
    const histograms: string[] = [
      "# HELP axon_prediction_value Values an API predicted since the control plane started (monitoring: regression).",
      "# TYPE axon_prediction_value histogram",
    ];
    for (const [api, versions] of [...this.#totals].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      for (const [version, tally] of versions) {
        const base = `api="${escapeLabel(api)}",version="${escapeLabel(version)}"`;
        if (tally.modelType === "classification") {
          for (const [label, count] of Object.entries(tally.classes)) {
            lines.push(`axon_predictions_total{${base},class="${escapeLabel(label)}"} ${count}`);
          }
          if (tally.other > 0)
            lines.push(`axon_predictions_total{${base},class="other"} ${tally.other}`);
          continue;
        }
        const sketch = tally.sketch === null ? undefined : QuantileSketch.from(tally.sketch);
        for (const le of HISTOGRAM_BOUNDS) {
          const count = sketch === undefined ? 0 : Math.round(sketch.cdf(le) * tally.count);
          histograms.push(`axon_prediction_value_bucket{${base},le="${le}"} ${count}`);
        }
        histograms.push(`axon_prediction_value_bucket{${base},le="+Inf"} ${tally.count}`);
        histograms.push(`axon_prediction_value_sum{${base}} ${tally.sum}`);
        histograms.push(`axon_prediction_value_count{${base}} ${tally.count}`);
      }
    }
    return `${[...lines, ...histograms].join("\n")}\n`;
  }

  /** Prunes old buckets, and tells when an API's predictions shifted or came back. */
  check(now: Date): void {
    const apis = this.#deps.store.listApis();
    for (const name of this.#totals.keys()) {
      if (!apis.some((api) => api.name === name)) this.#totals.delete(name);
    }
    const retention = this.#deps.retentionMs ?? DEFAULT_RETENTION_MS;
    this.#deps.predictions.prune(
      minuteOf(new Date(now.getTime() - retention)),
      new Set(apis.map((a) => a.name)),
    );
    for (const api of apis) {
      const monitoring = monitoringOf(api);
      if (monitoring === undefined) continue;
      const verdict = this.#drift(api, monitoring.modelType, now).verdict;
      if (verdict === undefined) continue;
      const was = this.#shifted.get(api.name) ?? false;
      this.#shifted.set(api.name, verdict.shifted);
      if (verdict.shifted === was) continue;
      this.#deps.events.emit({
        kind: verdict.shifted ? "monitoring.shifted" : "monitoring.stable",
        api: api.name,
        versionId: api.currentVersion.id,
        message: verdict.message,
      });
    }
  }

  /** `axon get <api>`'s monitoring over the range from `since` (default: the version went live). */
  summary(api: ApiRecord, now: Date, since?: Date): ApiMonitoring | undefined {
    const monitoring = monitoringOf(api);
    if (monitoring === undefined) return undefined;
    const version = api.currentVersion;
    const from =
      since ??
      new Date(
        api.liveVersionId === version.id && api.liveAt !== null ? api.liveAt : version.createdAt,
      );
    const buckets = this.#deps.predictions.list(api.name, minuteOf(from));
    const byVersion = groupByVersion(buckets, monitoring.modelType);
    const current = summarize(
      version.id,
      byVersion.get(version.id) ?? emptyTally(monitoring.modelType),
    );
    const { verdict, baseline } = this.#drift(api, monitoring.modelType, now);
    const result: ApiMonitoring = {
      modelType: monitoring.modelType,
      key: monitoring.key,
      since: from.toISOString(),
      current,
      drift: {
        message: verdict?.message ?? baseline.collecting,
        psi: verdict?.psi ?? null,
        shifted: verdict?.shifted ?? false,
        baseline: baseline.label,
      },
    };
    // Mid-rollout, the version still serving beside the new one.
    const previousId = api.liveVersionId !== version.id ? api.liveVersionId : null;
    const previous = previousId === null ? undefined : byVersion.get(previousId);
    if (previousId !== null && previous !== undefined)
      result.previous = summarize(previousId, previous);
    return result;
  }

  /** Pins the current version's last hour as the API's baseline. */
  pinBaseline(api: ApiRecord, now: Date): PredictionTally {
    const monitoring = monitoringOf(api);
    const modelType = monitoring?.modelType ?? "classification";
    const recent = this.#recent(api, modelType, now);
    this.#deps.predictions.pinBaseline(api.name, recent, now);
    return recent;
  }

  #recent(api: ApiRecord, modelType: ModelType, now: Date): PredictionTally {
    const buckets = this.#deps.predictions.list(
      api.name,
      minuteOf(new Date(now.getTime() - DRIFT_WINDOW_MS)),
    );
    return groupByVersion(buckets, modelType).get(api.currentVersion.id) ?? emptyTally(modelType);
  }

  #drift(
    api: ApiRecord,
    modelType: ModelType,
    now: Date,
  ): { verdict: DriftVerdict | undefined; baseline: { label: string; collecting: string } } {
    const size = this.#deps.baselineSize ?? DEFAULT_BASELINE_SIZE;
    const pinned = this.#deps.predictions.pinnedBaseline(api.name);
    let baseline: PredictionTally;
    let label: string;
    if (pinned !== undefined) {
      baseline = pinned.tally;
      label = `pinned ${pinned.pinnedAt}`;
    } else {
      baseline = emptyTally(modelType);
      for (const bucket of this.#deps.predictions.firstOf(api.name, api.currentVersion.id, size)) {
        mergeTally(baseline, bucket.tally);
      }
      label = `first ${size} predictions of ${api.currentVersion.id}`;
    }
    const collecting = `collecting a baseline: ${Math.min(baseline.count, size)} of ${size} predictions`;
    if (pinned === undefined && baseline.count < size)
      return { verdict: undefined, baseline: { label, collecting } };
    const recent = this.#recent(api, modelType, now);
    if (recent.count === 0 || baseline.count === 0)
      return { verdict: undefined, baseline: { label, collecting } };
    const verdict = driftVerdict(modelType, baseline, recent, this.#deps.threshold);
    return { verdict, baseline: { label, collecting } };
  }
}

function groupByVersion(
  buckets: PredictionBucket[],
  modelType: ModelType,
): Map<string, PredictionTally> {
  const result = new Map<string, PredictionTally>();
  for (const bucket of buckets) {
    const into = result.get(bucket.versionId) ?? emptyTally(modelType);
    result.set(bucket.versionId, mergeTally(into, bucket.tally));
  }
  return result;
}

/** Bucket bounds of the regression histogram: 1, 2.5, 5 per decade from 0.001 to 1e6. */
const HISTOGRAM_BOUNDS = [-3, -2, -1, 0, 1, 2, 3, 4, 5, 6].flatMap((e) =>
  [1, 2.5, 5].map((m) => Number((m * 10 ** e).toPrecision(3))),
);

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}
