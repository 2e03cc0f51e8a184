import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "./duration.js";
import { parseApiConfig } from "./parse-config.js";
import { API_CONFIG_SCHEMA_ID, apiConfigSchema, getApiValidator } from "./schema.js";

type Property = { description?: string; default?: unknown; format?: string };
type Definition = { description?: string; properties?: Record<string, Property> };
const definitions = apiConfigSchema["definitions"] as Record<string, Definition>;

describe("apiConfigSchema", () => {
  it("Given the schema file, When loaded, Then it is identified by its $id and describes a list of APIs", () => {
    expect(apiConfigSchema["$id"]).toBe(API_CONFIG_SCHEMA_ID);
    expect(apiConfigSchema["type"]).toBe("array");
    // An item is a TrafficSplitter or a BatchAPI when its kind says so, else an API.
    const items = apiConfigSchema["items"] as Record<string, unknown>;
    expect(items["then"]).toEqual({ $ref: "#/definitions/traffic_splitter" });
    const notSplitter = items["else"] as Record<string, unknown>;
    expect(notSplitter["then"]).toEqual({ $ref: "#/definitions/batch_api" });
    expect(notSplitter["else"]).toEqual({ $ref: "#/definitions/api" });
  });

  it("Given every field in the schema, When read by an editor, Then it has a description", () => {
    const undocumented = Object.entries(definitions).flatMap(([name, definition]) =>
      Object.entries(definition.properties ?? {})
        .filter(
          ([, property]) => typeof property.description !== "string" || property.description === "",
        )
        .map(([key]) => `${name}.${key}`),
    );
    expect(undocumented).toEqual([]);
  });

  it("Given the schema's defaults, When a minimal API is resolved, Then the spec carries exactly those defaults", () => {
    // Given a minimal API
    const [spec] = parseApiConfig(
      "- name: iris\n  kind: RealtimeAPI\n  predictor: {type: python, path: p.py}\n",
      "axon.yaml",
    ).apis;
    // When its sections are compared to the schema defaults (durations in Go's canonical form)
    const resolved = spec as unknown as Record<string, Record<string, unknown>>;
    for (const section of ["compute", "autoscaling", "update_strategy", "networking"]) {
      for (const [key, property] of Object.entries(definitions[section]?.properties ?? {})) {
        if (!("default" in property)) continue;
        const expected =
          property.format === "go-duration" && typeof property.default === "string"
            ? formatDuration(parseDuration(property.default))
            : property.default;
        // Then they match
        expect(resolved[section]?.[key], `${section}.${key}`).toEqual(expected);
      }
    }
  });

  it("Given repeated validations, When the validator is requested, Then it is compiled once", () => {
    expect(getApiValidator()).toBe(getApiValidator());
  });
});
