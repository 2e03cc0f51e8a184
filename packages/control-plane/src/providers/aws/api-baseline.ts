/**
 * `axon monitor baseline <api> --env <aws env>` and the drift `get --env` shows against it: the
 * monitoring baseline of an API on ECS is one JSON object in the cluster's bucket, beside the
 * bundles (`baselines/<api>.json`; bundles are `bundles/<sha256>.tar.gz`), so that, as everything
 * else about an AWS API, it lives in the account and a new `$AXON_HOME` sees it. It holds the
 * current revision's last hour of prediction tallies (read back from the replicas' prediction
 * lines, `readAwsPredictions`), the revision it was pinned from and when. The bucket is emptied
 * with the cluster (`emptyBundleBucket`); pinning again overwrites it.
 *
 * The sums and the verdict are `monitoring/summary.ts`'s, as for a local API: the local engine pins
 * the same tally (the current version's last DRIFT_WINDOW_MS) into SQLite, and labels the drift
 * `pinned <time>`.
 */
import type { ApiMonitoring } from "../../contract/index.js";
import { DomainError } from "../../errors.js";
import { DRIFT_WINDOW_MS, driftVerdict } from "../../monitoring/summary.js";
import {
  emptyTally,
  mergeTally,
  type ModelType,
  type PredictionTally,
} from "../../replica/prediction-recorder.js";
import type { PredictionLine } from "../../replica/prediction-lines.js";
import { isAwsError } from "./api-deploy.js";
import type { EcsApiDeps } from "./api-names.js";
import { readAwsPredictions } from "./api-predictions.js";
import { readRevisionSpec, requireAwsApiService } from "./api-versions.js";
import { callAws } from "./cluster-stack.js";
import { MONITORING_OFF, MONITORING_NO_PREDICTIONS } from "../../errors.js";
export { MONITORING_OFF, MONITORING_NO_PREDICTIONS } from "../../errors.js";

/** The stored baseline is not one this code wrote. */
export const MONITORING_BASELINE_UNREADABLE = "monitoring.baseline_unreadable";

/** Where baselines live in the cluster bucket. */
export const BASELINE_PREFIX = "baselines/";

/** The object key of an API's baseline. */
export function baselineKey(apiName: string): string {
  return `${BASELINE_PREFIX}${apiName}.json`;
}

/** An API's pinned baseline, as stored. */
export interface AwsBaseline {
  api: string;
  /** The task definition revision whose predictions were pinned. */
  revision: number;
  /** ISO time it was pinned. */
  pinnedAt: string;
  tally: PredictionTally;
}

/** The current revision's predictions over the last hour before `until`. */
export interface AwsRecentTally {
  api: string;
  revision: number;
  /** ISO bounds of the hour. */
  from: string;
  until: string;
  tally: PredictionTally;
}

/**
 * What the API's current revision answered in the hour before `now`, from the prediction lines its
 * replicas printed (one FilterLogEvents walk, all pages, plus DescribeServices and
 * DescribeTaskDefinition for the revision and its `monitoring`).
 *
 * @throws DomainError `api.not_found` (404); `monitoring.off` (400) when the revision's spec has
 *   no `monitoring.model_type`.
 */
export async function readAwsRecentTally(
  ecs: EcsApiDeps,
  name: string,
  now: Date,
): Promise<AwsRecentTally> {
  const service = await requireAwsApiService(ecs, name);
  const arn = service.taskDefinition ?? "";
  const revision = Number(arn.slice(arn.lastIndexOf(":") + 1)) || 0;
  const spec = await readRevisionSpec(ecs, arn);
  const modelType = spec?.monitoring?.model_type ?? null;
  if (modelType === null) {
    throw new DomainError(MONITORING_OFF, `${name} has no monitoring to pin a baseline for`, {
      hint: "add `monitoring: {model_type: classification}` (or regression, with `key` for a field of the response) to its config and deploy",
    });
  }
  const from = now.getTime() - DRIFT_WINDOW_MS;
  const lines = await readAwsPredictions(ecs, name, from);
  return {
    api: name,
    revision,
    from: new Date(from).toISOString(),
    until: now.toISOString(),
    tally: recentTally(lines, { revision, modelType, now }),
  };
}

/**
 * The tally of the lines of `revision` (and of lines that name none: replicas from before lines
 * carried it) in the DRIFT_WINDOW_MS before `now`. Pure: `get --env` passes the lines it has read.
 */
