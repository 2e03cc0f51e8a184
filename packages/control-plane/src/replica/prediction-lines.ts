/**
 * Prediction monitoring on ECS: a replica container prints what it tallied (the recorder's
 * `PredictionTally`) as one JSON line a minute on stdout, which the awslogs driver ships to the
 * cluster's log group; `axon get <api> --env NAME` reads the lines back (FilterLogEvents) and sums
 * them. Plain log lines, not CloudWatch metrics: one metric per class would cost $0.30 a month
 * each, while a line a minute is about 20 MB a month per replica of log ingestion (docs/monitoring.md).
 * `axon logs` leaves these lines out.
 */
import type { PredictionTally } from "./prediction-recorder.js";

/** The key that marks a prediction line (and the term the log filter looks for). */
export const PREDICTION_LINE_KEY = "axon_predictions";

export interface PredictionLine {
  api: string;
  /** The ECS task id (or host name) of the replica that tallied. */
  task: string;
  /** ISO time of the end of the interval the tally covers. */
  at: string;
  /** The task definition revision the replica runs (ECS task metadata), when known. */
  revision?: number;
  tally: PredictionTally;
}

/** One line (no newline) for `line`. */
export function predictionLine(line: PredictionLine): string {
  return JSON.stringify({ [PREDICTION_LINE_KEY]: 1, ...line });
}

/** The prediction line in a log message, or undefined when it is not one. */
export function parsePredictionLine(message: string): PredictionLine | undefined {
  if (!message.startsWith(`{"${PREDICTION_LINE_KEY}"`)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { api, task, at, revision, tally } = value as Record<string, unknown>;
  if (typeof api !== "string" || typeof task !== "string" || typeof at !== "string")
    return undefined;
  if (!isTally(tally) || Number.isNaN(Date.parse(at))) return undefined;
  return {
    api,
    task,
    at,
    ...(typeof revision === "number" && Number.isInteger(revision) ? { revision } : {}),
    tally,
  };
}

function isTally(value: unknown): value is PredictionTally {
  if (typeof value !== "object" || value === null) return false;
  const tally = value as Record<string, unknown>;
  return (
    (tally["modelType"] === "classification" || tally["modelType"] === "regression") &&
    typeof tally["count"] === "number" &&
    typeof tally["missingKey"] === "number" &&
    typeof tally["invalid"] === "number" &&
    typeof tally["other"] === "number" &&
    typeof tally["sum"] === "number" &&
    typeof tally["classes"] === "object" &&
    tally["classes"] !== null
  );
}

/** Prints a replica's tally every `intervalMs` (and once more when stopped), when it has one. */
export class PredictionPublisher {
  readonly #options: {
    drain: () => PredictionTally | undefined;
    api: string;
    task: string;
    revision?: number;
    write: (line: string) => void;
    intervalMs: number;
    now: () => number;
  };
  #timer: NodeJS.Timeout | undefined;

  constructor(options: {
    drain: () => PredictionTally | undefined;
    api: string;
    task: string;
    /** The task definition revision, so `get` can tell a rollout's two versions apart. */
    revision?: number;
    write: (line: string) => void;
    intervalMs?: number;
    now?: () => number;
  }) {
    this.#options = { intervalMs: 60_000, now: Date.now, ...options };
  }

  start(): void {
    this.#timer ??= setInterval(() => this.flush(), this.#options.intervalMs);
    this.#timer.unref();
  }

  /** Prints what was tallied since the last line; nothing when nothing was. */
  flush(): void {
    const tally = this.#options.drain();
    if (tally === undefined) return;
    const { api, task, revision, write, now } = this.#options;
    try {
      const at = new Date(now()).toISOString();
      write(
        predictionLine({ api, task, at, ...(revision === undefined ? {} : { revision }), tally }),
      );
    } catch {
      // Best effort: a full pipe must not stop the replica.
    }
  }

  /** Stops, printing what is left first. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.flush();
  }
}
