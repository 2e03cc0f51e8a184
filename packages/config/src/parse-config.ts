/**
 * `parseApiConfig`: YAML text in, resolved `ApiSpec`s (or every problem at once) out. The steps:
 * YAML parse with positions → file shape → per API: legacy rewrites, kind/type gate, JSON Schema
 * (ajv, defaults filled), cross-field rules → file-wide duplicates → diagnostics pinned to
 * file:line:column and a field path like `iris-classifier.autoscaling.min_replicas`.
 */

import type { ApiSpec, BatchApiSpec, TrafficSplitterSpec } from "./api-spec.js";
import { buildApiSpec, checkApiRules, type ApiFacts } from "./api-rules.js";
import { buildBatchApiSpec, checkBatchApi } from "./batch-api.js";
import { ConfigError, type Diagnostic } from "./diagnostics.js";
import { applyLegacySpellings, LEGACY_MESSAGES, type FieldMove } from "./legacy.js";
import {
  describeValue,
  getTrafficSplitterValidator,
  validateApiSchema,
  type FieldIssue,
  type FieldPath,
} from "./schema.js";
import { checkTrafficSplitter } from "./traffic-splitter.js";
import { readYamlDocument } from "./yaml-document.js";
import { CONFIG_LIMITS } from "./yaml-limits.js";
import { locateInDocument } from "./yaml-positions.js";

/** Options for `parseApiConfig`. */
export interface ParseApiConfigOptions {
  /**
   * Answers whether a project file exists, given its path relative to the config file's folder
   * (POSIX separators). A path ending in `/` asks about a folder (`predictor.python_path`).
   * When given, `predictor.path` and `predictor.python_path` must exist.
   */
  fileExists?: (relativePath: string) => boolean;
  /** The project's files (POSIX paths relative to the same folder): candidates for "did you mean". */
  projectFiles?: readonly string[];
}

/** The APIs of one config file plus non-fatal notes (old Cortex spellings that were mapped). */
export interface ParsedApiConfig {
  apis: ApiSpec[];
  /** The file's `kind: TrafficSplitter` entries, in file order (not in `apis`). */
  splitters: TrafficSplitterSpec[];
  /** The file's `kind: BatchAPI` entries, in file order (not in `apis`). */
  batchApis: BatchApiSpec[];
  /** Deprecations and notes, each kind reported once per file; never errors. */
  deprecations: Diagnostic[];
}

const UNSUPPORTED_PREDICTOR_TYPES = new Set(["tensorflow", "onnx"]);
/** Keys only Cortex's tensorflow/onnx predictors had; noise once the type itself is rejected. */
const MODEL_SERVER_KEYS = new Set([
  "model",
  "model_path",
  "models",
  "signature_key",
  "tensorflow_serving_image",
]);
const SECTIONS_WITH_DEFAULTS = ["compute", "autoscaling", "update_strategy", "networking"];

/** One API entry while it is being checked. */
interface ApiDraft {
  index: number;
  /** `name` when it is a non-empty string, else `[index]`; heads every diagnostic path. */
  label: string;
  api: Record<string, unknown> | undefined;
  moves: FieldMove[];
  issues: FieldIssue[];
  notes: { key: string; issue: FieldIssue }[];
  facts: ApiFacts;
  /** Set for a `kind: TrafficSplitter` entry once it checked out. */
  splitter?: TrafficSplitterSpec;
  isSplitter?: boolean;
  /** A `kind: BatchAPI` entry (its own schema definition and spec). */
  isBatch?: boolean;
}

/**
 * Parses and validates the text of an API config file (`axon.yaml` / `cortex.yaml`).
 *
 * @param fileName shown in every diagnostic (e.g. `axon.yaml`)
 * @throws ConfigError carrying every problem found, each with file, line, column and field path
 */
