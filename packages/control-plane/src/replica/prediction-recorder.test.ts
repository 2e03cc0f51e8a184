/**
 * Prediction monitoring's recorder and its quantile sketch: exact class counts for a known
 * sequence, exact count/mean/min/max and quantiles within the sketch's stated error for a known
 * regression stream, and bounded memory whatever comes.
 */
import { describe, expect, test } from "vitest";
import {
  emptyTally,
  MAX_CLASSES,
  mergeTally,
  PredictionRecorder,
  type PredictionTally,
} from "./prediction-recorder.js";
import { MAX_BUCKETS, QuantileSketch, RELATIVE_ACCURACY } from "./quantile-sketch.js";

function drained(recorder: PredictionRecorder): PredictionTally {
  const tally = recorder.drain();
  if (tally === undefined) throw new Error("nothing recorded");
  return tally;
}

describe("PredictionRecorder, classification", () => {
  test("a known sequence of answers yields exactly its class counts", () => {
    const recorder = new PredictionRecorder({ modelType: "classification", key: null });
    const answers = ["setosa", "virginica", "setosa", "versicolor", "setosa", "virginica"];
    for (const answer of answers) recorder.recordBody(Buffer.from(answer), false);
    recorder.recordBody(Buffer.from("7"), true);
    recorder.recordBody(Buffer.from('{"label": "setosa"}'), true);
    expect(drained(recorder)).toMatchObject({
      count: 7,
      invalid: 1,
      missingKey: 0,
      classes: { setosa: 3, virginica: 2, versicolor: 1, "7": 1 },
      other: 0,
    });
    // Draining starts afresh
    expect(recorder.drain()).toBeUndefined();
  });

  test("repeated answers are counted exactly, from a reused read buffer, JSON and text apart, beyond the remembered ones", () => {
    const recorder = new PredictionRecorder({ modelType: "classification", key: null });
    // The worker's read buffer is reused: the same bytes are overwritten by the next answers
    const frame = Buffer.alloc(64);
    const answer = (text: string): Buffer => {
      frame.fill(0);
      frame.write(text, 0, "utf8");
      return frame.subarray(0, Buffer.byteLength(text));
    };
    for (let i = 0; i < 30; i++) recorder.recordBody(answer('"virginica"'), true);
    for (let i = 0; i < 5; i++) recorder.recordBody(answer('"setosa"'), true);
    // The same bytes as text are another class than as JSON
    recorder.recordBody(answer('"setosa"'), false);
    // More distinct answers than are remembered by their bytes
    for (let label = 0; label < 40; label++) {
      recorder.recordBody(answer(`"c${label}"`), true);
      recorder.recordBody(answer(`"c${label}"`), true);
    }
    const tally = drained(recorder);
    expect(tally.count).toBe(30 + 5 + 1 + 80);
    expect(tally.classes).toMatchObject({ virginica: 30, setosa: 5, '"setosa"': 1, c0: 2, c39: 2 });
  });

  test("with a key, the field of a JSON object is the class; a missing key is counted, not an error", () => {
    const recorder = new PredictionRecorder({ modelType: "classification", key: "label" });
    recorder.recordBody(Buffer.from('{"label": "cat", "p": 0.9}'), true);
    recorder.recordBody(Buffer.from('{"label": "dog"}'), true);
    recorder.recordBody(Buffer.from('{"p": 0.2}'), true);
    recorder.recordBody(Buffer.from("cat"), false);
    recorder.recordBody(Buffer.from("{not json"), true);
    expect(drained(recorder)).toMatchObject({
      count: 2,
      missingKey: 2,
      invalid: 1,
      classes: { cat: 1, dog: 1 },
    });
  });

  test("keeps at most MAX_CLASSES classes; the rest are `other`", () => {
    const recorder = new PredictionRecorder({ modelType: "classification", key: null });
    for (let i = 0; i < MAX_CLASSES + 50; i++) recorder.recordValue(`class-${i}`);
    recorder.recordValue("class-0");
    const tally = drained(recorder);
    expect(Object.keys(tally.classes)).toHaveLength(MAX_CLASSES);
    expect(tally.other).toBe(50);
    expect(tally.classes["class-0"]).toBe(2);
  });
});

