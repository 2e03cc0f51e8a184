import { describe, expect, it } from "vitest";
import { ConfigError, type Diagnostic } from "./diagnostics.js";
import { parseApiConfig } from "./parse-config.js";
import { specHash } from "./index.js";

const BASE = "- name: iris\n  predictor:\n    type: python\n    path: predictor.py\n";

function diagnostics(yaml: string, files: string[]): Diagnostic[] {
  try {
    parseApiConfig(yaml, "axon.yaml", { fileExists: (path) => files.includes(path) });
  } catch (error) {
    if (error instanceof ConfigError) return error.diagnostics;
    throw error;
  }
  return [];
}

describe("predictor.smoke_test", () => {
  it("Given a smoke test, When parsed, Then the spec carries it with the default status and a normalised path", () => {
    const yaml = `${BASE}    smoke_test:\n      payload: ./data/sample.json\n      expect_json: {label: virginica}\n`;
    const [spec] = parseApiConfig(yaml, "axon.yaml", {
      fileExists: (path) => ["predictor.py", "data/sample.json"].includes(path),
    }).apis;
    expect(spec?.predictor.smoke_test).toEqual({
      payload: "data/sample.json",
      expect_status: 200,
      expect_json: { label: "virginica" },
    });
  });

  it("Given no smoke test, When parsed, Then the spec (and its hash) has no such field", () => {
    const [spec] = parseApiConfig(BASE, "axon.yaml").apis;
    expect(spec === undefined ? undefined : "smoke_test" in spec.predictor).toBe(false);
    expect(spec === undefined ? "" : specHash(spec)).toMatch(/^[0-9a-f]+$/);
  });

  it("Given a payload file that is not in the project, When parsed, Then the diagnostic names the field and the file", () => {
    const yaml = `${BASE}    smoke_test:\n      payload: samples.json\n`;
    const found = diagnostics(yaml, ["predictor.py", "sample.json"]);
    expect(found).toHaveLength(1);
    expect(found[0]?.path).toContain("smoke_test.payload");
    expect(found[0]?.message).toContain("file samples.json does not exist in the project");
  });

  it("Given a status outside 100–599 or an unknown key, When parsed, Then both are reported", () => {
    const yaml = `${BASE}    smoke_test:\n      payload: sample.json\n      expect_status: 42\n      expect_body: x\n`;
    const found = diagnostics(yaml, ["predictor.py", "sample.json"]);
    expect(found.map((d) => d.path).join(" ")).toContain("expect_status");
    expect(found.map((d) => d.message).join(" ")).toContain("expect_body");
  });
});
