/**
 * A look at a config's text before the YAML reader sees it: how deep its maps and lists nest and
 * how many entries one block map or list holds, each answered at the line where the limit is
 * crossed. It exists because the YAML reader itself is the weak part: it recurses once per level
 * (3,000 `- ` on one line overflows its stack before any check on its tree can run) and a 100,000-key
 * map costs it (and everything after it) seconds. One pass over the lines, no backtracking, so its
 * cost is linear in the text whatever the text holds.
 *
 * It reads YAML's block structure from indentation and the `- `, `? `, `: ` indicators and counts
 * flow brackets outside quotes and comments; it does not parse values. Its depth errs only
 * towards a level too few on odd text, never too many: on 2,999 YAML files found on a build
 * machine (cloud SDK resources, CI workflows) it never counted deeper than the YAML reader, and
 * the exact check runs on the parsed tree afterwards (`nestingDiagnostic`). Its entry counts
 * can be a few percent high on unusual text (an anchor whose name ends in `:`), which the
 * limits, far above any real config, absorb.
 */

import type { Diagnostic } from "./diagnostics.js";

/** One block map or list open at the current line. */
interface OpenBlock {
  /** Column (0-based) of its entries' first character. */
  col: number;
  kind: "map" | "seq" | "scalar";
  /** Entries seen so far. */
  count: number;
  /** The last key read in it (maps): names the block a deeper line opens. */
  lastKey: string;
  /** Its first line, where an oversized block is reported. */
  line: number;
  /** A list written at its parent key's own indentation (`env:\n- a`), which YAML allows. */
  atParentIndent: boolean;
  /** The API's `name` when this is one item of the file's top-level list. */
  label?: string;
}

/** Limits the pre-scan enforces. */
export interface PrescanLimits {
  maxDepth: number;
  /** Entries of any one map or list. */
  maxEntries: number;
  /** Entries of all maps and lists together: what bounds the YAML reader's time. */
  maxTotalEntries: number;
  /** Items of a top-level list (the APIs of `axon.yaml`), with what to call them. */
  maxRootItems?: { count: number; noun: string; advice: string };
}

/**
 * The first place `text` nests deeper than `limits.maxDepth` or holds a block map or list of
 * more than `limits.maxEntries` entries, as a diagnostic; undefined when it does neither.
 */
