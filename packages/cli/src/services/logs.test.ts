import { describe, expect, it } from "vitest";
import { LogLineReader, matchesLogFilter, parseLogLine } from "./logs.js";

describe("parseLogLine", () => {
  it("reads the replica of a control-plane line from its message", () => {
    const record = parseLogLine(
      "2026-12-03 17:00:01.000 axon   [iris] replica r-aaa111 is ready (0.9s)",
      undefined,
    );
    expect(record).toMatchObject({
      source: "control-plane",
      level: "axon",
      replica: "r-aaa111",
      worker: undefined,
      message: "replica r-aaa111 is ready (0.9s)",
      continuation: false,
    });
  });

  it("gives a line without a header the context of the line before it", () => {
    // Given an ERROR line about a request, then a traceback line
    const error = parseLogLine(
      "2026-12-03 17:09:00.000 ERROR [iris r-bbb222 w1] request req-7: predict() raised",
      undefined,
    );
    const traceback = parseLogLine("ValueError: bad input", error);

    // Then the traceback line belongs to the same replica, worker, request and time
    expect(traceback).toMatchObject({
      source: "output",
      replica: "r-bbb222",
      worker: "w1",
      requestIds: ["req-7"],
      time: error.time,
      continuation: true,
    });
    expect(matchesLogFilter(traceback, { requestId: "req-7", replica: "bbb" })).toBe(true);
  });
});

describe("LogLineReader", () => {
  it("holds a line back until its newline arrives, and gives the rest at the end", () => {
    const reader = new LogLineReader();
    expect(reader.push("first li")).toEqual([]);
    expect(reader.push("ne\r\nsecond").map((record) => record.line)).toEqual(["first line"]);
    expect(reader.end().map((record) => record.line)).toEqual(["second"]);
    expect(reader.end()).toEqual([]);
  });
});
