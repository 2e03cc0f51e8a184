import { describe, expect, test } from "vitest";
import { QuantileSketch } from "../replica/quantile-sketch.js";
import { classificationDrift, regressionDrift } from "./drift.js";

describe("classificationDrift", () => {
  test("a stream drawn from the baseline mix is stable", () => {
    const verdict = classificationDrift(
      { setosa: 330, versicolor: 340, virginica: 330 },
      { setosa: 98, versicolor: 104, virginica: 98 },
    );
    expect(verdict.shifted).toBe(false);
    expect(verdict.message).toMatch(/^stable \(PSI 0(\.0\d)?\)$/);
  });

  test("a shifted stream is flagged, naming the class that moved and how much", () => {
    const verdict = classificationDrift(
      { setosa: 120, versicolor: 440, virginica: 440 },
      { setosa: 410, versicolor: 300, virginica: 290 },
    );
    expect(verdict.shifted).toBe(true);
    expect(verdict.message).toBe(`shifted: setosa 12% → 41% (PSI ${verdict.psi})`);
    expect(verdict.psi).toBeGreaterThan(0.2);
  });

  test("a class the baseline never saw counts, without an infinite PSI", () => {
    const verdict = classificationDrift({ cat: 100 }, { cat: 50, dog: 50 });
    expect(Number.isFinite(verdict.psi)).toBe(true);
    expect(verdict.message).toMatch(/^shifted: (cat 100% → 50%|dog 0% → 50%)/);
  });
});

describe("regressionDrift", () => {
  function sketchOf(values: number[]) {
    const sketch = new QuantileSketch();
    for (const v of values) sketch.add(v);
    return sketch.toData();
  }
  const series = (n: number, from: number, step: number) =>
    Array.from({ length: n }, (_, i) => from + ((i * 7919) % n) * step);

  test("the same distribution is stable; a moved one is flagged with its medians", () => {
    const baseline = sketchOf(series(2000, 10, 0.01));
    expect(regressionDrift(baseline, sketchOf(series(500, 10, 0.04))).shifted).toBe(false);
    const moved = regressionDrift(baseline, sketchOf(series(500, 25, 0.04)));
    expect(moved.shifted).toBe(true);
    expect(moved.message).toMatch(/^shifted: median (19.9|20) → 3[45](\.\d)? \(PSI [\d.]+\)$/);
  });
});
