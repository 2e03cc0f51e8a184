/**
 * Prediction monitoring on the hot path (Cortex's `monitoring: {model_type, key}`): each
 * successful answer of a replica is tallied — per class for a classifier (at most MAX_CLASSES
 * classes, the rest as `other`), count / sum / min / max and a quantile sketch for a regressor.
 * The control plane drains each replica's tally every few seconds into one-minute buckets.
 *
 * Cheap by construction: a response body longer than MAX_PARSED_BYTES is not parsed (counted as
 * `invalid`); a JSON body is parsed once; nothing is allocated for an API without monitoring (the
 * front holds no recorder then). A prediction that is not what the config says (a regression
 * value that is not a number, a `key` missing from the response) is counted, never an error.
 *
 * A predictor that answers a batch of rows with a list (`[3.1, 2.7]`, `["setosa", "virginica"]`,
 * or numpy's `tolist()` of a column: `[[3.1], [2.7]]`) gives one prediction per row: each element
 * is counted on its own, as the rows were sent together only to save round trips.
 */
import { QuantileSketch, type SketchData } from "./quantile-sketch.js";

export type ModelType = "classification" | "regression";

export interface MonitoringConfig {
  modelType: ModelType;
  /** A field of a JSON-object response; null: the whole response is the prediction. */
  key: string | null;
}

/** Distinct classes one API keeps; the rest are counted together as `other`. */
export const MAX_CLASSES = 100;
/** Longer answers are not parsed for monitoring (counted as invalid). */
export const MAX_PARSED_BYTES = 64 * 1024;

/** What a recorder saw since it was last drained (serialisable; merged per minute). */
export interface PredictionTally {
  modelType: ModelType;
  /** Predictions recorded (valid ones). */
  count: number;
  /** Responses without the configured `key`. */
  missingKey: number;
  /** Responses whose prediction is not a class label / not a number, or too long to read. */
  invalid: number;
  /** Classification: count per class label. */
  classes: Record<string, number>;
  /** Classification: predictions of classes beyond MAX_CLASSES. */
  other: number;
  /** Regression: sum, min and max of the values, and their sketch. */
  sum: number;
  min: number | null;
  max: number | null;
  sketch: SketchData | null;
}

export function emptyTally(modelType: ModelType): PredictionTally {
  return {
    modelType,
    count: 0,
    missingKey: 0,
    invalid: 0,
    classes: {},
    other: 0,
    sum: 0,
    min: null,
    max: null,
    sketch: null,
  };
}

/** Answers at most this long are remembered by their bytes (a classifier's labels). */
const REMEMBERED_BYTES = 64;
/** How many distinct answers are remembered by their bytes. */
const REMEMBERED_ANSWERS = 16;

export class PredictionRecorder {
  readonly #config: MonitoringConfig;
  #tally: PredictionTally;
  #classes = new Map<string, number>();
  #sketch: QuantileSketch | undefined;
  /**
   * A classifier answers with a few labels over and over: the bytes of the last distinct answers
   * and what they decoded to, so a repeated answer is counted without decoding it again (the same
   * bytes always decode to the same value).
   */
  readonly #remembered: Array<{ bytes: Buffer; json: boolean; value: unknown }> = [];

  constructor(config: MonitoringConfig) {
    this.#config = config;
    this.#tally = emptyTally(config.modelType);
  }

  /** Records one successful answer's body; `json` says whether the worker encoded it as JSON. */
  recordBody(body: Uint8Array | string, json: boolean): void {
    if (body.length > MAX_PARSED_BYTES) {
      this.#tally.invalid++;
      return;
    }
    const remember =
      this.#config.modelType === "classification" &&
      Buffer.isBuffer(body) &&
      body.length <= REMEMBERED_BYTES;
    if (remember) {
      for (const known of this.#remembered) {
        if (known.json === json && sameBytes(known.bytes, body)) {
          this.recordValue(known.value);
          return;
        }
      }
    }
    // A Buffer decodes in place (Buffer.from would copy it first, on every answer).
    const text =
      typeof body === "string"
        ? body
        : Buffer.isBuffer(body)
          ? body.toString("utf8")
          : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8");
    let value: unknown = text;
    if (json) {
      try {
        value = JSON.parse(text);
      } catch {
        this.#tally.invalid++;
        return;
      }
    }
    if (remember && this.#remembered.length < REMEMBERED_ANSWERS) {
      // A copy: the answer's bytes belong to the worker's read buffer, which is reused.
      this.#remembered.push({ bytes: Buffer.from(body), json, value });
    }
    this.recordValue(value);
  }

