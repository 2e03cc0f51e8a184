/**
 * Reading a config's YAML text into a document tree with positions, bounded: the size of the
 * text and its shape (depth, entries) are checked on the text before the YAML reader runs, and on
 * the tree before anything recursive reads its values. Shared by `axon.yaml` and `cluster.yaml`,
 * and so by the CLI (`axon validate`, `deploy`) and the daemon (`POST /v1/deploy`), where a config
 * that took seconds to read would stall every endpoint.
 *
 * Decisions recorded here:
 * - **Duplicate keys are found here, with one set per map**, not by the YAML reader's
 *   `uniqueKeys`, which compares each new key with every earlier one of its map: 20,000 keys
 *   took 6 s and 100,000 over a minute.
 * - The limits (`CONFIG_LIMITS`) are far above any real config and low enough that reading the
 *   largest accepted file takes well under a second; docs/limits.md lists them.
 */

import type { Document, LineCounter, Node as YamlNode, YAMLError } from "yaml";
import { ConfigError, type Diagnostic } from "./diagnostics.js";
import { loadYaml } from "./lazy-modules.js";
import { CONFIG_LIMITS, nestingDiagnostic } from "./yaml-limits.js";
import { prescanYamlText, type PrescanLimits } from "./yaml-prescan.js";

/** A parsed YAML document and the line table its positions are read with. */
export interface YamlSource {
  doc: Document;
  lineCounter: LineCounter;
}

/** Options for `readYamlDocument`. */
export interface ReadYamlOptions {
  /** Resolve `<<` merge keys (the API config allows them). */
  merge?: boolean;
  /** The top-level list's items (APIs) and what to say when there are too many. */
  maxRootItems?: PrescanLimits["maxRootItems"];
}

/**
 * Parses `text` as one YAML document after checking its size and shape.
 *
 * @throws ConfigError naming the line of the first limit crossed, or every YAML error
 */
export function readYamlDocument(
  text: string,
  fileName: string,
  options: ReadYamlOptions = {},
): YamlSource {
  const prescanLimits: PrescanLimits = {
    maxDepth: CONFIG_LIMITS.maxNestingDepth,
    maxEntries: CONFIG_LIMITS.maxEntriesPerCollection,
    maxTotalEntries: CONFIG_LIMITS.maxTotalEntries,
    ...(options.maxRootItems === undefined ? {} : { maxRootItems: options.maxRootItems }),
  };
  const bytes = Buffer.byteLength(text, "utf8");
  const tooLarge = bytes > CONFIG_LIMITS.maxFileBytes;
  // The shape is looked at first, within the size limit: a file too large because of one map of
  // 100,000 keys is better told which map than only its size.
  const shape = prescanYamlText(
    tooLarge ? text.slice(0, CONFIG_LIMITS.maxFileBytes) : text,
    fileName,
    prescanLimits,
  );
  if (shape !== undefined) throw new ConfigError([shape]);
  if (tooLarge) {
    throw new ConfigError([
      {
        file: fileName,
        path: "",
        message: `is ${formatKiB(bytes)}; a config file may be at most ${formatKiB(CONFIG_LIMITS.maxFileBytes)}: keep data in a file of the project and read it in the predictor's __init__`,
      },
    ]);
  }

  const { LineCounter, parseDocument } = loadYaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: false,
    merge: options.merge ?? false,
  });
  const problems = doc.errors.map((error) =>
    yamlErrorDiagnostic(error, text, fileName, lineCounter),
  );
  problems.push(...treeDiagnostics(doc, text, fileName, lineCounter, prescanLimits));
  if (problems.length > 0) throw new ConfigError(sortByLine(problems));
  // Before anything recursive reads the values (toJS, clone, schema, hash).
  const tooDeep = nestingDiagnostic(doc, lineCounter, fileName);
  if (tooDeep !== undefined) throw new ConfigError([tooDeep]);
  return { doc, lineCounter };
}

/**
 * Repeated keys, and maps or lists over the limits that the text scan cannot count (flow style),
 * in one pass over the tree (aliases are not followed: what they name is visited where it is
 * written).
 */
