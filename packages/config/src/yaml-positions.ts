/**
 * Maps a field path back to where it was written in the YAML source, so every diagnostic can name a
 * line and column. Works on the `yaml` package's document tree; when the exact key is absent (a
 * missing required key, a defaulted value) it points at the nearest enclosing node that exists.
 */

import type { Document, LineCounter, Node } from "yaml";
import { loadYaml } from "./lazy-modules.js";

/** 1-based line and column. */
export interface SourcePosition {
  line: number;
  column: number;
}

/**
 * Finds the position of `path` (keys and list indexes from the document root) in `doc`.
 * With `atKey`, points at the last key rather than its value.
 */
export function locateInDocument(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly (string | number)[],
  atKey: boolean,
): SourcePosition | undefined {
  const { isAlias, isMap, isScalar, isSeq } = loadYaml();
  let node: unknown = doc.contents;
  let best = offsetOf(node);
  // Where the current node's own key was written: a missing child is reported there
  // ("autoscaling:" rather than the first key inside it).
  let ownKey: number | undefined;
  for (const [index, segment] of path.entries()) {
    if (isAlias(node)) node = node.resolve(doc);
    const isLast = index === path.length - 1;
    let found = false;
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (pair !== undefined) {
        found = true;
        const keyOffset = offsetOf(pair.key);
        const valueOffset =
          isScalar(pair.value) && pair.value.value === null ? undefined : offsetOf(pair.value);
        node = pair.value;
        ownKey = keyOffset;
        best = isLast && atKey ? (keyOffset ?? best) : (valueOffset ?? keyOffset ?? best);
      }
    } else if (isSeq(node)) {
      const item: unknown = node.items[Number(segment)];
      if (item !== undefined) {
        found = true;
        node = item;
        ownKey = undefined;
        best = offsetOf(item) ?? best;
      }
    }
    if (!found) {
      best = ownKey ?? best;
      break;
    }
  }
  if (best === undefined) return undefined;
  const { line, col } = lineCounter.linePos(best);
  return { line, column: col };
}

function offsetOf(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return Array.isArray(range) ? range[0] : undefined;
}
