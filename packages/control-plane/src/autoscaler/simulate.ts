/**
 * `axon autoscale simulate`: replays a request-rate trace through the same `Autoscaler` the
 * control plane runs, with a simple fluid queueing model of the replicas, so a user can see what
 * their `autoscaling` settings would do before traffic does it for them.
 *
 * The model, one step per second:
 * - the rate of the trace at that second (a step function: each row holds until the next);
 * - each ready replica serves `concurrency` requests at a time (processes × threads), each for
 *   `serviceTimeMs`, so it finishes `concurrency / serviceTime` requests a second;
 * - what arrives beyond that waits (in flight, queued); in flight per replica beyond
 *   `max_replica_concurrency` is refused — the estimated 503s;
 * - the in-flight count of the second is the autoscaler's sample (as each replica front samples
 *   once a second); every 10 s the autoscaler ticks on the window's average;
 * - a requested replica is ready `startupMs` later; a removed one is gone at once.
 * It ignores latency variance and bursts within a second: it is a what-if for the settings, not
 * a load test.
 */
import {
  AUTOSCALER_TICK_MS,
  Autoscaler,
  describeHeld,
  describeScaling,
  type AutoscalingParams,
} from "./autoscaler.js";

export interface TracePoint {
  atSeconds: number;
  requestsPerSecond: number;
}

/** A CSV problem, with the 1-based line it is on. */
export class TraceError extends Error {
  readonly line: number;

  constructor(line: number, message: string) {
    super(message);
    this.name = "TraceError";
    this.line = line;
  }
}

/**
 * Parses `seconds,requests_per_second` rows (a header row and `#` comments allowed); seconds
 * must increase. Throws a TraceError naming the line.
 */
export function parseTrace(csv: string): TracePoint[] {
  const points: TracePoint[] = [];
  const lines = csv.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const text = (lines[i] ?? "").trim();
    if (text === "" || text.startsWith("#")) continue;
    const cells = text.split(",").map((cell) => cell.trim());
    if (points.length === 0 && cells.some((cell) => /[a-z]/i.test(cell))) continue; // header
    const [seconds, rate] = cells.map(Number);
    if (cells.length !== 2 || !Number.isFinite(seconds) || !Number.isFinite(rate)) {
      throw new TraceError(i + 1, `expected "seconds,requests_per_second", got "${text}"`);
    }
    if ((seconds ?? 0) < 0 || (rate ?? 0) < 0) {
      throw new TraceError(
        i + 1,
        `seconds and requests per second must not be negative ("${text}")`,
      );
    }
    const previous = points.at(-1);
    if (previous !== undefined && (seconds ?? 0) <= previous.atSeconds) {
      throw new TraceError(i + 1, `seconds must increase (${seconds} after ${previous.atSeconds})`);
    }
    points.push({ atSeconds: seconds ?? 0, requestsPerSecond: rate ?? 0 });
  }
  if (points.length === 0) throw new TraceError(1, "the trace has no rows");
  return points;
}

export interface SimulationOptions {
  params: AutoscalingParams;
  /** Replicas at the start (`init_replicas`). */
  initialReplicas: number;
  /** Requests one replica executes at once (processes_per_replica × threads_per_process). */
  concurrency: number;
  /** In flight per replica beyond which requests are refused (max_replica_concurrency). */
  maxReplicaConcurrency: number;
  serviceTimeMs: number;
  /** From a replica being requested to it being ready (default 5 s). */
  startupMs?: number;
  /** How long to run after the last row (default: one window and a stabilization period). */
  tailSeconds?: number;
}

/** One row of the timeline: the state at the end of a 10 s tick. */
export interface SimulationTick {
  atSeconds: number;
  requestsPerSecond: number;
  requested: number;
  ready: number;
  /** Average over the tick's seconds, per ready replica (all in flight when none is ready). */
  inFlightPerReplica: number;
  /** Requests refused during the tick (no capacity left or no ready replica). */
  refused: number;
  /** The autoscaler's decision at the end of the tick, in words, when there was one. */
  note?: string;
}

