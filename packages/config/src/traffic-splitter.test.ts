import { describe, expect, it } from "vitest";
import { ConfigError } from "./diagnostics.js";
import { parseApiConfig } from "./parse-config.js";

const IRIS = "- name: iris-a\n  kind: RealtimeAPI\n  predictor: {type: python, path: p.py}\n";
const IRIS_B = "- name: iris-b\n  kind: RealtimeAPI\n  predictor: {type: python, path: p.py}\n";

function problems(yaml: string): string[] {
  try {
    parseApiConfig(yaml, "cortex.yaml");
  } catch (error) {
    if (error instanceof ConfigError) {
      return error.diagnostics.map((d) => `${d.line ?? "?"} ${d.path}: ${d.message}`);
    }
    throw error;
  }
  return [];
}

describe("kind: TrafficSplitter (Cortex 0.20)", () => {
  it("Given a Cortex 0.20 splitter beside its two APIs, When parsed, Then the APIs and the splitter are resolved apart", () => {
    // Given the file as a Cortex 0.20 user wrote it
    const yaml = `${IRIS}${IRIS_B}- name: iris\n  kind: TrafficSplitter\n  endpoint: iris/\n  apis:\n    - name: iris-a\n      weight: 70\n    - name: iris-b\n      weight: 30\n`;
    // When parsed
    const parsed = parseApiConfig(yaml, "cortex.yaml");
    // Then the splitter is its own spec, its endpoint canonical, and not among the APIs
    expect(parsed.apis.map((api) => api.name)).toEqual(["iris-a", "iris-b"]);
    expect(parsed.splitters).toEqual([
      {
        name: "iris",
        kind: "TrafficSplitter",
        endpoint: "/iris",
        apis: [
          { name: "iris-a", weight: 70 },
          { name: "iris-b", weight: 30 },
        ],
      },
    ]);
  });

  it("Given a splitter with no endpoint, When parsed, Then it is served at /<name>", () => {
    const parsed = parseApiConfig(
      "- name: ab\n  kind: TrafficSplitter\n  apis: [{name: x, weight: 100}]\n",
      "cortex.yaml",
    );
    expect(parsed.splitters[0]?.endpoint).toBe("/ab");
  });

  it("Given weights out of range, a missing weight and an unknown key, When parsed, Then each is reported at its line", () => {
    const yaml =
      "- name: ab\n  kind: TrafficSplitter\n  apis:\n    - name: x\n      weight: 101\n    - name: y\n    - name: z\n      weight: -1\n      shadow: true\n";
    expect(problems(yaml)).toEqual([
      "5 ab.apis.0.weight: must be less than or equal to 100 (got 101)",
      "6 ab.apis.1.weight: must be provided",
      "8 ab.apis.2.weight: must be greater than or equal to 0 (got -1)",
      expect.stringMatching(/^9 ab\.apis\.2\.shadow: key shadow is not supported/),
    ]);
  });

  it("Given weights that total 90, When parsed, Then Cortex's message names the total", () => {
    expect(
      problems(
        "- name: ab\n  kind: TrafficSplitter\n  apis:\n    - {name: x, weight: 60}\n    - {name: y, weight: 30}\n",
      ),
    ).toEqual(["4 ab.apis: expected weights to sum to 100 but found 90"]);
  });

  it("Given an API listed twice, itself, or another splitter, When parsed, Then each is refused by name", () => {
    const yaml =
      "- name: ab\n  kind: TrafficSplitter\n  apis:\n    - {name: x, weight: 50}\n    - {name: x, weight: 50}\n" +
      "- name: cd\n  kind: TrafficSplitter\n  apis:\n    - {name: cd, weight: 100}\n" +
      "- name: ef\n  kind: TrafficSplitter\n  apis:\n    - {name: ab, weight: 100}\n";
    expect(problems(yaml)).toEqual([
      "5 ab.apis.1.name: x is listed twice; list each API once",
      "9 cd.apis.0.name: cd cannot send its traffic to itself; name an API",
      "13 ef.apis.0.name: ab is a TrafficSplitter; a splitter sends traffic to RealtimeAPIs only",
    ]);
  });

  it("Given a splitter whose endpoint an API of the file uses, When parsed, Then the endpoint is refused as taken", () => {
    const yaml = `${IRIS}- name: ab\n  kind: TrafficSplitter\n  endpoint: /iris-a\n  apis: [{name: iris-a, weight: 100}]\n`;
    expect(problems(yaml)).toEqual([
      expect.stringMatching(/ab\.endpoint: endpoint \/iris-a must be unique across APIs/),
    ]);
  });
});
