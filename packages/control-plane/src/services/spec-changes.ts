/**
 * What changed between a deployed spec and a new one, field by field: the words `deploy --plan`
 * shows (engines/deploy-preview.ts) and the record a BatchAPI's redeploy keeps (batch/), decided
 * once so no two callers count a change differently.
 */
import type { ApiSpec, BatchApiSpec, TrafficSplitterSpec } from "@axon/config";
import type { ApiPreview, FieldChange } from "../contract/index.js";

/**
 * The dotted fields whose value differs between `before` and `after` (sorted). Objects are walked
 * key by key; arrays and scalars are compared whole (a changed list is one change of the field).
 */
export function changedFields<T extends ApiSpec | BatchApiSpec | TrafficSplitterSpec>(
  before: T | undefined,
  after: T,
): FieldChange[] {
  if (before === undefined) return [];
  const changes: FieldChange[] = [];
  walk(before, after, "", changes);
  return changes.sort((a, b) => a.field.localeCompare(b.field));
}

function walk(before: unknown, after: unknown, prefix: string, out: FieldChange[]): void {
  if (isRecord(before) && isRecord(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const key of keys) {
      walk(before[key], after[key], prefix === "" ? key : `${prefix}.${key}`, out);
    }
    return;
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return;
  out.push({
    field: prefix,
    ...(before === undefined ? {} : { before }),
    ...(after === undefined ? {} : { after }),
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A BatchAPI's line of `deploy --plan`, on either engine: a BatchAPI runs nothing between jobs, so
 * a deploy starts or stops no replica; what changes is what the next job runs. `idle` says where
 * a job's workers come from on the engine, `applied` what a change does there.
 */
export function batchApiPreview(
  spec: BatchApiSpec,
  deployed:
    { version: string; changed: boolean; codeChanged: boolean; fields: FieldChange[] } | undefined,
  words: { idle: string; applied: string },
): ApiPreview {
  const base = { api: spec.name, kind: "BatchAPI" as const, replicas: "none" as const };
  if (deployed === undefined) {
    return {
      ...base,
      outcome: "created",
      newVersion: true,
      changedFields: [],
      codeChanged: true,
      replicasReason: words.idle,
    };
  }
  return {
    ...base,
    outcome: deployed.changed ? "updated" : "unchanged",
    currentVersion: deployed.version,
    newVersion: deployed.changed,
    changedFields: deployed.fields,
    codeChanged: deployed.codeChanged,
    replicasReason: deployed.changed ? `${words.idle}; ${words.applied}` : "nothing changes",
  };
}
