/**
 * How the local provider moves an API from what runs to what is desired, one step at a time:
 * Kubernetes' rolling-update rules, as Cortex used them (`update_strategy.max_surge` /
 * `max_unavailable`, a count or a percentage of the desired replicas).
 *
 * - At most `desired + surge` replicas exist (starting or ready; stopping ones are draining and
 *   no longer count), so a roll never runs more than that many predictors at once.
 * - At least `desired - unavailable` replicas stay ready while old ones are stopped.
 * - Surge rounds up and unavailable rounds down, as Kubernetes does; if both come to 0 (25% of 1
 *   replica rounds to 1 surge, so only counts do that), one replica may be unavailable.
 * - Unready old replicas go first (they serve nothing); ready old ones oldest first.
 * - With no old version left, surplus replicas of the current one stop, unready and newest first.
 *
 * Pure: the plan for one step from one observation. The provider applies it, and plans again
 * whenever a replica becomes ready or finishes stopping.
 */
import type { ObservedReplica } from "../provider.js";

export interface RolloutInput {
  /** Replicas of `versionId` wanted once converged. */
  desired: number;
  versionId: string;
  /** The API's replicas that are not stopping, of every version. */
  replicas: readonly ObservedReplica[];
  /** `update_strategy` as the spec resolved it: `"25%"` or `"1"`. */
  maxSurge: string;
  maxUnavailable: string;
}

export interface RolloutStep {
  /** Replicas of the current version to start. */
  start: number;
  /** Replicas to stop (ids), in order. */
  stop: string[];
}

/** Resolves `max_surge` / `max_unavailable` against the desired count (Kubernetes' rounding). */
export function resolveRolloutBounds(
  desired: number,
  maxSurge: string,
  maxUnavailable: string,
): { surge: number; unavailable: number } {
  const surge = resolveBound(maxSurge, desired, Math.ceil);
  let unavailable = resolveBound(maxUnavailable, desired, Math.floor);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

function resolveBound(value: string, desired: number, round: (n: number) => number): number {
  if (value.endsWith("%")) return round((desired * Number(value.slice(0, -1))) / 100);
  return Number(value);
}

export function planRolloutStep(input: RolloutInput): RolloutStep {
  const { desired, versionId, replicas } = input;
  const current = replicas.filter((r) => r.versionId === versionId);
  const old = replicas.filter((r) => r.versionId !== versionId);
  const ready = (r: ObservedReplica): boolean => r.phase === "ready";

  if (old.length === 0) {
    if (current.length < desired) {
      return { start: desired - current.length, stop: [] };
    }
    const surplus = [...current]
      .sort((a, b) => Number(ready(a)) - Number(ready(b)) || b.startedAt - a.startedAt)
      .slice(0, current.length - desired);
    return { start: 0, stop: surplus.map((r) => r.id) };
  }

  const { surge, unavailable } = resolveRolloutBounds(
    desired,
    input.maxSurge,
    input.maxUnavailable,
  );
  const stop: string[] = [];
  // Unready old replicas serve nothing: stopping them never lowers availability.
  for (const r of old) if (!ready(r)) stop.push(r.id);
  const readyOld = old.filter(ready).sort((a, b) => a.startedAt - b.startedAt);
  const available = current.filter(ready).length + readyOld.length;
  const stoppable = Math.max(0, available - Math.max(0, desired - unavailable));
  for (const r of readyOld.slice(0, stoppable)) stop.push(r.id);

  const remaining = current.length + old.length - stop.length;
  const start = Math.max(0, Math.min(desired - current.length, desired + surge - remaining));
  return { start, stop };
}