  /** Records one prediction as the predictor returned it. */
  recordValue(response: unknown): void {
    const { key, modelType } = this.#config;
    let value = response;
    if (key !== null) {
      if (typeof response !== "object" || response === null || !(key in response)) {
        this.#tally.missingKey++;
        return;
      }
      value = (response as Record<string, unknown>)[key];
    }
    if (Array.isArray(value)) this.#recordEach(value, modelType);
    else if (modelType === "classification") this.#recordClass(value);
    else this.#recordNumber(value);
  }

  /**
   * One prediction per element of a list answer; an element that is itself a one-element list
   * (a column vector) is that element. An empty list predicts nothing, so counts nothing.
   */
  #recordEach(values: readonly unknown[], modelType: ModelType): void {
    for (const element of values) {
      const value =
        Array.isArray(element) && element.length === 1 ? (element[0] as unknown) : element;
      if (modelType === "classification") this.#recordClass(value);
      else this.#recordNumber(value);
    }
  }

  /** What was recorded since the last drain (undefined: nothing), and a fresh start. */
  drain(): PredictionTally | undefined {
    const tally = this.#tally;
    if (tally.count === 0 && tally.missingKey === 0 && tally.invalid === 0) return undefined;
    tally.classes = Object.fromEntries(this.#classes);
    tally.sketch = this.#sketch?.toData() ?? null;
    this.#tally = emptyTally(this.#config.modelType);
    this.#classes = new Map();
    this.#sketch = undefined;
    return tally;
  }

  #recordClass(value: unknown): void {
    let label: string;
    if (typeof value === "string") label = value;
    else if (typeof value === "number" || typeof value === "boolean") label = String(value);
    else {
      this.#tally.invalid++;
      return;
    }
    this.#tally.count++;
    const seen = this.#classes.get(label);
    if (seen !== undefined) this.#classes.set(label, seen + 1);
    else if (this.#classes.size < MAX_CLASSES) this.#classes.set(label, 1);
    else this.#tally.other++;
  }

  #recordNumber(value: unknown): void {
    const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
    if (typeof number !== "number" || !Number.isFinite(number)) {
      this.#tally.invalid++;
      return;
    }
    const tally = this.#tally;
    tally.count++;
    tally.sum += number;
    tally.min = tally.min === null ? number : Math.min(tally.min, number);
    tally.max = tally.max === null ? number : Math.max(tally.max, number);
    (this.#sketch ??= new QuantileSketch()).add(number);
  }
}

/** Byte equality, in JavaScript: for answers this short, cheaper than Buffer#equals' native call. */
function sameBytes(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Adds `from` into `into` (same model type), keeping at most MAX_CLASSES classes. */
export function mergeTally(into: PredictionTally, from: PredictionTally): PredictionTally {
  into.count += from.count;
  into.missingKey += from.missingKey;
  into.invalid += from.invalid;
  into.other += from.other;
  for (const [label, count] of Object.entries(from.classes)) {
    if (label in into.classes) into.classes[label] = (into.classes[label] ?? 0) + count;
    else if (Object.keys(into.classes).length < MAX_CLASSES) into.classes[label] = count;
    else into.other += count;
  }
  into.sum += from.sum;
  if (from.min !== null) into.min = into.min === null ? from.min : Math.min(into.min, from.min);
  if (from.max !== null) into.max = into.max === null ? from.max : Math.max(into.max, from.max);
  if (from.sketch !== null) {
    const sketch = into.sketch === null ? new QuantileSketch() : QuantileSketch.from(into.sketch);
    sketch.merge(from.sketch);
    into.sketch = sketch.toData();
  }
  return into;
}