export function prescanYamlText(
  text: string,
  fileName: string,
  limits: PrescanLimits,
): Diagnostic | undefined {
  const stack: OpenBlock[] = [];
  let flowDepth = 0;
  /** While inside a `|`/`>` block scalar: lines indented more than this belong to it. */
  let blockScalarIndent: number | undefined;
  /** While a quoted scalar runs over several lines: its quote character. */
  let openQuote: '"' | "'" | undefined;
  let lineNumber = 0;
  let start = 0;
  let total = 0;
  /** Maps and lists among the open blocks (a multi-line scalar's lines are not a level). */
  let levels = 0;
  /** Entries of each open flow collection, innermost last, and the field holding the outermost. */
  const flowCounts: number[] = [];
  let flowPath = "";
  let flowLine = 0;

  const pathOf = (depth: number, extraKey?: string): string => {
    const segments: string[] = [];
    for (let i = 1; i < depth && i < stack.length; i++) {
      const parent = stack[i - 1];
      const block = stack[i];
      if (parent === undefined || block === undefined) break;
      segments.push(
        parent.kind === "seq" ? (block.label ?? `[${parent.count - 1}]`) : parent.lastKey,
      );
    }
    if (extraKey !== undefined) segments.push(extraKey);
    return segments.join(".").replaceAll(".[", "[").replace(/^\./, "");
  };
  const tooMany = (column: number): Diagnostic => ({
    file: fileName,
    line: lineNumber,
    column: column + 1,
    path: "",
    message: `holds more than ${limits.maxTotalEntries} keys and list items in all (the limit is reached here); a config cannot use that many: keep data in a file of the project and read it in the predictor`,
  });
  const tooDeep = (column: number): Diagnostic => ({
    file: fileName,
    line: lineNumber,
    column: column + 1,
    path: "",
    message: `nests maps and lists more than ${limits.maxDepth} levels deep here; flatten this value (a config needs far fewer levels)`,
  });

  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end > start && text[end - 1] === "\r" ? end - 1 : end);
    start = end + 1;
    lineNumber++;

    let pos = 0;
    while (pos < line.length && line[pos] === " ") pos++;
    const indent = pos;
    const blank = pos === line.length || line[pos] === "#";

    if (openQuote !== undefined) {
      const close = quoteEnd(line, 0, openQuote);
      if (close === -1) continue;
      openQuote = undefined;
      pos = close;
      if (flowDepth === 0) continue;
    } else if (blockScalarIndent !== undefined) {
      if (blank || indent > blockScalarIndent) continue;
      blockScalarIndent = undefined;
    }
    if (blank && flowDepth === 0) continue;

    if (flowDepth === 0) {
      if (indent === 0 && (line.startsWith("---") || line.startsWith("..."))) {
        stack.length = 0;
        levels = 0;
        continue;
      }
      if (indent === 0 && line.startsWith("%")) continue;
      const indicator = indicatorAt(line, pos);
      const isEntry = indicator === "-";
      while (stack.length > 0) {
        const top = stack[stack.length - 1] as OpenBlock;
        const leavesSameIndentList = top.col === indent && top.atParentIndent && !isEntry;
        if (top.col > indent || leavesSameIndentList) {
          stack.pop();
          if (top.kind !== "scalar") levels--;
        } else break;
      }
      let top = stack[stack.length - 1];
      if (top !== undefined && top.col === indent && top.kind === "map" && isEntry) {
        // `key:` followed by a list at the key's own indentation.
        top = open(indent, "seq", true);
      } else if (top !== undefined && top.col === indent && indicator === ":") {
        // The value of an explicit key (`? key` then `: value`): the same entry.
      } else if (top !== undefined && top.col === indent) {
        top.count++;
        if (top.kind !== "scalar" && ++total > limits.maxTotalEntries) return tooMany(indent);
        const root = limits.maxRootItems;
        if (
          root !== undefined &&
          stack.length === 1 &&
          top.kind === "seq" &&
          top.count > root.count
        ) {
          return {
            file: fileName,
            line: lineNumber,
            column: indent + 1,
            path: "",
            message: `holds more than ${root.count} ${root.noun} (this is number ${top.count}); ${root.advice}`,
          };
        }
        if (top.count > limits.maxEntries && top.kind !== "scalar") {
          return {
            file: fileName,
            line: top.line,
            column: top.col + 1,
            path: pathOf(stack.length),
            message: `holds more than ${limits.maxEntries} ${top.kind === "seq" ? "items" : "keys"} (line ${lineNumber} is one too many); a config cannot use that many: keep data in a file of the project and read it in the predictor`,
          };
        }
      } else {
        top = open(
          indent,
          isEntry
            ? "seq"
            : indicator !== undefined || lineKey(line, pos) !== undefined
              ? "map"
              : "scalar",
          false,
        );
      }
      if (levels > limits.maxDepth) return tooDeep(indent);

      // Compact nesting on one line: `- - - a`, `- key: value`, `? key`, `: value`.
      while (indicatorAt(line, pos) !== undefined) {
        pos++;
        while (pos < line.length && line[pos] === " ") pos++;
        if (pos >= line.length || line[pos] === "#") break;
        const nested = indicatorAt(line, pos);
        if (nested === undefined && lineKey(line, pos) === undefined) break;
        open(pos, nested === "-" ? "seq" : "map", false);
        if (levels > limits.maxDepth) return tooDeep(pos);
      }
      const current = stack[stack.length - 1];
      const key = lineKey(line, pos);
      if (key !== undefined && current !== undefined) {
        current.lastKey = key.name;
        if (key.name === "name" && stack.length === 2 && stack[0]?.kind === "seq") {
          current.label = scalarText(line.slice(key.valueStart));
        }
        pos = key.valueStart;
        while (pos < line.length && line[pos] === " ") pos++;
        // Anchors and tags before a value or before a nested block.
        while (pos < line.length && (line[pos] === "&" || line[pos] === "!")) {
          while (pos < line.length && line[pos] !== " ") pos++;
          while (pos < line.length && line[pos] === " ") pos++;
        }
      }
      const first = line[pos];
      if (first === "|" || first === ">") {
        blockScalarIndent = current?.col ?? indent;
        continue;
      }
      if (first === '"' || first === "'") {
        if (quoteEnd(line, pos + 1, first) === -1) openQuote = first;
        continue;
      }
      if (first !== "[" && first !== "{") continue;
    }

    // Flow collections: brackets outside quotes and comments, carried across lines.
    for (; pos < line.length; pos++) {
      const char = line[pos];
      if (char === "#" && (pos === 0 || line[pos - 1] === " " || line[pos - 1] === "\t")) break;
      if (char === '"' || char === "'") {
        const close = quoteEnd(line, pos + 1, char);
        if (close === -1) {
          openQuote = char;
          break;
        }
        pos = close - 1;
      } else if (char === "[" || char === "{") {
        if (flowDepth === 0) {
          const holder = stack[stack.length - 1];
          flowPath = pathOf(stack.length, holder?.kind === "map" ? holder.lastKey : undefined);
          flowLine = lineNumber;
        }
        flowDepth++;
        flowCounts.push(1);
        if (levels + flowDepth > limits.maxDepth) return tooDeep(pos);
      } else if (char === "," && flowDepth > 0) {
        if (++total > limits.maxTotalEntries) return tooMany(pos);
        const count = (flowCounts.pop() ?? 0) + 1;
        flowCounts.push(count);
        if (count > limits.maxEntries) {
          return {
            file: fileName,
            line: flowLine,
            path: flowPath,
            message: `holds a map or list of more than ${limits.maxEntries} entries (line ${lineNumber} is one too many); a config cannot use that many: keep data in a file of the project and read it in the predictor`,
          };
        }
      } else if ((char === "]" || char === "}") && flowDepth > 0) {
        flowDepth--;
        flowCounts.pop();
        if (flowDepth === 0) break;
      }
    }
  }
  return undefined;

  function open(col: number, kind: OpenBlock["kind"], atParentIndent: boolean): OpenBlock {
    if (kind !== "scalar") {
      total++;
      levels++;
    }
    const block: OpenBlock = {
      col,
      kind,
      count: 1,
      lastKey: "",
      line: lineNumber,
      atParentIndent,
    };
    stack.push(block);
    return block;
  }
}

