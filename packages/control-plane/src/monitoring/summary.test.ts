/** The monitoring `get` shows from timed tallies (an API on ECS): sums, baseline and drift. */
import { describe, expect, test } from "vitest";
import { PredictionRecorder, type PredictionTally } from "../replica/prediction-recorder.js";
import { monitoringFromTallies } from "./summary.js";

function tallyOf(labels: Record<string, number>): PredictionTally {
  const recorder = new PredictionRecorder({ modelType: "classification", key: null });
  for (const [label, count] of Object.entries(labels))
    for (let i = 0; i < count; i++) recorder.recordValue(label);
  const tally = recorder.drain();
  if (tally === undefined) throw new Error("empty");
  return tally;
}

const NOW = new Date("2026-12-03T12:00:00Z");
const minutesAgo = (minutes: number): Date => new Date(NOW.getTime() - minutes * 60_000);

describe("monitoringFromTallies", () => {
  test("Given two hours of a stable mix, Then the counts are summed and the verdict is stable", () => {
    const tallies = Array.from({ length: 120 }, (_, i) => ({
      at: minutesAgo(120 - i),
      tally: tallyOf({ setosa: 30, versicolor: 30, virginica: 40 }),
    }));
    const monitoring = monitoringFromTallies({
      modelType: "classification",
      key: null,
      versionId: "revision 3",
      since: minutesAgo(180),
      now: NOW,
      tallies,
    });
    expect(monitoring.current.predictions).toBe(12_000);
    expect(monitoring.current.classes?.[0]).toEqual({
      label: "virginica",
      count: 4_800,
      share: 0.4,
    });
    expect(monitoring.drift.message).toMatch(/^stable \(PSI 0(\.0+)?\)$/);
    expect(monitoring.drift.baseline).toBe("first 1000 predictions of revision 3");
  });

  test("Given a mix that moved in the last hour, Then it is flagged naming the class", () => {
    const tallies = [
      ...Array.from({ length: 60 }, (_, i) => ({
        at: minutesAgo(120 - i),
        tally: tallyOf({ setosa: 10, versicolor: 45, virginica: 45 }),
      })),
      ...Array.from({ length: 60 }, (_, i) => ({
        at: minutesAgo(59 - i),
        tally: tallyOf({ setosa: 60, versicolor: 20, virginica: 20 }),
      })),
    ];
    const monitoring = monitoringFromTallies({
      modelType: "classification",
      key: null,
      versionId: "revision 3",
      since: minutesAgo(180),
      now: NOW,
      tallies,
    });
    expect(monitoring.drift.shifted).toBe(true);
    expect(monitoring.drift.message).toMatch(/^shifted: setosa 10% → 60% \(PSI /);
  });

  test("Given fewer predictions than the baseline needs, or tallies before since, Then it says it is collecting", () => {
    const monitoring = monitoringFromTallies({
      modelType: "classification",
      key: null,
      versionId: "revision 1",
      since: minutesAgo(10),
      now: NOW,
      tallies: [
        { at: minutesAgo(30), tally: tallyOf({ setosa: 5000 }) },
        { at: minutesAgo(5), tally: tallyOf({ setosa: 30 }) },
      ],
    });
    expect(monitoring.current.predictions).toBe(30);
    expect(monitoring.drift.message).toBe("collecting a baseline: 30 of 1000 predictions");
  });
});
