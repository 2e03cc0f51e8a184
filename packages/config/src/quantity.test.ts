import { describe, expect, it } from "vitest";
import { parseQuantity } from "./quantity.js";

describe("parseQuantity", () => {
  it.each([
    ["1", 1],
    ["0.5", 0.5],
    [".5", 0.5],
    ["2.", 2],
    ["200m", 0.2],
    ["20m", 0.02],
    ["1500m", 1.5],
    ["100u", 0.0001],
    ["5n", 5e-9],
    ["500Mi", 500 * 1024 ** 2],
    ["20Mi", 20 * 1024 ** 2],
    ["1Gi", 1024 ** 3],
    ["1.5Gi", 1.5 * 1024 ** 3],
    ["1Ki", 1024],
    ["2G", 2e9],
    ["200M", 2e8],
    ["1k", 1000],
    ["1T", 1e12],
    ["1E", 1e18],
    ["1e3", 1000],
    ["1E3", 1000],
    ["5e-1", 0.5],
    ["+1", 1],
    ["-1", -1],
  ])("Given %s, When parsed, Then it is %d", (text, expected) => {
    expect(parseQuantity(text)).toBe(expected);
  });

  it.each(["", "abc", "1Kb", "1 Gi", "Mi", "1.2.3", "1mi", "1e", "1e1.5", "--1", " 1", "1gi", "."])(
    "Given %j, When parsed, Then it throws the invalid-quantity message",
    (text) => {
      expect(() => parseQuantity(text)).toThrow(
        `${text}: invalid quantity, some valid examples are 1, 200m, 500Mi, 2G`,
      );
    },
  );
});
