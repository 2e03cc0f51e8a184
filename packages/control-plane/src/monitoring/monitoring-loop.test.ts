/**
 * The monitoring loop over a real SQLite file, the real recorder feeding it (as replica fronts
 * would), and a recording event sink: exact counts, drift and its event, durability across a
 * reopened database (what a `kill -9` leaves), and retention.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { RecordingSink } from "../events/event-sink.js";
import { PredictionRecorder, type PredictionTally } from "../replica/prediction-recorder.js";
import { PredictionStore } from "../state/prediction-store.js";
import { StateStore } from "../state/store.js";
import { apiSpec } from "../testing/specs.js";
import { MonitoringLoop } from "./monitoring-loop.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(monitoring: string, options: { baselineSize?: number; retentionMs?: number } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "axon-monitoring-"));
  dirs.push(dir);
  const file = path.join(dir, "state.db");
  const store = StateStore.open(file);
  store.addBundle("b", 1);
  store.putApiVersion(
    {
      id: "v1",
      apiName: "iris",
      spec: apiSpec("iris", monitoring),
      specHash: "h",
      bundle: "b",
      configFile: "axon.yaml",
      projectPath: null,
      artifact: {},
      createdAt: "2026-12-03T10:00:00.000Z",
    },
    "RealtimeAPI",
    1,
  );
  const recorder = new PredictionRecorder(
    monitoring.includes("regression")
      ? { modelType: "regression", key: null }
      : { modelType: "classification", key: null },
  );
  const source = {
    drainPredictions: (): Array<{ versionId: string; tally: PredictionTally }> => {
      const tally = recorder.drain();
      return tally === undefined ? [] : [{ versionId: "v1", tally }];
    },
  };
  const events = new RecordingSink();
  let predictions = PredictionStore.open(file);
  const make = () => new MonitoringLoop({ store, predictions, source, events, ...options });
  let loop = make();
  const reopen = () => {
    predictions.close();
    predictions = PredictionStore.open(file);
    loop = make();
  };
  return {
    store,
    recorder,
    events,
    loop: () => loop,
    reopen,
    api: () => store.getApi("iris") ?? fail(),
  };
}

const CLASSIFIER = "  monitoring:\n    model_type: classification\n";
const at = (minute: number) => new Date(Date.parse("2026-12-03T10:00:00Z") + minute * 60_000);

/** Records `counts` of each class, in a fixed interleaved order. */
function answer(recorder: PredictionRecorder, counts: Record<string, number>): void {
  const left = { ...counts };
  for (let more = true; more;) {
    more = false;
    for (const label of Object.keys(left)) {
      if ((left[label] ?? 0) === 0) continue;
      recorder.recordValue(label);
      left[label] = (left[label] ?? 0) - 1;
      more = true;
    }
  }
}

describe("MonitoringLoop", () => {
  test("a known sequence gives exactly its class counts, kept across a reopened database", () => {
    // Given answers over two minutes
    const t = setup(CLASSIFIER);
    answer(t.recorder, { setosa: 5, virginica: 3 });
    t.loop().flush(at(0.5));
    answer(t.recorder, { setosa: 1, versicolor: 2 });
    t.loop().flush(at(1.5));
    // (/metrics counts them by class, since this daemon started)
    expect(t.loop().prometheus()).toContain(
      'axon_predictions_total{api="iris",version="v1",class="setosa"} 6',
    );
    // When the daemon dies and a new one opens the database
    t.reopen();
    // Then the summary since the version was deployed has every prediction
    const summary = t.loop().summary(t.api(), at(2));
    expect(summary?.current).toEqual({
      versionId: "v1",
      predictions: 11,
      missingKey: 0,
      invalid: 0,
      classes: [
        { label: "setosa", count: 6, share: 0.5455 },
        { label: "virginica", count: 3, share: 0.2727 },
        { label: "versicolor", count: 2, share: 0.1818 },
      ],
      other: 0,
    });
    expect(summary?.drift.message).toBe("collecting a baseline: 11 of 1000 predictions");
    // And a range after the first minute has only the second
    expect(t.loop().summary(t.api(), at(2), at(1))?.current.predictions).toBe(3);
  });

  test("a stream drawn from the baseline mix is stable; a shifted one is flagged once, naming the class, as an event", () => {
    const t = setup(CLASSIFIER, { baselineSize: 300 });
    // Given a baseline of 300 predictions (12% setosa) and the same mix after it
    answer(t.recorder, { setosa: 36, versicolor: 132, virginica: 132 });
    t.loop().flush(at(0));
    answer(t.recorder, { setosa: 12, versicolor: 44, virginica: 44 });
    t.loop().flush(at(1));
    t.loop().check(at(1));
    expect(t.loop().summary(t.api(), at(1))?.drift).toMatchObject({
      shifted: false,
      baseline: "first 300 predictions of v1",
    });
    expect(t.events.events).toEqual([]);
    // When the answers shift towards setosa for a while
    for (let m = 2; m < 10; m++) {
      answer(t.recorder, { setosa: 90, versicolor: 5, virginica: 5 });
      t.loop().flush(at(m));
      t.loop().check(at(m));
    }
    // Then it is flagged, once, naming setosa
    const drift = t.loop().summary(t.api(), at(10))?.drift;
    expect(drift?.shifted).toBe(true);
    expect(drift?.message).toMatch(/^shifted: setosa 12% → \d+% \(PSI [\d.]+\)$/);
    // (the event carries the words of the minute it crossed the threshold)
    expect(t.events.events).toEqual([
      {
        kind: "monitoring.shifted",
        api: "iris",
        versionId: "v1",
        message: expect.stringMatching(/^shifted: setosa 12% → \d+% \(PSI [\d.]+\)$/),
      },
    ]);
  });

  test("a regression API shows count, mean, min, max and quantiles", () => {
    const t = setup("  monitoring:\n    model_type: regression\n");
    for (let i = 1; i <= 100; i++) t.recorder.recordValue(i);
    t.recorder.recordValue("not a number");
    t.loop().flush(at(0));
    const current = t.loop().summary(t.api(), at(1))?.current;
    expect(current).toMatchObject({ predictions: 100, invalid: 1 });
    expect(current?.stats).toMatchObject({ count: 100, mean: 50.5, min: 1, max: 100 });
    expect(Math.abs((current?.stats?.p50 ?? 0) - 50) / 50).toBeLessThanOrEqual(0.02);
    expect(Math.abs((current?.stats?.p99 ?? 0) - 99) / 99).toBeLessThanOrEqual(0.02);
    const metrics = t.loop().prometheus();
    expect(metrics).toContain(
      'axon_prediction_value_bucket{api="iris",version="v1",le="+Inf"} 100',
    );
    expect(metrics).toContain('axon_prediction_value_bucket{api="iris",version="v1",le="50"} 50');
    expect(metrics).toContain('axon_prediction_value_sum{api="iris",version="v1"} 5050');
  });

  test("retention removes old buckets; an API without monitoring records nothing", () => {
    const t = setup(CLASSIFIER, { retentionMs: 60 * 60_000 });
    answer(t.recorder, { a: 4 });
    t.loop().flush(at(0));
    answer(t.recorder, { b: 2 });
    t.loop().flush(at(90));
    t.loop().check(at(91));
    expect(t.loop().summary(t.api(), at(91), at(0))?.current.predictions).toBe(2);
    const off = setup("");
    answer(off.recorder, { a: 1 });
    off.loop().flush(at(0));
    expect(off.loop().summary(off.api(), at(1))).toBeUndefined();
  });
});

function fail(): never {
  throw new Error("no api");
}