export function parseApiConfig(
  text: string,
  fileName: string,
  options: ParseApiConfigOptions = {},
): ParsedApiConfig {
  const { doc, lineCounter } = readYamlDocument(text, fileName, {
    merge: true,
    maxRootItems: {
      count: CONFIG_LIMITS.maxApisPerFile,
      noun: "APIs",
      advice: "split them over several config files (one per project folder) and deploy each",
    },
  });
  const locate = (
    path: readonly (string | number)[],
    atKey: boolean,
  ): Pick<Diagnostic, "line" | "column"> => {
    const position = locateInDocument(doc, lineCounter, path, atKey);
    return position === undefined ? {} : { line: position.line, column: position.column };
  };

  let root: unknown;
  try {
    root = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError([
      { file: fileName, ...locate([], false), path: "", message: `cannot be read: ${reason}` },
    ]);
  }
  const shapeProblem = fileShapeProblem(root);
  if (shapeProblem !== undefined || !Array.isArray(root)) {
    const message = shapeProblem ?? "must contain a list of APIs";
    throw new ConfigError([{ file: fileName, ...locate([], false), path: "", message }]);
  }

  const drafts = root.map((item: unknown, index) => checkApi(item, index, fileName, options));
  checkDuplicates(drafts, (draft, path) => locate([draft.index, ...path], false));

  const toDiagnostic = (draft: ApiDraft, issue: FieldIssue): Diagnostic => {
    const path = originalPath(issue.path, draft.moves);
    return {
      file: fileName,
      ...locate([draft.index, ...path], issue.atKey),
      path: [draft.label, ...path].map(shortenSegment).join("."),
      message: issue.message,
    };
  };
  checkSplitterBackends(drafts);
  const errors = drafts.flatMap((draft) => draft.issues.map((issue) => toDiagnostic(draft, issue)));
  if (errors.length > 0) throw new ConfigError(sortByPosition(dedupe(errors)));

  return {
    apis: drafts
      .filter((draft) => draft.isSplitter !== true && draft.isBatch !== true)
      .map((draft) => buildApiSpec(draft.api ?? {})),
    splitters: drafts.flatMap((draft) => (draft.splitter === undefined ? [] : [draft.splitter])),
    batchApis: drafts
      .filter((draft) => draft.isBatch === true)
      .map((draft) => buildBatchApiSpec(draft.api ?? {})),
    deprecations: summarizeNotes(drafts, toDiagnostic),
  };
}

