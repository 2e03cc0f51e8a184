/**
 * The Python worker processes the local provider runs, by replica, in a small 0600 file under
 * `$AXON_HOME`. It is written before a worker could outlive the daemon, so a daemon restarted after
 * `kill -9` finds and stops what its predecessor left behind (workers also exit by themselves
 * when their front's socket closes; this catches the ones stuck in a predictor's `__init__`).
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";

export interface WorkerProcessRecord {
  replicaId: string;
  apiName: string;
  pid: number;
}

export class WorkerRegistry {
  readonly #file: string;
  readonly #byReplica = new Map<string, { apiName: string; pids: number[] }>();

  /** Reads what a previous daemon recorded in `file` (nothing when absent or unreadable). */
  constructor(file: string) {
    this.#file = file;
    for (const record of readRecords(file)) {
      const entry = this.#byReplica.get(record.replicaId) ?? { apiName: record.apiName, pids: [] };
      entry.pids.push(record.pid);
      this.#byReplica.set(record.replicaId, entry);
    }
  }

  list(): WorkerProcessRecord[] {
    return [...this.#byReplica].flatMap(([replicaId, { apiName, pids }]) =>
      pids.map((pid) => ({ replicaId, apiName, pid })),
    );
  }

  /** Sets the worker PIDs of a replica (replacing what was recorded for it). */
  record(replicaId: string, apiName: string, pids: number[]): void {
    this.#byReplica.set(replicaId, { apiName, pids: [...pids] });
    this.#write();
  }

  forget(replicaId: string): void {
    if (this.#byReplica.delete(replicaId)) this.#write();
  }

  clear(): void {
    this.#byReplica.clear();
    this.#write();
  }

  #write(): void {
    const temp = `${this.#file}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(this.list())}\n`, { mode: 0o600 });
    renameSync(temp, this.#file);
  }
}

function readRecords(file: string): WorkerProcessRecord[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed.flatMap((item: unknown) => {
    if (typeof item !== "object" || item === null) return [];
    const { replicaId, apiName, pid } = item as Record<string, unknown>;
    return typeof replicaId === "string" && typeof apiName === "string" && Number.isInteger(pid)
      ? [{ replicaId, apiName, pid: pid as number }]
      : [];
  });
}
