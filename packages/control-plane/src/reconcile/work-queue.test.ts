import { describe, expect, test } from "vitest";
import { WorkQueue } from "./work-queue.js";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("WorkQueue", () => {
  test("merges repeated adds of a key that has not started yet", async () => {
    // Given a queue whose single worker is busy with key "a"
    const calls: string[] = [];
    const gate = deferred();
    const queue = new WorkQueue(
      async (key) => {
        calls.push(key);
        if (key === "a") await gate.promise;
        return {};
      },
      { workers: 1 },
    );
    queue.add("a");
    // When "b" is added three times while "a" runs
    queue.add("b");
    queue.add("b");
    queue.add("b");
    gate.resolve();
    await queue.reconcileNow("c");
    // Then "b" was reconciled once
    expect(calls.filter((k) => k === "b")).toHaveLength(1);
    queue.stop();
  });

  test("never runs one key twice at once and reruns a key added while it ran", async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const gate = deferred();
    const queue = new WorkQueue(async () => {
      running++;
      runs++;
      maxRunning = Math.max(maxRunning, running);
      if (runs === 1) await gate.promise;
      running--;
      return {};
    });
    queue.add("k");
    await new Promise((r) => setTimeout(r, 10));
    // When the key is added again while it is being reconciled
    const done = queue.reconcileNow("k");
    gate.resolve();
    await done;
    // Then it ran again afterwards, never concurrently
    expect(runs).toBe(2);
    expect(maxRunning).toBe(1);
    queue.stop();
  });

  test("retries a failing key with backoff and reports the error", async () => {
    const errors: unknown[] = [];
    let attempts = 0;
    const succeeded = deferred();
    const queue = new WorkQueue(
      async () => {
        attempts++;
        if (attempts < 3) throw new Error(`boom ${attempts}`);
        succeeded.resolve();
        return {};
      },
      { onError: (_key, error) => errors.push(error) },
    );
    queue.add("k");
    await succeeded.promise;
    expect(attempts).toBe(3);
    expect(errors.map((e) => (e as Error).message)).toEqual(["boom 1", "boom 2"]);
    queue.stop();
  });

  test("requeues after the delay a reconcile asks for", async () => {
    const times: number[] = [];
    const second = deferred();
    const queue = new WorkQueue(async () => {
      times.push(Date.now());
      if (times.length === 2) second.resolve();
      return times.length === 1 ? { requeueAfterMs: 50 } : {};
    });
    queue.add("k");
    await second.promise;
    const [first = 0, second2 = 0] = times;
    expect(second2 - first).toBeGreaterThanOrEqual(45);
    queue.stop();
  });
});
