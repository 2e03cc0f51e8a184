/**
 * The JSON Schema of the config file (`schemas/axon.schema.json`, the single source of truth shared
 * with editors) and the ajv validator built from it, plus the translation of ajv's errors into
 * Cortex-style messages ("must be greater than or equal to 1 (got 0)", "key X is not supported").
 * Rules a schema cannot express (cross-field, quantity bounds, files) live in `api-rules.ts`.
 */

import { readFileSync } from "node:fs";
import type { ErrorObject, ValidateFunction } from "ajv";
import { parseDuration } from "./duration.js";
import { loadAjv } from "./lazy-modules.js";
import { parseQuantity } from "./quantity.js";

/** A JSON Schema document, as parsed from disk. */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** A path inside one API map, e.g. `["autoscaling", "min_replicas"]`. */
export type FieldPath = readonly string[];

/** One schema violation inside an API map, already worded for users. */
export interface FieldIssue {
  path: FieldPath;
  message: string;
  /** Point at the key itself (unknown keys) rather than its value. */
  atKey: boolean;
}

// src/ and dist/ sit at the same depth, so this resolves from the sources (vitest) and the build.
const SCHEMA_URL = new URL("../../../schemas/axon.schema.json", import.meta.url);

/**
 * The API-config JSON Schema (`schemas/axon.schema.json`): a list of APIs, each described by
 * `definitions.api`. Read once when this module loads; it is a constant of the installation.
 */
export const apiConfigSchema: JsonSchema = JSON.parse(
  readFileSync(SCHEMA_URL, "utf8"),
) as JsonSchema;

/** The schema's `$id`, used to reference `definitions.api` inside ajv. */
export const API_CONFIG_SCHEMA_ID = "https://axon.dev/schemas/axon.schema.json";

/** The ajv instance holding the API-config schema, built on first use only. */
const getConfigAjv = once(() => {
  const { Ajv } = loadAjv();
  const ajv = new Ajv({
    allErrors: true,
    // Fills leaf defaults straight from the schema, so defaults are written down once.
    useDefaults: true,
    // `data` and `parentSchema` on each error let messages show the offending value.
    verbose: true,
    allowUnionTypes: true,
    strict: true,
    // `errorMessage` is the schema's own wording for pattern/enum failures (also read by editors).
    keywords: ["errorMessage"],
  });
  ajv.addFormat("k8s-quantity", {
    type: "string",
    validate: (text) => succeeds(() => parseQuantity(text)),
  });
  ajv.addFormat("go-duration", {
    type: "string",
    validate: (text) => succeeds(() => parseDuration(text)),
  });
  ajv.addSchema(apiConfigSchema as Record<string, unknown>);
  return ajv;
});

function definitionValidator(name: string): ValidateFunction {
  const validate = getConfigAjv().getSchema(`${API_CONFIG_SCHEMA_ID}#/definitions/${name}`);
  if (validate === undefined)
    throw new Error(`schemas/axon.schema.json has no definitions.${name}`);
  return validate;
}

/** Returns the compiled validator for one API map, compiling it on first use only. */
export const getApiValidator: () => ValidateFunction = once(() => definitionValidator("api"));

/** Returns the compiled validator for one BatchAPI map, compiling it on first use only. */
export const getBatchApiValidator: () => ValidateFunction = once(() =>
  definitionValidator("batch_api"),
);

/** Returns the compiled validator for one TrafficSplitter map, compiling it on first use only. */
export const getTrafficSplitterValidator: () => ValidateFunction = once(() =>
  definitionValidator("traffic_splitter"),
);

/**
 * Validates one API map against `definitions.api`, filling schema defaults into `api` in place,
 * and returns every violation.
 */
export function validateApiSchema(
  api: Record<string, unknown>,
  validate: ValidateFunction = getApiValidator(),
): FieldIssue[] {
  if (validate(api)) return [];
  // A key that breaks `propertyNames` yields two errors: the inner one (e.g. maxLength, marked
  // with `propertyName`) and `propertyNames` itself; one message per key is enough.
  return (validate.errors ?? [])
    .filter((error) => error.propertyName === undefined)
    .map(describeSchemaError);
}

