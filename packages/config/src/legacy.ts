/**
 * Cortex 0.14–0.19 spellings, rewritten in place to today's fields before validation. Each rewrite
 * records a note (shown as a deprecation, never an error) and, for moved keys, where the value
 * really sits in the file, so a problem with a moved value still points at what the user wrote.
 */

import type { FieldPath } from "./schema.js";

/** Which old spelling was seen; used to report each kind once per file. */
export type LegacySpelling =
  | "endpoint"
  | "workers_per_replica"
  | "threads_per_worker"
  | "tracker"
  | "kind-missing"
  | "kind-sync-api";

/** A value moved from `from` (where the user wrote it) to `to` (today's field). */
export interface FieldMove {
  from: FieldPath;
  to: FieldPath;
}

/** What `applyLegacySpellings` did to one API map. */
export interface LegacyResult {
  notes: { spelling: LegacySpelling; path: FieldPath }[];
  moves: FieldMove[];
  /** Old and new spelling both present: the user has to pick one. */
  conflicts: { path: FieldPath; message: string }[];
}

/** Deprecation wording per old spelling. */
export const LEGACY_MESSAGES: Readonly<Record<LegacySpelling, string>> = {
  endpoint:
    "endpoint is the Cortex 0.14–0.17 spelling of networking.endpoint; it was mapped automatically (move it under networking: to silence this note)",
  workers_per_replica:
    "autoscaling.workers_per_replica is the Cortex 0.14–0.17 spelling of predictor.processes_per_replica; it was mapped automatically",
  threads_per_worker:
    "autoscaling.threads_per_worker is the Cortex 0.14–0.17 spelling of predictor.threads_per_process; it was mapped automatically",
  tracker:
    "tracker is the Cortex 0.14–0.17 spelling of monitoring; it was mapped automatically (rename it to monitoring to silence this note)",
  "kind-missing":
    "kind is missing (Cortex 0.14–0.18 files had none); assuming kind: RealtimeAPI (add it to silence this note)",
  "kind-sync-api":
    "kind SyncAPI is the pre-release name of RealtimeAPI; it was read as RealtimeAPI (write kind: RealtimeAPI to silence this note)",
};

/** Rewrites old spellings in `api` (a mutable copy of one API map) to today's fields. */
export function applyLegacySpellings(api: Record<string, unknown>): LegacyResult {
  const result: LegacyResult = { notes: [], moves: [], conflicts: [] };

  if (!("kind" in api)) {
    api["kind"] = "RealtimeAPI";
    result.notes.push({ spelling: "kind-missing", path: [] });
  } else if (api["kind"] === "SyncAPI") {
    api["kind"] = "RealtimeAPI";
    result.notes.push({ spelling: "kind-sync-api", path: ["kind"] });
  }

  moveKey(api, result, "endpoint", ["endpoint"], ["networking", "endpoint"], true);
  moveKey(api, result, "tracker", ["tracker"], ["monitoring"], false);
  // Never invent a predictor map: a missing predictor must be reported as missing.
  const workers = ["autoscaling", "workers_per_replica"];
  moveKey(
    api,
    result,
    "workers_per_replica",
    workers,
    ["predictor", "processes_per_replica"],
    false,
  );
  const threads = ["autoscaling", "threads_per_worker"];
  moveKey(api, result, "threads_per_worker", threads, ["predictor", "threads_per_process"], false);
  return result;
}

function moveKey(
  api: Record<string, unknown>,
  result: LegacyResult,
  spelling: LegacySpelling,
  from: FieldPath,
  to: FieldPath,
  createTarget: boolean,
): void {
  const source = containerOf(api, from, false);
  const fromKey = from.at(-1) ?? "";
  if (source === undefined || !(fromKey in source)) return;
  const target = containerOf(api, to, createTarget);
  const toKey = to.at(-1) ?? "";
  // A non-map target section is reported by the schema; leave the old key where it is.
  if (target === undefined) return;
  if (toKey in target) {
    result.conflicts.push({
      path: from,
      message: `cannot be combined with ${to.join(".")}; remove ${from.join(".")} (the Cortex 0.14–0.17 spelling)`,
    });
    delete source[fromKey];
    return;
  }
  target[toKey] = source[fromKey];
  delete source[fromKey];
  result.moves.push({ from, to });
  result.notes.push({ spelling, path: from });
}

/** The map holding the last key of `path`; with `create`, absent intermediate maps are added. */
function containerOf(
  api: Record<string, unknown>,
  path: FieldPath,
  create: boolean,
): Record<string, unknown> | undefined {
  let current = api;
  for (const key of path.slice(0, -1)) {
    let next = current[key];
    if (next === undefined && create) {
      next = {};
      current[key] = next;
    }
    if (next === null || typeof next !== "object" || Array.isArray(next)) return undefined;
    current = next as Record<string, unknown>;
  }
  return current;
}