export function recentTally(
  lines: PredictionLine[],
  options: { revision: number; modelType: ModelType; now: Date },
): PredictionTally {
  const from = options.now.getTime() - DRIFT_WINDOW_MS;
  const tally = emptyTally(options.modelType);
  for (const line of lines) {
    const at = Date.parse(line.at);
    if (at < from || at > options.now.getTime()) continue;
    if (line.revision !== undefined && line.revision !== options.revision) continue;
    mergeTally(tally, line.tally);
  }
  return tally;
}

/**
 * Pins `recent` as the API's baseline (one PutObject, overwriting any earlier one).
 *
 * @throws DomainError `monitoring.no_predictions` (400), before writing, when the hour had none.
 */
export async function pinAwsBaseline(
  ecs: EcsApiDeps,
  name: string,
  recent: AwsRecentTally,
): Promise<AwsBaseline> {
  if (recent.tally.count === 0) {
    throw new DomainError(
      MONITORING_NO_PREDICTIONS,
      `${name} has made no prediction in the last hour to pin (revision ${recent.revision}, ${recent.from} to ${recent.until})`,
      {
        hint: `send it some traffic, then pin the baseline; axon logs ${name} --env ${ecs.refs.envName} shows whether its replicas answer`,
      },
    );
  }
  const baseline: AwsBaseline = {
    api: name,
    revision: recent.revision,
    pinnedAt: recent.until,
    tally: recent.tally,
  };
  await callAws(ecs, "s3:PutObject", () =>
    ecs.ports.s3.putObject({
      Bucket: ecs.refs.bucketName,
      Key: baselineKey(name),
      Body: JSON.stringify(baseline),
      ContentType: "application/json",
    }),
  );
  return baseline;
}

/** The API's pinned baseline; undefined when none was pinned (GetObject answers NoSuchKey). */
export async function readAwsBaseline(
  ecs: EcsApiDeps,
  name: string,
): Promise<AwsBaseline | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await callAws(ecs, "s3:GetObject", () =>
      ecs.ports.s3.getObjectBytes({ Bucket: ecs.refs.bucketName, Key: baselineKey(name) }),
    );
  } catch (error) {
    if (isAwsError(error, "NoSuchKey", "NotFound")) return undefined;
    throw error;
  }
  const baseline = parseAwsBaseline(new TextDecoder().decode(bytes));
  if (baseline === undefined || baseline.api !== name) {
    throw new DomainError(
      MONITORING_BASELINE_UNREADABLE,
      `s3://${ecs.refs.bucketName}/${baselineKey(name)} is not a baseline axon wrote for ${name}`,
      {
        status: 502,
        hint: `pin it again: axon monitor baseline ${name} --env ${ecs.refs.envName}`,
      },
    );
  }
  return baseline;
}

/** A stored baseline read back; undefined for anything this module did not write. */
export function parseAwsBaseline(json: string): AwsBaseline | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { api, revision, pinnedAt, tally } = value as Record<string, unknown>;
  if (
    typeof api !== "string" ||
    typeof revision !== "number" ||
    typeof pinnedAt !== "string" ||
    Number.isNaN(Date.parse(pinnedAt)) ||
    typeof tally !== "object" ||
    tally === null
  ) {
    return undefined;
  }
  const stored = tally as Partial<PredictionTally>;
  if (
    (stored.modelType !== "classification" && stored.modelType !== "regression") ||
    typeof stored.count !== "number"
  ) {
    return undefined;
  }
  return { api, revision, pinnedAt, tally: { ...emptyTally(stored.modelType), ...stored } };
}

/**
 * The drift `get --env` shows with a pinned baseline: the recent hour (`recentTally`) against it,
 * labelled as the local engine labels a pinned one (`pinned <time>`), plus the revision.
 */
export function driftFromAwsBaseline(
  baseline: AwsBaseline,
  recent: PredictionTally,
  threshold?: number,
): ApiMonitoring["drift"] {
  const label = `pinned ${baseline.pinnedAt} from revision ${baseline.revision}`;
  if (baseline.tally.modelType !== recent.modelType) {
    return {
      message: `the baseline holds ${baseline.tally.modelType} predictions, the API now makes ${recent.modelType} ones: pin it again`,
      psi: null,
      shifted: false,
      baseline: label,
    };
  }
  const verdict = driftVerdict(recent.modelType, baseline.tally, recent, threshold);
  return {
    message:
      verdict?.message ??
      `no prediction in the last hour to compare with the ${baseline.tally.count} pinned`,
    psi: verdict?.psi ?? null,
    shifted: verdict?.shifted ?? false,
    baseline: label,
  };
}
