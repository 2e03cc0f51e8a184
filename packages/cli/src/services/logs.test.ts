import { describe, expect, it } from "vitest";
import type { ApiClient } from "../client/api-client.js";
import { LogLineReader, matchesLogFilter, parseLogLine, readApiLogs } from "./logs.js";

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

describe("readApiLogs --grep", () => {
  const LOG = [
    "2026-12-03 17:09:00.000 INFO [iris r-bbb222 w0] loaded predictor in 40 ms",
    "2026-12-03 17:09:01.000 ERROR [iris r-bbb222 w0] request req-7: predict() raised an exception: KeyError('sepal_length')",
    "Traceback (most recent call last):",
    '  File "predictor.py", line 9, in predict',
    '    return payload["sepal_length"]',
    "KeyError: 'sepal_length'",
    "printed by the predictor",
    "2026-12-03 17:09:02.000 INFO [iris r-bbb222 w0] keyerror mentioned in passing",
    "",
  ].join("\n");

  /** A client whose log is LOG, handed over in chunks of `size` characters. */
  function clientOf(size: number): Pick<ApiClient, "streamLogs"> {
    return {
      streamLogs: async (_name, _options, onText) => {
        for (let i = 0; i < LOG.length; i += size) onText(LOG.slice(i, i + size));
      },
    };
  }

  async function grep(pattern: RegExp, tail?: number, size = 1000): Promise<string[]> {
    const lines: string[] = [];
    await readApiLogs(
      clientOf(size),
      "iris",
      { follow: false, tail, filter: { grep: pattern } },
      (record) => lines.push(record.line),
    );
    return lines;
  }

  it("shows a whole traceback, with the line announcing it, when one of its lines matches", async () => {
    // Given an API log with a traceback
    // When grepping for the exception's name as it appears on the traceback's last line
    const lines = await grep(/KeyError: 'sepal/);

    // Then the traceback comes whole, and nothing else
    expect(lines).toEqual(LOG.split("\n").slice(1, 6));
  });

  it("keeps other lines to themselves, counts a traceback once for --tail, and reads it across chunks", async () => {
    // When grepping (any case) for a word on the traceback and on a later line, the log read 7
    // characters at a time
    const all = await grep(/keyerror/i, undefined, 7);
    const last = await grep(/keyerror/i, 2, 7);

    // Then the traceback is one entry and the later line another; the printed line stays out
    expect(all).toEqual([...LOG.split("\n").slice(1, 6), LOG.split("\n")[7]]);
    expect(last).toEqual(all);
    expect(await grep(/printed by/)).toEqual(["printed by the predictor"]);
    expect(await grep(/loaded predictor/)).toEqual([LOG.split("\n")[0]]);
  });
});