describe("PredictionRecorder, regression", () => {
  test("count, mean, min and max exactly; quantiles within the sketch's stated error", () => {
    const recorder = new PredictionRecorder({ modelType: "regression", key: "price" });
    const values: number[] = [];
    // A deterministic skewed stream: 20,000 prices between 1 and ~5,000
    let x = 7;
    for (let i = 0; i < 20_000; i++) {
      x = (x * 48_271) % 2_147_483_647;
      const value = Math.exp((x / 2_147_483_647) * 8.5);
      values.push(value);
      recorder.recordBody(Buffer.from(JSON.stringify({ price: value })), true);
    }
    recorder.recordBody(Buffer.from('{"price": "n/a"}'), true);
    const tally = drained(recorder);
    expect(tally.count).toBe(20_000);
    expect(tally.invalid).toBe(1);
    expect(tally.sum / tally.count).toBeCloseTo(values.reduce((a, b) => a + b, 0) / 20_000, 6);
    expect(tally.min).toBe(Math.min(...values));
    expect(tally.max).toBe(Math.max(...values));
    const sorted = [...values].sort((a, b) => a - b);
    const sketch = QuantileSketch.from(tally.sketch ?? { positive: [], negative: [], zero: 0 });
    for (const q of [0.01, 0.25, 0.5, 0.9, 0.99]) {
      const exact = sorted[Math.floor(q * (sorted.length - 1))] ?? 0;
      const estimate = sketch.quantile(q) ?? 0;
      expect(Math.abs(estimate - exact) / exact).toBeLessThanOrEqual(RELATIVE_ACCURACY);
    }
  });

  test("a list answer (one number per row) counts each number, a column vector's too", () => {
    // Given a regression API whose predictor answers a batch of rows with a list
    const recorder = new PredictionRecorder({ modelType: "regression", key: null });

    // When it answers [1.5, 2.5, 5], then numpy's column vector [[4], [7]], then [], then [1, "x"]
    recorder.recordBody(Buffer.from("[1.5, 2.5, 5]"), true);
    recorder.recordBody(Buffer.from("[[4], [7]]"), true);
    recorder.recordBody(Buffer.from("[]"), true);
    recorder.recordBody(Buffer.from('[1, "x"]'), true);

    // Then every number counts on its own, and only the element that is not a number is invalid
    const tally = drained(recorder);
    expect(tally.count).toBe(6);
    expect(tally.invalid).toBe(1);
    expect(tally.sum).toBe(21);
    expect(tally.min).toBe(1);
    expect(tally.max).toBe(7);
  });

  test("a list under the key counts each too; a classifier's list of labels counts per label", () => {
    // Given a regression API with a key, and a classifier
    const regression = new PredictionRecorder({ modelType: "regression", key: "price" });
    const classifier = new PredictionRecorder({ modelType: "classification", key: null });

    // When each answers a list for a batch of rows
    regression.recordBody(Buffer.from('{"price": [10, 20]}'), true);
    classifier.recordBody(Buffer.from('["setosa", "virginica", "setosa"]'), true);

    // Then each element is one prediction
    expect(drained(regression)).toMatchObject({ count: 2, sum: 30, invalid: 0 });
    expect(drained(classifier)).toMatchObject({
      count: 3,
      classes: { setosa: 2, virginica: 1 },
      invalid: 0,
    });
  });

  test("negative values and zero are placed in order", () => {
    const sketch = new QuantileSketch();
    for (const v of [-100, -1, 0, 0, 1, 100]) sketch.add(v);
    expect(sketch.quantile(0)).toBeCloseTo(-100, 0);
    expect(sketch.quantile(0.5)).toBe(0);
    expect(sketch.quantile(1)).toBeCloseTo(100, 0);
    expect(sketch.cdf(0)).toBeCloseTo(4 / 6);
  });

  test("memory is bounded whatever comes: at most MAX_BUCKETS buckets per sign", () => {
    const sketch = new QuantileSketch();
    for (let e = -9; e < 12; e += 0.002) sketch.add(10 ** e);
    const data = sketch.toData();
    expect(data.positive.length).toBeLessThanOrEqual(MAX_BUCKETS);
    // The high quantiles keep their accuracy
    const p99 = sketch.quantile(0.99) ?? 0;
    const exactP99 = 10 ** (-9 + 0.99 * 21);
    expect(Math.abs(p99 - exactP99) / exactP99).toBeLessThan(0.05);
  });
});

describe("mergeTally", () => {
  test("adds tallies of replicas and minutes, keeping at most MAX_CLASSES classes", () => {
    const a = new PredictionRecorder({ modelType: "regression", key: null });
    const b = new PredictionRecorder({ modelType: "regression", key: null });
    for (const v of [1, 2, 3]) a.recordValue(v);
    for (const v of [10, 20]) b.recordValue(v);
    const merged = mergeTally(mergeTally(emptyTally("regression"), drained(a)), drained(b));
    expect(merged).toMatchObject({ count: 5, sum: 36, min: 1, max: 20 });
    expect(
      QuantileSketch.from(merged.sketch ?? { positive: [], negative: [], zero: 0 }).count,
    ).toBe(5);
  });
});
