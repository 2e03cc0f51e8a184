/**
 * The JSON Schema of `cluster.yaml` (`schemas/cluster.schema.json`, shared with editors) and its ajv
 * validator, with ajv's errors worded for users ("key nat is not supported (did you mean
 * nat_gateway?)"). Cross-field rules a schema cannot say well live in `cluster-config.ts`.
 */

import { readFileSync } from "node:fs";
import type { ErrorObject, ValidateFunction } from "ajv";
import { loadAjv } from "./lazy-modules.js";
import { describeValue, type FieldIssue, type JsonSchema } from "./schema.js";

// src/ and dist/ sit at the same depth, so this resolves from the sources (vitest) and the build.
const CLUSTER_SCHEMA_URL = new URL("../../../schemas/cluster.schema.json", import.meta.url);

/** The schema's `$id`. */
export const CLUSTER_CONFIG_SCHEMA_ID = "https://axon.dev/schemas/cluster.schema.json";

/** Reads `schemas/cluster.schema.json` (a constant of the installation). */
export function loadClusterConfigSchema(): JsonSchema {
  return JSON.parse(readFileSync(CLUSTER_SCHEMA_URL, "utf8")) as JsonSchema;
}

/** Compiles the validator; callers keep the result (it is not cached here: no module state). */
export function compileClusterValidator(): ValidateFunction {
  const { Ajv } = loadAjv();
  const ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    verbose: true,
    strict: true,
    // load_balancer.certificate_arn is one ARN or a list of them.
    allowUnionTypes: true,
    keywords: ["errorMessage"],
  });
  return ajv.compile(loadClusterConfigSchema() as Record<string, unknown>);
}

/** Validates a cluster map in place (defaults filled) and returns every violation. */
export function validateClusterSchema(
  validate: ValidateFunction,
  config: Record<string, unknown>,
): FieldIssue[] {
  if (validate(config)) return [];
  const issues = (validate.errors ?? []).map(describeClusterSchemaError);
  // A `propertyNames` failure also reports the name itself; one line per key is enough.
  return issues.filter((issue) => issue.message !== "");
}

function describeClusterSchemaError(error: ErrorObject): FieldIssue {
  const path = error.instancePath === "" ? [] : error.instancePath.slice(1).split("/");
  const params = error.params as Record<string, unknown>;
  const parent = (error.parentSchema ?? {}) as Record<string, unknown>;
  const got = `(got ${describeValue(error.data)})`;
  const ownWords = typeof parent["errorMessage"] === "string" ? parent["errorMessage"] : undefined;
  switch (error.keyword) {
    case "additionalProperties": {
      const key = String(params["additionalProperty"]);
      const allowed = Object.keys((parent["properties"] ?? {}) as Record<string, unknown>);
      const close = allowed.find((candidate) => sharesStem(candidate, key));
      const hint =
        close === undefined
          ? `(supported keys: ${allowed.join(", ")})`
          : `(did you mean ${close}?)`;
      return { path: [...path, key], message: `key ${key} is not supported ${hint}`, atKey: true };
    }
    case "propertyNames": {
      const key = String(params["propertyName"]);
      return { path: [...path, key], message: "", atKey: true };
    }
    case "required": {
      const key = String(params["missingProperty"]);
      const example =
        key === "image"
          ? " (the replica image's URI; docs/aws.md says how to build and push it)"
          : " (e.g. cluster_name: prod; the stack is then axon-prod)";
      return { path: [...path, key], message: `must be provided${example}`, atKey: false };
    }
    case "type": {
      const wanted = String(params["type"])
        .replace("string,array", "an ARN or a list of ARNs")
        .replace("object", "a map")
        .replace("array", "a list");
      return {
        path,
        message: `must be ${/^[aeiou]/.test(wanted) ? "an" : "a"} ${wanted.replace(/^an? /, "")} ${got}`,
        atKey: false,
      };
    }
    case "pattern":
    case "enum": {
      const fallback =
        error.keyword === "enum"
          ? `must be one of ${((params["allowedValues"] ?? []) as unknown[]).map(String).join(", ")}`
          : `must match ${String(params["pattern"])}`;
      // A tag key's error (propertyNames) names the key; the instance path stops at its map.
      const key = error.propertyName;
      const named = key === undefined ? path : [...path, key];
      return { path: named, message: `${ownWords ?? fallback} ${got}`, atKey: key !== undefined };
    }
    case "minimum":
    case "maximum":
      return {
        path,
        message: `must be ${error.keyword === "minimum" ? "at least" : "at most"} ${String(params["limit"])} ${got}`,
        atKey: false,
      };
    case "minLength":
      return { path, message: "must not be empty", atKey: false };
    case "maxLength":
      return {
        path,
        message: `must be at most ${String(params["limit"])} characters long ${got}`,
        atKey: false,
      };
    case "minItems":
      return { path, message: "must list at least one value", atKey: false };
    case "maxItems":
      return {
        path,
        message: `must list at most ${String(params["limit"])} values`,
        atKey: false,
      };
    default:
      return { path, message: error.message ?? "is invalid", atKey: false };
  }
}

/** A loose "did you mean": one name contains the other, or they share their first four letters. */
function sharesStem(candidate: string, key: string): boolean {
  const a = candidate.toLowerCase();
  const b = key.toLowerCase();
  return a.includes(b) || b.includes(a) || (a.length >= 4 && a.slice(0, 4) === b.slice(0, 4));
}