function checkApi(
  item: unknown,
  index: number,
  fileName: string,
  options: ParseApiConfigOptions,
): ApiDraft {
  const name = isPlainObject(item) ? item["name"] : undefined;
  const draft: ApiDraft = {
    index,
    label: typeof name === "string" && name !== "" ? name : `[${index}]`,
    api: undefined,
    moves: [],
    issues: [],
    notes: [],
    facts: {},
  };
  const report = (path: FieldPath, message: string, atKey = false): void => {
    draft.issues.push({ path, message, atKey });
  };
  if (!isPlainObject(item)) {
    report(
      [],
      `must be a map describing one API, e.g. "- name: iris-classifier" (got ${describeValue(item)})`,
    );
    return draft;
  }
  const api = structuredClone(item);
  draft.api = api;

  // Before the legacy rewrites: they move RealtimeAPI fields (a top-level `endpoint`) a splitter has.
  if (api["kind"] === "TrafficSplitter") {
    // A splitter has its own fields (Cortex 0.20): checked against its own schema definition.
    draft.isSplitter = true;
    draft.issues.push(...validateApiSchema(api, getTrafficSplitterValidator()));
    if (draft.issues.length > 0) return draft;
    const splitter = checkTrafficSplitter(api, report);
    if (splitter === undefined) return draft;
    draft.splitter = splitter;
    draft.facts = { endpoint: splitter.endpoint };
    return draft;
  }
  if (api["kind"] === "BatchAPI") {
    // Cortex 0.19+ only, so no legacy spelling applies; its own schema definition and rules.
    draft.isBatch = true;
    const checked = checkBatchApi(api, {
      note: (path, message) =>
        draft.notes.push({ key: message, issue: { path, message, atKey: false } }),
      configFileName: fileName,
      fileExists: options.fileExists,
      projectFiles: options.projectFiles,
    });
    draft.issues.push(...checked.issues);
    draft.facts = checked.facts;
    return draft;
  }
  const legacy = applyLegacySpellings(api);
  draft.moves = legacy.moves;
  for (const conflict of legacy.conflicts) report(conflict.path, conflict.message, true);
  for (const note of legacy.notes) {
    draft.notes.push({
      key: note.spelling,
      issue: { path: note.path, message: LEGACY_MESSAGES[note.spelling], atKey: true },
    });
  }

  const predictor = api["predictor"];
  const predictorType = isPlainObject(predictor) ? predictor["type"] : undefined;
  const unsupportedType =
    typeof predictorType === "string" && UNSUPPORTED_PREDICTOR_TYPES.has(predictorType);
  if (unsupportedType) {
    report(
      ["predictor", "type"],
      `predictor type ${predictorType} is not supported: only python predictors are; load the model inside a PythonPredictor (type: python)`,
    );
  }

  // The schema fills leaf defaults only inside maps that exist, so absent sections start empty.
  for (const section of SECTIONS_WITH_DEFAULTS) {
    if (api[section] === undefined) api[section] = {};
  }
  for (const issue of validateApiSchema(api)) {
    const redundant =
      unsupportedType &&
      issue.path[0] === "predictor" &&
      (issue.path[1] === "type" ||
        (issue.path.length === 2 && MODEL_SERVER_KEYS.has(issue.path[1] ?? "")));
    if (!redundant) draft.issues.push(issue);
  }

  const schemaIssues = [...draft.issues];
  draft.facts = checkApiRules({
    api,
    isSound: (path) => !schemaIssues.some((issue) => isPrefix(issue.path, path)),
    report: (path, message) => report(path, message),
    note: (path, message) =>
      draft.notes.push({ key: message, issue: { path, message, atKey: false } }),
    configFileName: fileName,
    fileExists: options.fileExists,
    projectFiles: options.projectFiles,
  });
  return draft;
}

/**
 * A splitter's APIs that the file defines must be RealtimeAPIs; the others must be deployed
 * already, which only the control plane can tell (its deploy plan checks them).
 */
function checkSplitterBackends(drafts: ApiDraft[]): void {
  const otherKinds = new Map<string, string>();
  for (const draft of drafts) {
    if (draft.isSplitter === true) otherKinds.set(draft.label, "TrafficSplitter");
    if (draft.isBatch === true) otherKinds.set(draft.label, "BatchAPI");
  }
  for (const draft of drafts) {
    draft.splitter?.apis.forEach((backend, index) => {
      const kind = otherKinds.get(backend.name);
      if (kind === undefined) return;
      draft.issues.push({
        path: ["apis", String(index), "name"],
        message: `${backend.name} is a ${kind}; a splitter sends traffic to RealtimeAPIs only`,
        atKey: false,
      });
    });
  }
}