export interface SimulationResult {
  ticks: SimulationTick[];
  requests: number;
  refused: number;
  minReplicas: number;
  maxReplicas: number;
  /** Seconds from the start to the first scale-up (null: none). */
  firstScaleUpAt: number | null;
}

export function simulate(
  trace: readonly TracePoint[],
  options: SimulationOptions,
): SimulationResult {
  const { params, concurrency, maxReplicaConcurrency } = options;
  const serviceSeconds = options.serviceTimeMs / 1000;
  const startupSeconds = (options.startupMs ?? 5_000) / 1000;
  const lastRow = trace.at(-1)?.atSeconds ?? 0;
  const tail =
    options.tailSeconds ??
    Math.ceil(
      (params.windowMs + Math.max(params.downscaleStabilizationMs, params.upscaleStabilizationMs)) /
        1000,
    );
  const duration = lastRow + tail;
  const tickSeconds = AUTOSCALER_TICK_MS / 1000;

  const scaler = new Autoscaler(params);
  let requested = options.initialReplicas;
  /** Ready replicas, plus the seconds at which requested ones become ready. */
  let ready = options.initialReplicas;
  let pending: number[] = [];
  let backlog = 0;
  const samples: number[] = [];
  const result: SimulationResult = {
    ticks: [],
    requests: 0,
    refused: 0,
    minReplicas: requested,
    maxReplicas: requested,
    firstScaleUpAt: null,
  };
  let tickRefused = 0;
  let tickInFlight = 0;

  for (let second = 0; second < duration; second++) {
    const rate = rateAt(trace, second);
    ready += pending.filter((at) => at <= second).length;
    pending = pending.filter((at) => at > second);

    result.requests += rate;
    const capacity = (ready * concurrency) / serviceSeconds;
    const served = Math.min(rate + backlog, capacity);
    backlog = Math.max(0, backlog + rate - served);
    let inFlight = served * serviceSeconds + backlog;
    const limit = ready * maxReplicaConcurrency;
    if (inFlight > limit) {
      const refused = inFlight - limit;
      backlog = Math.max(0, backlog - refused);
      inFlight = limit;
      tickRefused += ready === 0 ? rate : refused;
    }
    samples.push(inFlight);
    tickInFlight += ready === 0 ? inFlight : inFlight / ready;

    if ((second + 1) % tickSeconds !== 0) continue;
    const now = (second + 1) * 1000;
    const window = samples.slice(-Math.round(params.windowMs / 1000));
    const avg = window.length === 0 ? null : window.reduce((a, b) => a + b, 0) / window.length;
    const decision = scaler.tick(now, requested, avg);
    let note: string | undefined;
    if (decision !== undefined && decision.request !== requested) {
      note = describeScaling(decision, params);
      if (decision.request > requested) {
        result.firstScaleUpAt ??= second + 1;
        for (let i = requested; i < decision.request; i++)
          pending.push(second + 1 + startupSeconds);
      } else {
        const remove = requested - decision.request;
        const fromPending = Math.min(remove, pending.length);
        pending = pending.slice(0, pending.length - fromPending);
        ready -= remove - fromPending;
      }
      requested = decision.request;
    } else if (decision !== undefined) {
      note = describeHeld(decision);
    }
    result.minReplicas = Math.min(result.minReplicas, requested);
    result.maxReplicas = Math.max(result.maxReplicas, requested);
    result.refused += tickRefused;
    result.ticks.push({
      atSeconds: second + 1,
      requestsPerSecond: rate,
      requested,
      ready,
      inFlightPerReplica: round2(tickInFlight / tickSeconds),
      refused: Math.round(tickRefused),
      ...(note === undefined ? {} : { note }),
    });
    tickRefused = 0;
    tickInFlight = 0;
  }
  result.requests = Math.round(result.requests);
  result.refused = Math.round(result.refused);
  return result;
}

/** The trace's rate at `second`: the last row at or before it (0 before the first). */
function rateAt(trace: readonly TracePoint[], second: number): number {
  let rate = 0;
  for (const point of trace) {
    if (point.atSeconds > second) break;
    rate = point.requestsPerSecond;
  }
  return rate;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
