/** Prediction monitoring's lines on ECS: what a replica prints, and what `get` reads back. */
import { describe, expect, test } from "vitest";
import { emptyTally, PredictionRecorder } from "./prediction-recorder.js";
import { parsePredictionLine, PredictionPublisher, predictionLine } from "./prediction-lines.js";

describe("prediction lines", () => {
  test("Given a replica's tally, When printed and read back, Then it is the same tally", () => {
    const recorder = new PredictionRecorder({ modelType: "classification", key: null });
    for (const label of ["setosa", "virginica", "setosa"]) recorder.recordValue(label);
    const tally = recorder.drain() ?? emptyTally("classification");
    const text = predictionLine({
      api: "iris",
      task: "0123abcd",
      at: "2026-12-03T10:00:00.000Z",
      tally,
    });
    expect(text).not.toContain("\n");
    expect(parsePredictionLine(text)).toEqual({
      api: "iris",
      task: "0123abcd",
      at: "2026-12-03T10:00:00.000Z",
      tally,
    });
  });

  test("Given other lines, When parsed, Then they are not prediction lines", () => {
    for (const message of [
      "axon-replica: ready: POST /iris",
      '{"_aws":{"Timestamp":1},"InFlightRequests":2}',
      '{"axon_predictions":1,"api":"iris"}',
      '{"axon_predictions":1,"api":"iris","task":"t","at":"never","tally":{}}',
      '{"axon_predictions": broken',
    ]) {
      expect(parsePredictionLine(message)).toBeUndefined();
    }
  });

  test("Given a publisher, When intervals pass, Then one line per tally, none when nothing was tallied, and the rest on stop", () => {
    const recorder = new PredictionRecorder({ modelType: "regression", key: null });
    const lines: string[] = [];
    const publisher = new PredictionPublisher({
      drain: () => recorder.drain(),
      api: "price",
      task: "t1",
      write: (line) => lines.push(line),
      now: () => Date.parse("2026-12-03T10:00:00Z"),
    });
    recorder.recordValue(1.5);
    recorder.recordValue(2.5);
    publisher.flush();
    publisher.flush(); // nothing new: nothing printed
    recorder.recordValue(10);
    publisher.stop();
    expect(lines).toHaveLength(2);
    expect(lines.map((line) => parsePredictionLine(line)?.tally.count)).toEqual([2, 1]);
    expect(parsePredictionLine(lines[0] ?? "")?.tally).toMatchObject({
      sum: 4,
      min: 1.5,
      max: 2.5,
    });
  });
});
