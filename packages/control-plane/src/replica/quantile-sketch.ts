/**
 * A mergeable, fixed-size quantile sketch for regression predictions (after DDSketch): values fall
 * into logarithmic buckets whose width bounds the relative error of every quantile it answers.
 *
 * Stated error: a quantile it returns is within `RELATIVE_ACCURACY` (1%) of a value that lies at
 * that rank, for |values| between 1e-9 and 1e12; values closer to zero count as zero. When more
 * than `MAX_BUCKETS` buckets are in use, the lowest ones are merged (the low quantiles lose
 * accuracy first, the median and the high ones keep it) — memory stays bounded whatever comes.
 *
 * Part of the data plane: it imports nothing and is cheap on the hot path (one `Math.log` and a
 * map update per value).
 */

export const RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);
const MIN_MAGNITUDE = 1e-9;
export const MAX_BUCKETS = 2048;

/** The serialisable form (stored in the state database, merged across replicas and minutes). */
export interface SketchData {
  /** [bucket index, count] of positive values, then of negative values (by magnitude). */
  positive: Array<[number, number]>;
  negative: Array<[number, number]>;
  zero: number;
}

export class QuantileSketch {
  readonly #positive = new Map<number, number>();
  readonly #negative = new Map<number, number>();
  #zero = 0;
  #count = 0;

  static from(data: SketchData): QuantileSketch {
    const sketch = new QuantileSketch();
    sketch.merge(data);
    return sketch;
  }

  get count(): number {
    return this.#count;
  }

  add(value: number): void {
    this.#count++;
    const magnitude = Math.abs(value);
    if (magnitude < MIN_MAGNITUDE) {
      this.#zero++;
      return;
    }
    const buckets = value > 0 ? this.#positive : this.#negative;
    const index = Math.ceil(Math.log(magnitude) / LOG_GAMMA);
    buckets.set(index, (buckets.get(index) ?? 0) + 1);
    if (buckets.size > MAX_BUCKETS) collapseLowest(buckets);
  }

  merge(data: SketchData): void {
    for (const [index, count] of data.positive) this.#addBucket(this.#positive, index, count);
    for (const [index, count] of data.negative) this.#addBucket(this.#negative, index, count);
    this.#zero += data.zero;
    this.#count += data.zero;
  }

  /** The value at quantile `q` (0–1); null when empty. */
  quantile(q: number): number | null {
    if (this.#count === 0) return null;
    const rank = Math.min(this.#count - 1, Math.max(0, Math.floor(q * (this.#count - 1))));
    let seen = 0;
    // Negative values, most negative first (largest magnitude first).
    for (const [index, count] of [...this.#negative].sort((a, b) => b[0] - a[0])) {
      seen += count;
      if (seen > rank) return -bucketValue(index);
    }
    seen += this.#zero;
    if (seen > rank) return 0;
    for (const [index, count] of [...this.#positive].sort((a, b) => a[0] - b[0])) {
      seen += count;
      if (seen > rank) return bucketValue(index);
    }
    return null;
  }

  /** The share of values at or below `value` (0–1). */
  cdf(value: number): number {
    if (this.#count === 0) return 0;
    let below = 0;
    if (value >= 0) {
      for (const count of this.#negative.values()) below += count;
      below += this.#zero;
      for (const [index, count] of this.#positive) if (bucketValue(index) <= value) below += count;
    } else {
      for (const [index, count] of this.#negative) if (-bucketValue(index) <= value) below += count;
    }
    return below / this.#count;
  }

  toData(): SketchData {
    return { positive: [...this.#positive], negative: [...this.#negative], zero: this.#zero };
  }

  #addBucket(buckets: Map<number, number>, index: number, count: number): void {
    buckets.set(index, (buckets.get(index) ?? 0) + count);
    this.#count += count;
    if (buckets.size > MAX_BUCKETS) collapseLowest(buckets);
  }
}

/** A representative value of a bucket: within RELATIVE_ACCURACY of everything in it. */
function bucketValue(index: number): number {
  return (2 * GAMMA ** index) / (GAMMA + 1);
}

/** Merges the two lowest-magnitude buckets until the map is back to MAX_BUCKETS. */
function collapseLowest(buckets: Map<number, number>): void {
  const indices = [...buckets.keys()].sort((a, b) => a - b);
  while (buckets.size > MAX_BUCKETS) {
    const lowest = indices.shift();
    const next = indices[0];
    if (lowest === undefined || next === undefined) return;
    buckets.set(next, (buckets.get(next) ?? 0) + (buckets.get(lowest) ?? 0));
    buckets.delete(lowest);
  }
}
