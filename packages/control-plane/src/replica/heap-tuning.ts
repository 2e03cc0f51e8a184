/** V8 heap settings for a process that hosts replica fronts. */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * Stops V8 from growing the young generation past its start size. Serving makes ~10 KB of
 * short-lived objects per request; under that rate V8 doubles the semi-spaces up to tens of MB,
 * and each scavenge of such a young generation then copies megabytes of still-in-flight objects:
 * measured 10–60 ms pauses, which became the replicas' p99 (iris, wrk -c16: p99 11–38 ms with
 * growth, 5.6–7.6 ms without, same throughput). Process-wide and idempotent; call it once when
 * the process starts serving. `--max-semi-space-size` would do the same but only as a start-up
 * flag; the growth factor is read each time V8 considers growing, so setting it late works.
 */
export function limitYoungGenerationGrowth(): void {
  setFlagsFromString("--semi-space-growth-factor=1");
}

/** What `garbageCollector` returns: a young-generation or a whole-heap collection. */
export type CollectGarbage = (type: "minor" | "major") => void;

/**
 * A function that asks V8 for a garbage collection: `minor` (a scavenge of the young generation,
 * sub-millisecond with the small young generation set above) or `major` (run concurrently where V8
 * can, so the event loop is not held for the marking). Node exposes `gc` only under
 * `--expose-gc`; the flag set late makes it available in contexts created after, as here. For the
 * front server, whose big request bodies live outside the V8 heap (see COLLECT_AFTER_BYTES there).
 */
export function garbageCollector(): CollectGarbage {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as (options: { type: string; execution?: string }) => void;
  return (type) => gc(type === "minor" ? { type } : { type, execution: "async" });
}