/** Names, endpoints and local ports must each be unique across the file. */
function checkDuplicates(
  drafts: ApiDraft[],
  locate: (draft: ApiDraft, path: FieldPath) => Pick<Diagnostic, "line">,
): void {
  const unique = (
    path: FieldPath,
    valueOf: (draft: ApiDraft) => string | number | undefined,
    message: (value: string | number, first: ApiDraft, line: string) => string,
  ): void => {
    const seen = new Map<string | number, ApiDraft>();
    for (const draft of drafts) {
      const value = valueOf(draft);
      if (value === undefined) continue;
      const first = seen.get(value);
      if (first === undefined) {
        seen.set(value, draft);
        continue;
      }
      const firstLine = locate(first, path).line;
      // A splitter's endpoint is a top-level key (Cortex 0.20), an API's is under networking.
      const at = draft.isSplitter === true && path[0] === "networking" ? ["endpoint"] : path;
      draft.issues.push({
        path: at,
        message: message(value, first, firstLine === undefined ? "" : ` at line ${firstLine}`),
        atKey: false,
      });
    }
  };
  const nameOf = (draft: ApiDraft): string | undefined => {
    const name = draft.api?.["name"];
    return typeof name === "string" && !draft.issues.some((issue) => issue.path[0] === "name")
      ? name
      : undefined;
  };
  unique(
    ["name"],
    nameOf,
    (name, _first, line) =>
      `name ${name} must be unique across APIs (also defined${line}); rename one of them`,
  );
  unique(
    ["networking", "endpoint"],
    (draft) => draft.facts.endpoint,
    (endpoint, first, line) =>
      `endpoint ${endpoint} must be unique across APIs (also used by ${first.label}${line}); set a different networking.endpoint`,
  );
  unique(
    ["networking", "local_port"],
    (draft) => draft.facts.localPort,
    (port, first, line) =>
      `local_port ${port} is already used by ${first.label}${line}; pick another port`,
  );
}

function fileShapeProblem(root: unknown): string | undefined {
  if (root === null || root === undefined) {
    return 'is empty: it must contain a list of APIs, e.g. "- name: iris-classifier" followed by its predictor';
  }
  if (!Array.isArray(root)) {
    const singleApi = isPlainObject(root) && "name" in root;
    return singleApi
      ? 'must contain a list of APIs, but holds a single map; put "- " in front of its first key (e.g. "- name: …") and indent the rest'
      : `must contain a list of APIs, each item starting with "- name: …" (got ${describeValue(root)})`;
  }
  if (root.length === 0) return "must contain at least one API (the list is empty)";
  return undefined;
}

/** Each kind of note once per file, at its first occurrence, counting the others. */
function summarizeNotes(
  drafts: ApiDraft[],
  toDiagnostic: (draft: ApiDraft, issue: FieldIssue) => Diagnostic,
): Diagnostic[] {
  const byKey = new Map<string, { first: Diagnostic; more: number }>();
  for (const draft of drafts) {
    for (const { key, issue } of draft.notes) {
      const entry = byKey.get(key);
      if (entry === undefined) byKey.set(key, { first: toDiagnostic(draft, issue), more: 0 });
      else entry.more += 1;
    }
  }
  return [...byKey.values()].map(({ first, more }) =>
    more === 0
      ? first
      : {
          ...first,
          message: `${first.message} (also in ${more} more API${more === 1 ? "" : "s"})`,
        },
  );
}

/** Maps a path in today's fields back to where a moved legacy value was written. */
function originalPath(path: FieldPath, moves: readonly FieldMove[]): FieldPath {
  const move = moves.find((candidate) => isPrefix(candidate.to, path));
  return move === undefined ? path : [...move.from, ...path.slice(move.to.length)];
}

/** A key of thousands of characters would drown the message it heads; its start is enough. */
function shortenSegment(segment: string): string {
  return segment.length <= 80 ? segment : `${segment.slice(0, 40)}…(${segment.length} characters)`;
}

function isPrefix(prefix: FieldPath, path: FieldPath): boolean {
  return prefix.length <= path.length && prefix.every((segment, index) => path[index] === segment);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function dedupe(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((diagnostic) => {
    const key = `${diagnostic.path}\u0000${diagnostic.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function sortByPosition(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics
    .map((diagnostic, order) => ({ diagnostic, order }))
    .sort(
      (a, b) =>
        (a.diagnostic.line ?? Infinity) - (b.diagnostic.line ?? Infinity) ||
        (a.diagnostic.column ?? 0) - (b.diagnostic.column ?? 0) ||
        a.order - b.order,
    )
    .map(({ diagnostic }) => diagnostic);
}