/**
 * The block indicator at `pos` — `-` (a list item), `?` (an explicit key) or `:` (its value) —
 * when followed by a space or the end of the line.
 */
function indicatorAt(line: string, pos: number): "-" | "?" | ":" | undefined {
  const char = line[pos];
  if (char !== "-" && char !== "?" && char !== ":") return undefined;
  return pos + 1 === line.length || line[pos + 1] === " " ? char : undefined;
}

/**
 * The implicit key starting at `pos` (`name: value`, `"a b": c`), with where its value starts;
 * undefined when the line holds no key there.
 */
function lineKey(line: string, pos: number): { name: string; valueStart: number } | undefined {
  const first = line[pos];
  if (first === undefined || first === "[" || first === "{" || first === "#") return undefined;
  let keyEnd: number;
  let name: string;
  if (first === '"' || first === "'") {
    const close = quoteEnd(line, pos + 1, first);
    if (close === -1) return undefined;
    name = line.slice(pos + 1, close - 1);
    keyEnd = close;
    while (keyEnd < line.length && line[keyEnd] === " ") keyEnd++;
    if (line[keyEnd] !== ":") return undefined;
  } else {
    keyEnd = pos;
    for (;;) {
      keyEnd = line.indexOf(":", keyEnd);
      if (keyEnd === -1) return undefined;
      const after = line[keyEnd + 1];
      if (after === undefined || after === " " || after === "\t") break;
      keyEnd++;
    }
    if (line.slice(pos, keyEnd).includes(" #")) return undefined;
    name = line.slice(pos, keyEnd).trimEnd();
  }
  return { name, valueStart: keyEnd + 1 };
}

/** Index just past the closing quote of a scalar whose body starts at `from`, or -1. */
function quoteEnd(line: string, from: number, quote: string): number {
  for (let i = from; i < line.length; i++) {
    const char = line[i];
    if (quote === '"' && char === "\\") i++;
    else if (char === quote) {
      if (quote === "'" && line[i + 1] === "'") i++;
      else return i + 1;
    }
  }
  return -1;
}

/** A short scalar as written (`iris`, `"iris"`), for naming an API in a path. */
function scalarText(value: string): string | undefined {
  const trimmed = value.replace(/\s+#.*$/, "").trim();
  const unquoted = /^(["'])(.*)\1$/.exec(trimmed)?.[2] ?? trimmed;
  return unquoted === "" ? undefined : unquoted;
}
