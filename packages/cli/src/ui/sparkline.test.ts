import { describe, expect, it } from "vitest";
import { sparkline } from "./sparkline.js";

describe("sparkline", () => {
  it("scales rates from zero, oldest first, with gaps for nothing measured", () => {
    expect(sparkline([null, 0, 5, 10], 10)).toBe(" ▁▅█");
    expect(sparkline([0, 0], 10)).toBe("▁▁");
  });

  it("scales latencies from their smallest value, so a change shows and a flat line sits mid-way", () => {
    expect(sparkline([100, 101, 102], 10, "min")).toBe("▁▅█");
    expect(sparkline([5, 5, 5], 10, "min")).toBe("▄▄▄");
  });

  it("keeps the last `width` values", () => {
    expect(sparkline([1, 2, 3, 4, 8], 2)).toBe("▅█");
  });
});
