/**
 * Request metrics of one replica: counts by status class, a latency histogram, and the in-flight
 * gauge sampled once a second (the autoscaler's input, as Cortex sampled it). Plain numbers in
 * typed arrays so recording a request allocates nothing.
 */

/** Upper bounds (ms) of the latency histogram buckets; a last bucket catches everything above. */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000,
];

/** How many one-second in-flight samples a replica keeps (10 minutes, longer than any window). */
export const IN_FLIGHT_SAMPLES_KEPT = 600;

/** Counts and latencies of requests answered by one replica (or many, merged). */
export interface RequestStats {
  /** Responses by status class: `1XX` … `5XX`. */
  statusClasses: Record<StatusClass, number>;
  /** Per-bucket counts, not cumulative; `buckets[i]` counts latencies ≤ `LATENCY_BUCKETS_MS[i]` (and above the previous bound); the last entry counts the rest. */
  latencyBuckets: number[];
  latencySumMs: number;
  /** The slowest latency recorded (0 without requests): quantiles never report more. */
  latencyMaxMs: number;
  count: number;
}

export type StatusClass = "1XX" | "2XX" | "3XX" | "4XX" | "5XX";
export const STATUS_CLASSES: readonly StatusClass[] = ["1XX", "2XX", "3XX", "4XX", "5XX"];

/** One in-flight sample. */
export interface InFlightSample {
  /** Epoch milliseconds. */
  at: number;
  value: number;
}

/** Accumulates request outcomes; `record` is on the hot path. */
export class RequestRecorder {
  readonly #classes = new Float64Array(6);
  readonly #buckets = new Float64Array(LATENCY_BUCKETS_MS.length + 1);
  #sumMs = 0;
  #maxMs = 0;
  #count = 0;

  record(status: number, latencyMs: number): void {
    const cls = (status / 100) | 0;
    const slot = cls >= 1 && cls <= 5 ? cls : 5;
    this.#classes[slot] = (this.#classes[slot] ?? 0) + 1;
    let i = 0;
    const bounds = LATENCY_BUCKETS_MS;
    while (i < bounds.length && latencyMs > (bounds[i] ?? Infinity)) i++;
    this.#buckets[i] = (this.#buckets[i] ?? 0) + 1;
    this.#sumMs += latencyMs;
    if (latencyMs > this.#maxMs) this.#maxMs = latencyMs;
    this.#count++;
  }

  stats(): RequestStats {
    return {
      statusClasses: {
        "1XX": this.#classes[1] ?? 0,
        "2XX": this.#classes[2] ?? 0,
        "3XX": this.#classes[3] ?? 0,
        "4XX": this.#classes[4] ?? 0,
        "5XX": this.#classes[5] ?? 0,
      },
      latencyBuckets: Array.from(this.#buckets),
      latencySumMs: this.#sumMs,
      latencyMaxMs: this.#maxMs,
      count: this.#count,
    };
  }
}

/** Empty stats, the identity of `mergeStats`. */
export function emptyStats(): RequestStats {
  return {
    statusClasses: { "1XX": 0, "2XX": 0, "3XX": 0, "4XX": 0, "5XX": 0 },
    latencyBuckets: Array.from({ length: LATENCY_BUCKETS_MS.length + 1 }, () => 0),
    latencySumMs: 0,
    latencyMaxMs: 0,
    count: 0,
  };
}

/** Adds `b` to `a` (in place) and returns `a`. */
export function mergeStats(a: RequestStats, b: RequestStats): RequestStats {
  for (const cls of STATUS_CLASSES) a.statusClasses[cls] += b.statusClasses[cls];
  for (let i = 0; i < a.latencyBuckets.length; i++) {
    a.latencyBuckets[i] = (a.latencyBuckets[i] ?? 0) + (b.latencyBuckets[i] ?? 0);
  }
  a.latencySumMs += b.latencySumMs;
  a.latencyMaxMs = Math.max(a.latencyMaxMs, b.latencyMaxMs);
  a.count += b.count;
  return a;
}

/**
 * The latency below which `q` (0..1) of requests fall, interpolated linearly inside the bucket
 * that holds it (as Prometheus' histogram_quantile does), but never above the slowest request
 * recorded: interpolation alone reports up to the bucket's upper bound (2.5 s for requests of
 * 1.0 s), and the open last bucket has none. Null without requests.
 */
export function latencyQuantileMs(stats: RequestStats, q: number): number | null {
  if (stats.count === 0) return null;
  const max = stats.latencyMaxMs;
  const rank = q * stats.count;
  // The quantile lies past the second-slowest request (p99 of fewer than 100): it is the slowest.
  if (rank > stats.count - 1) return max;
  let seen = 0;
  for (let i = 0; i < stats.latencyBuckets.length; i++) {
    const inBucket = stats.latencyBuckets[i] ?? 0;
    if (inBucket > 0 && seen + inBucket >= rank) {
      const lower = i === 0 ? 0 : (LATENCY_BUCKETS_MS[i - 1] ?? 0);
      const upper = Math.min(LATENCY_BUCKETS_MS[i] ?? max, max);
      return Math.min(lower + ((upper - lower) * (rank - seen)) / inBucket, max);
    }
    seen += inBucket;
  }
  return max;
}

/** A fixed ring of one-second in-flight samples. */
export class InFlightSampler {
  readonly #values = new Float64Array(IN_FLIGHT_SAMPLES_KEPT);
  readonly #times = new Float64Array(IN_FLIGHT_SAMPLES_KEPT);
  #next = 0;
  #size = 0;

  add(at: number, value: number): void {
    this.#values[this.#next] = value;
    this.#times[this.#next] = at;
    this.#next = (this.#next + 1) % IN_FLIGHT_SAMPLES_KEPT;
    if (this.#size < IN_FLIGHT_SAMPLES_KEPT) this.#size++;
  }

  /** Samples taken at or after `since` (epoch ms), oldest first. */
  since(since: number): InFlightSample[] {
    const result: InFlightSample[] = [];
    for (let k = this.#size; k > 0; k--) {
      const i = (this.#next - k + IN_FLIGHT_SAMPLES_KEPT) % IN_FLIGHT_SAMPLES_KEPT;
      const at = this.#times[i] ?? 0;
      if (at >= since) result.push({ at, value: this.#values[i] ?? 0 });
    }
    return result;
  }
}