function treeDiagnostics(
  doc: Document,
  text: string,
  fileName: string,
  lineCounter: LineCounter,
  limits: PrescanLimits,
): Diagnostic[] {
  const { isMap, isPair, isScalar, isSeq } = loadYaml();
  const at = (node: YamlNode | null | undefined): Pick<Diagnostic, "line" | "column"> => {
    const offset = node?.range?.[0];
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const problems: Diagnostic[] = [];
  const rootItems = limits.maxRootItems;
  // Each node with the keys and list indexes that lead to it, to name a field in a message.
  const stack: Array<{ node: YamlNode; path: string }> =
    doc.contents === null ? [] : [{ node: doc.contents, path: "" }];
  const below = (path: string, segment: string): string =>
    path === "" ? segment : segment.startsWith("[") ? `${path}${segment}` : `${path}.${segment}`;
  while (stack.length > 0) {
    const { node, path } = stack.pop() as { node: YamlNode; path: string };
    if (!isMap(node) && !isSeq(node)) continue;
    const items = node.items as unknown[];
    if (rootItems !== undefined && path === "" && isSeq(node) && items.length > rootItems.count) {
      problems.push({
        file: fileName,
        ...at(node),
        path: "",
        message: `holds ${items.length} ${rootItems.noun}, more than ${rootItems.count}; ${rootItems.advice}`,
      });
      return problems;
    }
    if (items.length > limits.maxEntries) {
      problems.push({
        file: fileName,
        ...at(node),
        path,
        message: `holds ${items.length} ${isMap(node) ? "keys" : "items"}, more than the ${limits.maxEntries} one ${isMap(node) ? "map" : "list"} of a config may hold; keep data in a file of the project and read it in the predictor`,
      });
      return problems;
    }
    const seen = new Set<unknown>();
    for (const [index, item] of items.entries()) {
      if (isPair(item)) {
        const key = item.key as YamlNode | null;
        let segment = "?";
        if (isScalar(key)) {
          segment = shorten(String(key.value));
          // The same equality the YAML reader's own check uses: scalar values, compared strictly.
          if (seen.has(key.value)) {
            problems.push({
              file: fileName,
              ...at(key),
              path,
              message: duplicateKeyMessage(text, key.range?.[0]),
            });
          } else seen.add(key.value);
        } else if (key !== null && typeof key === "object") stack.push({ node: key, path });
        const value = item.value as YamlNode | null;
        if (value !== null && typeof value === "object") {
          stack.push({ node: value, path: below(path, segment) });
        }
      } else if (item !== null && typeof item === "object") {
        // An API is named by its name, as in every other diagnostic.
        const name = path === "" && isMap(item) ? item.get("name") : undefined;
        const segment = typeof name === "string" && name !== "" ? name : `[${index}]`;
        stack.push({ node: item as YamlNode, path: below(path, segment) });
      }
    }
  }
  return problems;
}

/** A key of thousands of characters would drown the message it heads; its start is enough. */
function shorten(segment: string): string {
  return segment.length <= 80 ? segment : `${segment.slice(0, 40)}…(${segment.length} characters)`;
}

function duplicateKeyMessage(text: string, offset: number | undefined): string {
  // The key's text runs to the `:` that ends it.
  const key =
    offset === undefined
      ? ""
      : (/^[^:\n]*/.exec(text.slice(offset, offset + 200))?.[0].trim() ?? "");
  return key === ""
    ? "repeats a key of the same map; remove one of the two"
    : `repeats the key ${key} in the same map; remove one of the two`;
}

/** Exported for callers that read YAML errors themselves. */
export function yamlErrorDiagnostic(
  error: YAMLError,
  text: string,
  file: string,
  lineCounter: LineCounter,
): Diagnostic {
  const { line, col } = lineCounter.linePos(error.pos[0]);
  return { file, line, column: col, path: "", message: describeYamlError(error, text) };
}

function describeYamlError(error: YAMLError, text: string): string {
  if (error.code === "MULTIPLE_DOCS") {
    return "holds several YAML documents (separated by ---); put every API in a single list";
  }
  if (error.code === "DUPLICATE_KEY") return duplicateKeyMessage(text, error.pos[0]);
  // The YAML reader recurses per level and reports running out of stack as a parse error.
  if (error.message.includes("Maximum call stack size exceeded")) {
    return `nests maps and lists far more than ${CONFIG_LIMITS.maxNestingDepth} levels deep; flatten this value`;
  }
  return `invalid YAML: ${error.message}`;
}

function sortByLine(diagnostics: Diagnostic[]): Diagnostic[] {
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

function formatKiB(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB`
    : `${Math.ceil(bytes / 1024)} KiB`;
}
