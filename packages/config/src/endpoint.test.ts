import { describe, expect, it } from "vitest";
import { canonicalizeEndpoint } from "./endpoint.js";

describe("canonicalizeEndpoint", () => {
  it.each([
    ["/iris", "/iris"],
    ["iris", "/iris"],
    ["/iris/", "/iris"],
    ["iris/", "/iris"],
    ["/models/iris/v1", "/models/iris/v1"],
    ["/iris_v1.2-beta", "/iris_v1.2-beta"],
    ["a", "/a"],
  ])("Given %s, When canonicalised, Then it is %s", (input, expected) => {
    expect(canonicalizeEndpoint(input)).toBe(expected);
  });

  it.each([
    ["/", "a path must be specified"],
    ["", "a path must be specified"],
    ["//iris", "must not contain //"],
    ["/iris//v1", "must not contain //"],
    ["/iris?x=1", "must contain only letters"],
    ["/iris classifier", "must contain only letters"],
    ["/iris/../admin", "must not contain . or .."],
    ["/./iris", "must not contain . or .."],
  ])("Given %j, When canonicalised, Then it is rejected with %j", (input, fragment) => {
    expect(() => canonicalizeEndpoint(input)).toThrow(fragment);
  });
});
