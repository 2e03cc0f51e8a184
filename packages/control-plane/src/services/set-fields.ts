/**
 * Which fields of each API the user actually wrote in the config, as dotted paths
 * (`autoscaling.window`), read from the YAML document itself rather than from the resolved spec
 * (where every default is filled in) or a text search (which finds `window` in a comment or a
 * predictor's name). An engine's notes about knobs it cannot honour are said at deploy only for
 * these fields.
 *
 * The config was already parsed and validated (`@axon/config`); this reads the same text again for
 * its keys only. Its natural home is `@axon/config`'s parse result (the document is there); until
 * that keeps it, this is the one reader.
 */
import { parse } from "yaml";

/** The dotted paths under each API (by name) that the document sets; `{}` for anything unreadable. */
export function userSetFields(configText: string): Map<string, ReadonlySet<string>> {
  const fields = new Map<string, ReadonlySet<string>>();
  let root: unknown;
  try {
    root = parse(configText, { maxAliasCount: 1000 });
  } catch {
    return fields;
  }
  if (!Array.isArray(root)) return fields;
  for (const item of root) {
    if (!isMap(item) || typeof item["name"] !== "string") continue;
    const paths = new Set<string>();
    collect(item, "", paths);
    fields.set(item["name"], paths);
  }
  return fields;
}

function collect(map: Record<string, unknown>, prefix: string, into: Set<string>): void {
  for (const [key, value] of Object.entries(map)) {
    const path = `${prefix}${key}`;
    into.add(path);
    if (isMap(value)) collect(value, `${path}.`, into);
  }
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
