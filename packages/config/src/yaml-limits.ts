/**
 * What a config file must be before anything reads its values: UTF-8 text, and no deeper than a
 * config needs. Both checks answer with a diagnostic pinned to a line, where the alternative is a
 * silently replaced character or a "Maximum call stack size exceeded" from whichever recursive
 * reader (YAML-to-JS, cloning, the schema, hashing) happened to run out of stack first.
 *
 * Decisions recorded here:
 * - **64 levels of maps and lists at most**, counted through aliases (an alias is as deep as what
 *   it names, so a chain of anchors cannot multiply depth behind a short text). Every recursive
 *   reader downstream is safe at that depth with stack to spare, and no real predictor config
 *   comes near it.
 * - **Invalid UTF-8 is refused, not repaired**: a Latin-1 `é` decoded leniently becomes U+FFFD
 *   and reaches the predictor's config as a different string than the author wrote.
 */

import type { Document, LineCounter, Node as YamlNode } from "yaml";
import { ConfigError, type Diagnostic } from "./diagnostics.js";
import { loadYaml } from "./lazy-modules.js";

export const MAX_NESTING_DEPTH = 64;

/**
 * What one config file may hold, checked before and while it is read (docs/limits.md). Each is
 * far above what a real config needs and bounds the time to read the largest accepted file to
 * well under a second: the YAML reader takes ~30-60 µs per key on a busy 2-core machine, and
 * it runs on the daemon's event loop.
 */
export const CONFIG_LIMITS = {
  /** Bytes of YAML text. */
  maxFileBytes: 1024 * 1024,
  maxNestingDepth: MAX_NESTING_DEPTH,
  /** Keys of one map or items of one list. */
  maxEntriesPerCollection: 5_000,
  /** Keys and list items of the whole file. */
  maxTotalEntries: 10_000,
  /** APIs of one `axon.yaml`: 5,000 took 420 MB to validate; a local machine runs far fewer. */
  maxApisPerFile: 256,
} as const;

/**
 * Decodes a config file's bytes as UTF-8 (a leading byte-order mark is dropped).
 *
 * @throws ConfigError naming the line and column of the first byte that is not UTF-8
 */
export function decodeConfigBytes(bytes: Uint8Array, fileName: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < offset; i++) {
      if (bytes[i] === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    // Columns count characters, so the valid text before the bad byte is decoded to count them.
    const column = new TextDecoder().decode(bytes.subarray(lineStart, offset)).length + 1;
    const byte = (bytes[offset] ?? 0).toString(16).toUpperCase().padStart(2, "0");
    throw new ConfigError([
      {
        file: fileName,
        line,
        column,
        path: "",
        message: `is not UTF-8 text: byte 0x${byte} cannot start or continue a character here (a Latin-1 or Windows-1252 file?); save the file as UTF-8`,
      },
    ]);
  }
}

/** Offset of the first byte that breaks UTF-8 well-formedness (RFC 3629), or the length. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i] ?? 0;
    let length: number;
    let min = 0x80;
    let max = 0xbf;
    if (lead < 0x80) length = 1;
    else if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead === 0xe0) min = 0xa0; // no overlong forms
      if (lead === 0xed) max = 0x9f; // no surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead === 0xf0) min = 0x90;
      if (lead === 0xf4) max = 0x8f; // nothing above U+10FFFF
    } else return i;
    for (let k = 1; k < length; k++) {
      const next = bytes[i + k];
      const lo = k === 1 ? min : 0x80;
      const hi = k === 1 ? max : 0xbf;
      if (next === undefined || next < lo || next > hi) return k === 1 ? i : i + k;
    }
    i += length;
  }
  return bytes.length;
}

/**
 * The first place the document nests deeper than `MAX_NESTING_DEPTH`, as a diagnostic; undefined
 * when it does not. Iterative, so it is safe whatever the depth.
 */
export function nestingDiagnostic(
  doc: Document,
  lineCounter: LineCounter,
  fileName: string,
): Diagnostic | undefined {
  const { isAlias, isMap, isPair, isSeq } = loadYaml();
  const children = (node: YamlNode): YamlNode[] => {
    if (isAlias(node)) {
      const target = node.resolve(doc);
      return target === undefined ? [] : [target as YamlNode];
    }
    if (!isMap(node) && !isSeq(node)) return [];
    const out: YamlNode[] = [];
    for (const item of node.items as unknown[]) {
      if (isPair(item)) {
        if (isYamlNode(item.key)) out.push(item.key);
        if (isYamlNode(item.value)) out.push(item.value);
      } else if (isYamlNode(item)) out.push(item);
    }
    return out;
  };
  // Levels below each node (maps and lists count; scalars and aliases themselves do not),
  // memoized so a node named by many aliases is measured once.
  const height = new Map<YamlNode, number>();
  const levelOf = (node: YamlNode): number => (isMap(node) || isSeq(node) ? 1 : 0);
  const root = doc.contents;
  if (!isYamlNode(root)) return undefined;
  const stack: Array<{ node: YamlNode; expanded: boolean }> = [{ node: root, expanded: false }];
  const onStack = new Set<YamlNode>();
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top === undefined) break;
    if (height.has(top.node)) {
      stack.pop();
      continue;
    }
    if (!top.expanded) {
      top.expanded = true;
      onStack.add(top.node);
      for (const child of children(top.node)) {
        // An alias to an enclosing node is a cycle the YAML reader refuses on its own.
        if (!height.has(child) && !onStack.has(child)) stack.push({ node: child, expanded: false });
      }
      continue;
    }
    // A loop, not Math.max(...children): a map of 100,000 keys would overflow the argument list.
    let below = 0;
    for (const child of children(top.node)) below = Math.max(below, height.get(child) ?? 0);
    height.set(top.node, levelOf(top.node) + below);
    onStack.delete(top.node);
    stack.pop();
  }
  if ((height.get(root) ?? 0) <= MAX_NESTING_DEPTH) return undefined;
  // Walk down along the deepest child until the limit is crossed, to point at that line.
  let node: YamlNode = root;
  for (let level = levelOf(root); level <= MAX_NESTING_DEPTH;) {
    const next = children(node).reduce<YamlNode | undefined>(
      (best, child) =>
        (height.get(child) ?? 0) > (best === undefined ? -1 : (height.get(best) ?? 0))
          ? child
          : best,
      undefined,
    );
    if (next === undefined) break;
    node = next;
    level += levelOf(next);
  }
  const position =
    node.range === undefined || node.range === null
      ? undefined
      : lineCounter.linePos(node.range[0]);
  return {
    file: fileName,
    ...(position === undefined ? {} : { line: position.line, column: position.col }),
    path: "",
    message: `nests maps and lists more than ${MAX_NESTING_DEPTH} levels deep here; flatten this value (a config needs far fewer levels)`,
  };
}

function isYamlNode(value: unknown): value is YamlNode {
  return value !== null && typeof value === "object" && "range" in value;
}
