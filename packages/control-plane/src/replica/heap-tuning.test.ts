import { expect, test } from "vitest";
import { garbageCollector } from "./heap-tuning.js";

// V8 may well collect such a buffer by itself: what can fail here is the collector (`gc` reached
// through --expose-gc set at run time), not the collection's necessity, which bench:abuse shows.
test("garbageCollector runs V8's collections, and an array buffer nothing refers to is given back", async () => {
  // Given 64 MiB in an array buffer that is then dropped
  const collect = garbageCollector();
  const before = process.memoryUsage().arrayBuffers;
  let big: Uint8Array | undefined = new Uint8Array(64 * 1024 * 1024).fill(1);
  expect(process.memoryUsage().arrayBuffers - before).toBeGreaterThanOrEqual(64 * 1024 * 1024);
  big = undefined;

  // When a full collection is asked for (it runs concurrently: looked at until it is done)
  collect("major");
  collect("minor");

  // Then the memory outside the heap is back near where it was
  for (let i = 0; i < 100 && process.memoryUsage().arrayBuffers - before > 8 * 1024 * 1024; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    collect("minor");
  }
  expect(big).toBeUndefined();
  expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 * 1024 * 1024);
});
