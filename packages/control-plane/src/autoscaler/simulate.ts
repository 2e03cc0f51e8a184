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
 * - a requested replica is ready `startupMs` later; a removed one is gone at once;
 * - scale to zero (`min_replicas: 0`, `scaleToZeroAfterMs` set): at a tick after that long with
 *   no request and nothing in flight the API goes to 0 replicas, as the control plane's loop does;
 *   the next request wakes it at once (not at a tick: the gateway asks for a replica when the
 *   request arrives) and what arrives until the replica is ready is held, up to
 *   `max_replica_concurrency` requests (the gateway's hold limit) — the rest are refused. Held
 *   requests are assumed to outlive the start (`predictor.timeout` is longer than a start).
 * It ignores latency variance and bursts within a second: it is a what-if for the settings, not
 * a load test.
 */
import {
  AUTOSCALER_TICK_MS,
  Autoscaler,
  describeHeld,
  describeScaleToZero,
  describeScaling,
  describeWake,
  type AutoscalingParams,
  type ScalingDecision,
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
  /**
   * `scale_to_zero_after` in ms for an API that may idle at zero (`scaleToZeroAfterMs(spec)`);
   * undefined: it never goes below `params.minReplicas`.
   */
  scaleToZeroAfterMs?: number;
  /**
   * How long to run after the last row (default: one window and a stabilization period, or
   * `scaleToZeroAfterMs` and a tick when that is longer).
   */
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
  const zeroAfterMs = options.scaleToZeroAfterMs;
  const tail =
    options.tailSeconds ??
    Math.ceil(
      Math.max(
        params.windowMs + Math.max(params.downscaleStabilizationMs, params.upscaleStabilizationMs),
        zeroAfterMs === undefined ? 0 : zeroAfterMs + AUTOSCALER_TICK_MS,
      ) / 1000,
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
  /** The end of the last second with a request or something in flight (scale to zero). */
  let busyUntil = 0;
  /** Set from a wake until the next tick, which tells it. */
  let wokenNote: string | undefined;

  for (let second = 0; second < duration; second++) {
    const rate = rateAt(trace, second);
    if (requested === 0 && rate > 0) {
      // A request at zero wakes the API at once: the gateway asks for a replica and holds it.
      requested = 1;
      pending.push(second + startupSeconds);
      wokenNote = describeWake(formatClock(second));
    }
    ready += pending.filter((at) => at <= second).length;
    pending = pending.filter((at) => at > second);

    result.requests += rate;
    const capacity = (ready * concurrency) / serviceSeconds;
    const served = Math.min(rate + backlog, capacity);
    backlog = Math.max(0, backlog + rate - served);
    let inFlight = served * serviceSeconds + backlog;
    // Woken from zero and still starting: the gateway holds what arrives, up to its limit.
    const holding = ready === 0 && requested > 0 && zeroAfterMs !== undefined;
    const limit = holding ? maxReplicaConcurrency : ready * maxReplicaConcurrency;
    if (inFlight > limit) {
      const refused = inFlight - limit;
      backlog = Math.max(0, backlog - refused);
      inFlight = limit;
      tickRefused += ready === 0 && !holding ? rate : refused;
    }
    if (rate > 0 || inFlight > 0) busyUntil = second + 1;
    // Held requests wait in the gateway, not in a replica: no replica, no sample (NaN).
    samples.push(holding || requested === 0 ? Number.NaN : inFlight);
    tickInFlight += ready === 0 ? inFlight : inFlight / ready;

    if ((second + 1) % tickSeconds !== 0) continue;
    const now = (second + 1) * 1000;
    let note: string | undefined = wokenNote;
    wokenNote = undefined;
    const idleMs = now - busyUntil * 1000;
    let decision: ScalingDecision | undefined;
    if (requested > 0 && zeroAfterMs !== undefined && idleMs >= zeroAfterMs) {
      // The control plane's loop checks this before the algorithm, which never goes below one.
      note = describeScaleToZero(idleMs, zeroAfterMs);
      requested = 0;
      ready = 0;
      pending = [];
    } else if (requested > 0) {
      const window = samples
        .slice(-Math.round(params.windowMs / 1000))
        .filter((sample) => !Number.isNaN(sample));
      const avg = window.length === 0 ? null : window.reduce((a, b) => a + b, 0) / window.length;
      decision = scaler.tick(now, requested, avg);
    }
    const joined = (text: string | undefined): string | undefined =>
      text === undefined ? note : note === undefined ? text : `${note}; ${text}`;
    if (decision !== undefined && decision.request !== requested) {
      note = joined(describeScaling(decision, params));
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
      note = joined(describeHeld(decision));
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

/** The trace's clock, `m:ss`, as the CLI prints the timeline. */
function formatClock(seconds: number): string {
  const m = Math.floor(seconds / 60);
  return `${m}:${String(seconds % 60).padStart(2, "0")}`;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
