import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "./duration.js";

describe("parseDuration", () => {
  it.each([
    ["0", 0],
    ["0s", 0],
    ["60s", 60_000],
    ["1m", 60_000],
    ["1m0s", 60_000],
    ["1m30s", 90_000],
    ["500ms", 500],
    ["1h2m3.5s", 3_723_500],
    ["1.5h", 5_400_000],
    ["2h45m", 9_900_000],
    ["10s", 10_000],
    ["100us", 0.1],
    ["100µs", 0.1],
    ["100μs", 0.1],
    ["1500ns", 0.0015],
    ["-1m", -60_000],
    ["+5s", 5000],
    [".5s", 500],
    ["1.s", 1000],
  ])("Given %s, When parsed, Then it is %d ms", (text, expected) => {
    expect(parseDuration(text)).toBeCloseTo(expected, 9);
  });

  it.each(["", "1", "60", "s", "1d", "1 m", "1m 30s", "1.5.5s", "-", "1S", "ms", "1h-2m"])(
    "Given %j, When parsed, Then it throws naming the text",
    (text) => {
      expect(() => parseDuration(text)).toThrow(`${text}: invalid duration`);
    },
  );
});

describe("formatDuration", () => {
  it.each([
    [0, "0s"],
    [500, "500ms"],
    [1, "1ms"],
    [1.5, "1.5ms"],
    [0.001, "1µs"],
    [0.0015, "1.5µs"],
    [0.000001, "1ns"],
    [1000, "1s"],
    [1500, "1.5s"],
    [10_000, "10s"],
    [60_000, "1m0s"],
    [90_000, "1m30s"],
    [300_000, "5m0s"],
    [3_600_000, "1h0m0s"],
    [3_723_500, "1h2m3.5s"],
    [90_061_001, "25h1m1.001s"],
    [-60_000, "-1m0s"],
  ])(
    "Given %d ms, When formatted, Then it reads %s like Go's Duration.String()",
    (ms, expected) => {
      expect(formatDuration(ms)).toBe(expected);
    },
  );

  it.each(["60s", "1m", "1m30s", "500ms", "1h2m3.5s", "5m", "0", "2m30s", "1.5s", "250ms", "3h"])(
    "Given %s, When parsed and formatted and parsed again, Then the value survives the round trip",
    (text) => {
      const ms = parseDuration(text);
      const formatted = formatDuration(ms);
      expect(parseDuration(formatted)).toBe(ms);
      expect(formatDuration(parseDuration(formatted))).toBe(formatted);
    },
  );
});
