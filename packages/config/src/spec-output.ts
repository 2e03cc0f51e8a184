/**
 * Renderings of a resolved `ApiSpec`: YAML for people (`axon get <api>`) and a content hash for
 * machines (drift detection: an equal hash means nothing to roll out).
 */

import { createHash } from "node:crypto";
import type { ApiSpec, BatchApiSpec } from "./api-spec.js";
import { loadYaml } from "./lazy-modules.js";

/**
 * The resolved config as YAML, written as a one-item list so it can be pasted into `axon.yaml`
 * as is (it parses back to the same spec). Durations read like `1m0s`.
 */
export function specToYaml(spec: ApiSpec | BatchApiSpec): string {
  return loadYaml().stringify([spec], { lineWidth: 0 });
}

/** sha256 (hex) of the spec's canonical JSON: keys sorted at every level, so key order never matters. */
export function specHash(spec: ApiSpec | BatchApiSpec): string {
  // `networking.auth: none` hashes as if the field were absent: specs deployed before the field
  // existed keep their hash, so upgrading Axon rolls out nothing. (A BatchAPI has no auth.)
  const { auth, ...networking } = { auth: undefined, ...spec.networking };
  const hashed = auth === "api_key" ? spec : { ...spec, networking };
  return createHash("sha256").update(canonicalJson(hashed)).digest("hex");
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, entry]) => entry !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, entry]) => `${JSON.stringify(key)}:${canonicalJson(entry)}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
