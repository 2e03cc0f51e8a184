/**
 * What `axon get <api>` shows of an API's predictions, from tallies, whoever gathered them: the
 * local monitoring loop (one-minute buckets in the state database) or, for an API on ECS, the
 * prediction lines its replicas print into CloudWatch Logs (`readAwsPredictions`).
 */
import type { ApiMonitoring, PredictionSummary } from "../contract/index.js";
import {
  emptyTally,
  mergeTally,
  type ModelType,
  type PredictionTally,
} from "../replica/prediction-recorder.js";
import { QuantileSketch } from "../replica/quantile-sketch.js";
import {
  classificationDrift,
  DEFAULT_DRIFT_THRESHOLD,
  regressionDrift,
  type DriftVerdict,
} from "./drift.js";

export const DEFAULT_BASELINE_SIZE = 1_000;
/** The recent window compared with the baseline. */
export const DRIFT_WINDOW_MS = 3_600_000;

/** The classes of a tally with `other` (classes beyond the kept ones) as a class of its own. */
export function withOther(tally: PredictionTally): Record<string, number> {
  return tally.other > 0 ? { ...tally.classes, other: tally.other } : tally.classes;
}

/** One version's predictions in words and numbers. */
export function summarize(versionId: string, tally: PredictionTally): PredictionSummary {
  const summary: PredictionSummary = {
    versionId,
    predictions: tally.count,
    missingKey: tally.missingKey,
    invalid: tally.invalid,
  };
  if (tally.modelType === "classification") {
    summary.classes = Object.entries(tally.classes)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([label, count]) => ({
        label,
        count,
        share: tally.count === 0 ? 0 : round4(count / tally.count),
      }));
    summary.other = tally.other;
  } else if (tally.count > 0 && tally.sketch !== null) {
    const sketch = QuantileSketch.from(tally.sketch);
    summary.stats = {
      count: tally.count,
      mean: round4(tally.sum / tally.count),
      min: tally.min ?? 0,
      max: tally.max ?? 0,
      p50: round4(sketch.quantile(0.5) ?? 0),
      p90: round4(sketch.quantile(0.9) ?? 0),
      p99: round4(sketch.quantile(0.99) ?? 0),
    };
  }
  return summary;
}

/** The verdict on a recent tally against a baseline; undefined while either is empty. */
export function driftVerdict(
  modelType: ModelType,
  baseline: PredictionTally,
  recent: PredictionTally,
  threshold = DEFAULT_DRIFT_THRESHOLD,
): DriftVerdict | undefined {
  if (recent.count === 0 || baseline.count === 0) return undefined;
  if (modelType === "classification")
    return classificationDrift(withOther(baseline), withOther(recent), threshold);
  return baseline.sketch === null || recent.sketch === null
    ? undefined
    : regressionDrift(baseline.sketch, recent.sketch, threshold);
}

/** Tallies in time order, each stamped with the end of the interval it covers. */
export interface TimedTally {
  at: Date;
  tally: PredictionTally;
}

/**
 * The monitoring of one version from its timed tallies: everything since `since` summed, the
 * baseline = the first `baselineSize` predictions (whole tallies, in time order), the recent
 * window = the last DRIFT_WINDOW_MS before `now`.
 */
export function monitoringFromTallies(input: {
  modelType: ModelType;
  key: string | null;
  versionId: string;
  since: Date;
  now: Date;
  tallies: TimedTally[];
  baselineSize?: number;
  threshold?: number;
}): ApiMonitoring {
  const { modelType } = input;
  const size = input.baselineSize ?? DEFAULT_BASELINE_SIZE;
  const sorted = [...input.tallies].sort((a, b) => a.at.getTime() - b.at.getTime());
  const current = emptyTally(modelType);
  const baseline = emptyTally(modelType);
  const recent = emptyTally(modelType);
  const recentFrom = input.now.getTime() - DRIFT_WINDOW_MS;
  for (const { at, tally } of sorted) {
    if (at.getTime() < input.since.getTime()) continue;
    mergeTally(current, tally);
    if (baseline.count < size) mergeTally(baseline, tally);
    if (at.getTime() >= recentFrom) mergeTally(recent, tally);
  }
  const collecting = `collecting a baseline: ${Math.min(baseline.count, size)} of ${size} predictions`;
  const verdict =
    baseline.count < size ? undefined : driftVerdict(modelType, baseline, recent, input.threshold);
  return {
    modelType,
    key: input.key,
    since: input.since.toISOString(),
    current: summarize(input.versionId, current),
    drift: {
      message: verdict?.message ?? collecting,
      psi: verdict?.psi ?? null,
      shifted: verdict?.shifted ?? false,
      baseline: `first ${size} predictions of ${input.versionId}`,
    },
  };
}

export function round4(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}
