import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { WorkerRegistry } from "./worker-registry.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "axon-workers-"));
  dirs.push(dir);
  return path.join(dir, "local-workers.json");
}

describe("WorkerRegistry", () => {
  test("records worker processes per replica, and a new daemon reads them back", () => {
    // Given workers recorded, one replaced and one replica forgotten
    const file = tempFile();
    const registry = new WorkerRegistry(file);
    registry.record("r1", "a", [11, 12]);
    registry.record("r2", "a", [13]);
    // A replaced worker: the replica's set is replaced, not added to
    registry.record("r2", "a", [14]);
    registry.forget("r1");
    // When another registry (a restarted daemon) opens the file
    // Then it finds exactly what is still running
    expect(new WorkerRegistry(file).list()).toEqual([{ replicaId: "r2", apiName: "a", pid: 14 }]);
  });

  test("a missing, unreadable or malformed file is an empty registry", () => {
    const file = tempFile();
    expect(new WorkerRegistry(file).list()).toEqual([]);
    writeFileSync(file, "{not json");
    expect(new WorkerRegistry(file).list()).toEqual([]);
    writeFileSync(file, JSON.stringify([{ replicaId: "r", apiName: "a", pid: "x" }, 7]));
    expect(new WorkerRegistry(file).list()).toEqual([]);
  });
});
