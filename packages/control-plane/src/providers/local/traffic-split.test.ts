import { describe, expect, it } from "vitest";
import { TrafficSplit } from "./traffic-split.js";

function picks(split: TrafficSplit, count: number): string[] {
  return Array.from({ length: count }, () => split.pick() ?? "none");
}

describe("TrafficSplit (smooth weighted round robin)", () => {
  it("Given a 90/10 split, When 1,000 requests are picked, Then every window of 100 consecutive picks holds 90 ± 1 of a", () => {
    // Given
    const split = new TrafficSplit("ab", [
      { api: "a", weight: 90 },
      { api: "b", weight: 10 },
    ]);
    // When
    const sequence = picks(split, 1000);
    // Then: nginx's algorithm interleaves, so the bound holds for any window, not only on average
    for (let start = 0; start + 100 <= sequence.length; start++) {
      const a = sequence.slice(start, start + 100).filter((api) => api === "a").length;
      expect(Math.abs(a - 90), `window starting at ${start}`).toBeLessThanOrEqual(1);
    }
    expect(sequence.filter((api) => api === "b")).toHaveLength(100);
  });

  it("Given three APIs 50/30/20, When 100 requests are picked, Then each gets exactly its weight", () => {
    const split = new TrafficSplit("abc", [
      { api: "a", weight: 50 },
      { api: "b", weight: 30 },
      { api: "c", weight: 20 },
    ]);
    const sequence = picks(split, 100);
    expect(["a", "b", "c"].map((api) => sequence.filter((p) => p === api).length)).toEqual([
      50, 30, 20,
    ]);
    expect(split.stats().map((s) => s.requests)).toEqual([50, 30, 20]);
  });

  it("Given a weight of 0, When picked, Then that API receives nothing", () => {
    const split = new TrafficSplit("ab", [
      { api: "a", weight: 100 },
      { api: "b", weight: 0 },
    ]);
    expect(new Set(picks(split, 50))).toEqual(new Set(["a"]));
  });

  it("Given counted traffic, When the weights change, Then the counts stay and the new weights apply", () => {
    // Given 10 requests at 50/50, one answered 500
    const split = new TrafficSplit("ab", [
      { api: "a", weight: 50 },
      { api: "b", weight: 50 },
    ]);
    picks(split, 10);
    split.recordAnswer("b", 500);
    split.recordAnswer("a", 200);
    // When the weights become 0/100
    split.setWeights([
      { api: "a", weight: 0 },
      { api: "b", weight: 100 },
    ]);
    picks(split, 10);
    // Then
    expect(split.stats()).toEqual([
      { api: "a", weight: 0, requests: 5, errors: 0 },
      { api: "b", weight: 100, requests: 15, errors: 1 },
    ]);
  });
});
