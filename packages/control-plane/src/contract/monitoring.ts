/** Prediction monitoring in `axon get <api>`: what an API answers over a range, and its drift. */

/** One class of a classifier's predictions over the range. */
export interface PredictionClass {
  label: string;
  count: number;
  /** Of the predictions recorded in the range, 0–1. */
  share: number;
}

/** A regressor's predictions over the range; quantiles within the sketch's 1% relative error. */
export interface PredictionStats {
  count: number;
  mean: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p99: number;
}

/** What one version of an API answered over the range (`monitoring` configured). */
export interface PredictionSummary {
  versionId: string;
  predictions: number;
  /** Responses without the configured `key`. */
  missingKey: number;
  /** Predictions that were not a class label / not a number (or too long to read). */
  invalid: number;
  /** Classification: classes by count, most first (at most 100; the rest in `other`). */
  classes?: PredictionClass[];
  other?: number;
  /** Regression. */
  stats?: PredictionStats;
}

/** `axon get <api>`'s monitoring: what the API answers, and whether that has shifted. */
export interface ApiMonitoring {
  modelType: "classification" | "regression";
  key: string | null;
  /** ISO start of the range (default: when the current version went live). */
  since: string;
  current: PredictionSummary;
  /** During a rollout, the previous version's mix over the same range, beside the new one's. */
  previous?: PredictionSummary;
  drift: {
    /** `stable (PSI 0.03)`, `shifted: setosa 12% → 41% (PSI 0.31)`, or `collecting a baseline: 340 of 1000 predictions`. */
    message: string;
    psi: number | null;
    shifted: boolean;
    /** `first 1000 predictions of v-…`, or `pinned 2026-12-03T10:00:00Z`. */
    baseline: string;
  };
}
