import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseApiConfig } from "./parse-config.js";
import { specHash, specToYaml } from "./spec-output.js";

const FIXTURES = ["fixtures/cortex-0.14.yaml", "fixtures/cortex-0.20.yaml"];

function fixtureApis(name: string) {
  return parseApiConfig(readFileSync(new URL(name, import.meta.url), "utf8"), name).apis;
}

describe("specToYaml", () => {
  it.each(FIXTURES)(
    "Given the specs of %s, When rendered and parsed back, Then the same spec results",
    (name) => {
      for (const spec of fixtureApis(name)) {
        // When rendered
        const yaml = specToYaml(spec);
        // Then durations read like Go and the text parses back to an identical spec
        expect(yaml).toMatch(/window: \d+m\d+s/);
        const { apis, deprecations } = parseApiConfig(yaml, "resolved.yaml");
        expect(apis).toEqual([spec]);
        expect(deprecations.filter((note) => !note.message.includes("image"))).toEqual([]);
      }
    },
  );
});

describe("specHash", () => {
  it("Given configs that differ only in spelling and key order, When hashed, Then the hashes are equal", () => {
    // Given two spellings of the same API
    const a = parseApiConfig(
      "- name: iris\n  kind: RealtimeAPI\n  predictor: {type: python, path: predictor.py}\n  autoscaling: {window: 60s, max_replicas: 5}\n",
      "a.yaml",
    ).apis[0];
    const b = parseApiConfig(
      "- autoscaling: {max_replicas: 5, window: 1m}\n  predictor: {path: ./predictor.py, type: python}\n  name: iris\n  networking: {endpoint: iris/}\n",
      "b.yaml",
    ).apis[0];
    // When hashed, Then they are the same sha256
    expect(a).toBeDefined();
    expect(b).toBeDefined();
    if (a === undefined || b === undefined) return;
    expect(specHash(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(specHash(b)).toBe(specHash(a));
    // And a reordered copy of the object hashes the same
    const reordered = JSON.parse(JSON.stringify(a, Object.keys(a).sort().reverse())) as typeof a;
    expect(specHash({ ...reordered, ...a })).toBe(specHash(a));
  });

  it("Given a change to any field, When hashed, Then the hash changes", () => {
    const [spec] = fixtureApis("fixtures/cortex-0.20.yaml");
    expect(spec).toBeDefined();
    if (spec === undefined) return;
    const changed = {
      ...spec,
      autoscaling: { ...spec.autoscaling, max_replicas: spec.autoscaling.max_replicas + 1 },
    };
    const newConfig = {
      ...spec,
      predictor: { ...spec.predictor, config: { ...spec.predictor.config, extra: 1 } },
    };
    expect(specHash(changed)).not.toBe(specHash(spec));
    expect(specHash(newConfig)).not.toBe(specHash(spec));
  });

  it("Given a spec without networking.auth, When auth none or api_key is set, Then none keeps the old hash and api_key changes it", () => {
    // Given a spec as stored before `networking.auth` existed
    const [spec] = fixtureApis("fixtures/cortex-0.20.yaml");
    expect(spec).toBeDefined();
    if (spec === undefined) return;
    const { auth: _auth, ...networking } = spec.networking;
    const older = { ...spec, networking } as typeof spec;
    // When hashed with auth none and with auth api_key
    const none = specHash({ ...spec, networking: { ...spec.networking, auth: "none" } });
    const keyed = specHash({ ...spec, networking: { ...spec.networking, auth: "api_key" } });
    // Then upgrading Axon rolls nothing out, and turning keys on is a change
    expect(none).toBe(specHash(older));
    expect(keyed).not.toBe(none);
  });
});