/** Turns one ajv error into a path and a message in Cortex's wording. */
function describeSchemaError(error: ErrorObject): FieldIssue {
  const path = pointerToPath(error.instancePath);
  const parent = asRecord(error.parentSchema);
  const got = `(got ${describeValue(error.data)})`;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "additionalProperties": {
      const key = String(params["additionalProperty"]);
      return {
        path: [...path, key],
        message: `key ${key} is not supported ${suggestKey(key, parent, path.at(-1))}`,
        atKey: true,
      };
    }
    case "required": {
      const key = String(params["missingProperty"]);
      return { path: [...path, key], message: requiredMessage(key), atKey: false };
    }
    case "type":
      if (parent["format"] === "go-duration" && typeof error.data === "number") {
        return {
          path,
          message: `must be a duration with a unit, e.g. 60s or 1m ${got}`,
          atKey: false,
        };
      }
      return { path, message: typeMessage(String(params["type"]), error.data), atKey: false };
    case "minimum":
      return {
        path,
        message: `must be greater than or equal to ${String(params["limit"])} ${got}`,
        atKey: false,
      };
    case "exclusiveMinimum":
      return {
        path,
        message: `must be greater than ${String(params["limit"])} ${got}`,
        atKey: false,
      };
    case "maximum":
      return {
        path,
        message: `must be less than or equal to ${String(params["limit"])} ${got}`,
        atKey: false,
      };
    case "exclusiveMaximum":
      return { path, message: `must be less than ${String(params["limit"])} ${got}`, atKey: false };
    case "minLength":
      return { path, message: "must not be empty", atKey: false };
    case "propertyNames": {
      const key = String(params["propertyName"]);
      const limit = asRecord(parent["propertyNames"])["maxLength"];
      return {
        path: [...path, key],
        message: `is a name of ${key.length} characters; names may be at most ${String(limit)} characters long`,
        atKey: true,
      };
    }
    case "maxProperties": {
      const count = Object.keys(asRecord(error.data)).length;
      return {
        path,
        message: `must have at most ${String(params["limit"])} keys (got ${count}); keep data in a file of the project and read it in the predictor`,
        atKey: false,
      };
    }
    case "maxItems": {
      const count = Array.isArray(error.data) ? error.data.length : 0;
      return {
        path,
        message: `must have at most ${String(params["limit"])} items (got ${count})`,
        atKey: false,
      };
    }
    case "maxLength": {
      const length = typeof error.data === "string" ? error.data.length : 0;
      return {
        path,
        message: `must be at most ${String(params["limit"])} characters long (got ${length})`,
        atKey: false,
      };
    }
    case "pattern":
    case "enum": {
      const fallback =
        error.keyword === "enum"
          ? `must be one of ${allowedValues(params["allowedValues"])}`
          : `must match ${String(params["pattern"])}`;
      const wording =
        typeof parent["errorMessage"] === "string" ? parent["errorMessage"] : fallback;
      return { path, message: `${wording} ${got}`, atKey: false };
    }
    case "format":
      return { path, message: formatMessage(String(params["format"]), error.data), atKey: false };
    default:
      return { path, message: error.message ?? "is invalid", atKey: false };
  }
}

/** Enum values for messages; `null` (allowed to mean "not set") is not worth suggesting. */
function allowedValues(values: unknown): string {
  return (Array.isArray(values) ? values : [])
    .filter((value) => value !== null)
    .map(String)
    .join(", ");
}

function requiredMessage(key: string): string {
  switch (key) {
    case "name":
      return "must be provided (every API needs a name, e.g. name: iris-classifier)";
    case "predictor":
      return "must be provided (e.g. predictor: {type: python, path: predictor.py})";
    case "type":
      return "must be provided (type: python)";
    case "path":
      return "must be provided (the .py file that defines PythonPredictor, relative to the config file)";
    default:
      return "must be provided";
  }
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: "a string",
  integer: "an integer",
  number: "a number",
  object: "a map",
  array: "a list",
  boolean: "a boolean",
  null: "null",
};

function typeMessage(expected: string, data: unknown): string {
  if (data === null) {
    return "cannot be null (specify a value, or remove the key to use the default value)";
  }
  if (typeof data === "number" && !Number.isFinite(data)) {
    return `must be a finite number (got ${String(data)})`;
  }
  const types = expected.split(",").filter((type) => type !== "null");
  const wanted = types.map((type) => TYPE_NAMES[type] ?? type).join(" or ");
  const quoteHint =
    types.length === 1 &&
    types[0] === "string" &&
    (typeof data === "number" || typeof data === "boolean")
      ? `; quote it to pass it as text, e.g. "${String(data)}"`
      : "";
  return `must be ${wanted} (got ${describeValue(data)})${quoteHint}`;
}

function formatMessage(format: string, data: unknown): string {
  const text = String(data);
  try {
    if (format === "k8s-quantity") parseQuantity(text);
    else parseDuration(text);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return `must be a valid ${format} (got ${describeValue(data)})`;
}

/** "(did you mean …?)", "(it belongs under …)" or the list of supported keys. */
function suggestKey(
  key: string,
  parentSchema: Record<string, unknown>,
  section: string | number | undefined,
): string {
  const allowed = Object.keys(asRecord(parentSchema["properties"]));
  const close = allowed
    .map((candidate) => ({ candidate, distance: editDistance(key, candidate) }))
    .filter(({ distance }) => distance <= 2 && distance < key.length / 2)
    .sort((a, b) => a.distance - b.distance)[0];
  if (close !== undefined) return `(did you mean ${close.candidate}?)`;
  const home = sectionOwningKey(key);
  // Already in that section: a key another kind has there (a RealtimeAPI's networking.auth under a
  // BatchAPI's networking), not a key in the wrong place.
  if (home !== undefined && home !== section) return `(it belongs under ${home})`;
  return `(supported keys: ${allowed.join(", ")})`;
}

/** Which top-level section of an API defines `key`, for keys written in the wrong place. */
function sectionOwningKey(key: string): string | undefined {
  const definitions = asRecord(apiConfigSchema["definitions"]);
  for (const section of [
    "predictor",
    "compute",
    "autoscaling",
    "update_strategy",
    "networking",
    "monitoring",
  ]) {
    if (key in asRecord(asRecord(definitions[section])["properties"])) return section;
  }
  if (key in asRecord(asRecord(definitions["api"])["properties"]))
    return "the API itself (top level)";
  return undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Short rendering of a YAML value for "(got …)". */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "a list";
  if (value !== null && typeof value === "object") return "a map";
  return String(value);
}

function pointerToPath(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((segment) => segment.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function succeeds(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch {
    return false;
  }
}

/** Memoises a zero-argument factory in its closure (no module-level mutable state). */
function once<T>(factory: () => T): () => T {
  let cached: { value: T } | undefined;
  return () => {
    cached ??= { value: factory() };
    return cached.value;
  };
}
