import { describe, expect, it } from "vitest";
import { rawHeader } from "./raw-header.js";

describe("rawHeader", () => {
  it("finds a header whatever the case the client sent, first value wins", () => {
    // Given raw headers as Node keeps them: names in the client's case, repeats kept
    const raw = ["Host", "x", "Content-Type", "application/json", "content-type", "text/plain"];
    // When looking up by the lower-case name
    // Then the first occurrence is returned
    expect(rawHeader(raw, "content-type")).toBe("application/json");
    expect(rawHeader(raw, "host")).toBe("x");
  });

  it("returns undefined for an absent header, also when only a prefix matches", () => {
    // Given headers whose names share a prefix with the one asked for
    const raw = ["Content-Length", "4", "X-Request-ID-Extra", "a"];
    // When / Then
    expect(rawHeader(raw, "x-request-id")).toBeUndefined();
    expect(rawHeader(raw, "content-type")).toBeUndefined();
  });
});
