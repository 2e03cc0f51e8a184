/**
 * Durable desired state: API specs and their versions, bundles by content hash, and events, in one
 * SQLite file (WAL) under `$AXON_HOME`. Everything here survives `kill -9` of the daemon; observed
 * state (which processes run) is never trusted from here except to find orphans after a crash.
 */
import { DatabaseSync, type SQLInputValue } from "node:sqlite";

/** One deployed version of an API: the resolved spec plus the bundle it runs. */
export interface ApiVersionRecord {
  id: string;
  apiName: string;
  spec: Record<string, unknown>;
  specHash: string;
  bundle: string;
  configFile: string;
  projectPath: string | null;
  /** The Python environment this version runs in (null: the base interpreter directly). */
  envKey: string | null;
  createdAt: string;
}

export interface ApiRecord {
  name: string;
  kind: string;
  /** Replicas the API should run now (init_replicas on creation; the autoscaler moves it later). */
  requested: number;
  currentVersion: ApiVersionRecord;
  createdAt: string;
  updatedAt: string;
}

export interface EventRecord {
  time: string;
  type: "info" | "warning" | "error";
  message: string;
}

export interface WorkerProcessRecord {
  replicaId: string;
  apiName: string;
  pid: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS bundles (
  sha256 TEXT PRIMARY KEY,
  bytes INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_versions (
  id TEXT PRIMARY KEY,
  api_name TEXT NOT NULL,
  spec_json TEXT NOT NULL,
  spec_hash TEXT NOT NULL,
  bundle TEXT NOT NULL REFERENCES bundles(sha256),
  config_file TEXT NOT NULL,
  project_path TEXT,
  env_key TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS api_versions_by_api ON api_versions(api_name, created_at);
CREATE TABLE IF NOT EXISTS apis (
  name TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  current_version TEXT NOT NULL REFERENCES api_versions(id),
  requested INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  api_name TEXT NOT NULL,
  time TEXT NOT NULL,
  type TEXT NOT NULL,
  message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_api ON events(api_name, id);
CREATE TABLE IF NOT EXISTS worker_processes (
  pid INTEGER PRIMARY KEY,
  replica_id TEXT NOT NULL,
  api_name TEXT NOT NULL
);
`;

interface VersionRow {
  id: string;
  api_name: string;
  spec_json: string;
  spec_hash: string;
  bundle: string;
  config_file: string;
  project_path: string | null;
  env_key: string | null;
  created_at: string;
}

function toVersion(row: VersionRow): ApiVersionRecord {
  return {
    id: row.id,
    apiName: row.api_name,
    spec: JSON.parse(row.spec_json) as Record<string, unknown>,
    specHash: row.spec_hash,
    bundle: row.bundle,
    configFile: row.config_file,
    projectPath: row.project_path,
    envKey: row.env_key,
    createdAt: row.created_at,
  };
}

interface ApiRow extends VersionRow {
  name: string;
  kind: string;
  requested: number;
  a_created: string;
  a_updated: string;
}

const API_SELECT = `SELECT a.name, a.kind, a.requested, a.created_at AS a_created, a.updated_at AS a_updated, v.*
  FROM apis a JOIN api_versions v ON v.id = a.current_version`;

function toApi(row: ApiRow): ApiRecord {
  return {
    name: row.name,
    kind: row.kind,
    requested: row.requested,
    currentVersion: toVersion(row),
    createdAt: row.a_created,
    updatedAt: row.a_updated,
  };
}

/** Keep this many events per API; older ones are pruned on insert. */
const EVENTS_KEPT = 200;

/** The state database. Open once in the daemon and pass it down. */
export class StateStore {
  readonly #db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Opens (creating if needed) the database file and applies the schema. */
  static open(file: string): StateStore {
    const db = new DatabaseSync(file);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
    db.exec(SCHEMA);
    return new StateStore(db);
  }

  close(): void {
    this.#db.close();
  }

  #all<T>(sql: string, ...params: SQLInputValue[]): T[] {
    return this.#db.prepare(sql).all(...params) as unknown as T[];
  }

  #get<T>(sql: string, ...params: SQLInputValue[]): T | undefined {
    return this.#db.prepare(sql).get(...params) as unknown as T | undefined;
  }

  #run(sql: string, ...params: SQLInputValue[]): void {
    this.#db.prepare(sql).run(...params);
  }

  hasBundle(sha256: string): boolean {
    return this.#get("SELECT 1 AS x FROM bundles WHERE sha256 = ?", sha256) !== undefined;
  }

  addBundle(sha256: string, bytes: number): void {
    this.#run(
      "INSERT OR IGNORE INTO bundles (sha256, bytes, created_at) VALUES (?, ?, ?)",
      sha256,
      bytes,
      new Date().toISOString(),
    );
  }

  listApis(): ApiRecord[] {
    return this.#all<ApiRow>(`${API_SELECT} ORDER BY a.name`).map(toApi);
  }

  getApi(name: string): ApiRecord | undefined {
    const row = this.#get<ApiRow>(`${API_SELECT} WHERE a.name = ?`, name);
    return row === undefined ? undefined : toApi(row);
  }

  getVersion(id: string): ApiVersionRecord | undefined {
    const row = this.#get<VersionRow>("SELECT * FROM api_versions WHERE id = ?", id);
    return row === undefined ? undefined : toVersion(row);
  }

  listVersions(apiName: string, limit = 10): ApiVersionRecord[] {
    return this.#all<VersionRow>(
      "SELECT * FROM api_versions WHERE api_name = ? ORDER BY created_at DESC, rowid DESC LIMIT ?",
      apiName,
      limit,
    ).map(toVersion);
  }

  /** Records a new version and makes it the API's current one, in one transaction. */
  putApiVersion(version: ApiVersionRecord, kind: string, requested: number): void {
    this.#transaction(() => {
      this.#run(
        `INSERT INTO api_versions (id, api_name, spec_json, spec_hash, bundle, config_file, project_path, env_key, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        version.id,
        version.apiName,
        JSON.stringify(version.spec),
        version.specHash,
        version.bundle,
        version.configFile,
        version.projectPath,
        version.envKey,
        version.createdAt,
      );
      this.#run(
        `INSERT INTO apis (name, kind, current_version, requested, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, current_version = excluded.current_version,
           requested = excluded.requested, updated_at = excluded.updated_at`,
        version.apiName,
        kind,
        version.id,
        requested,
        version.createdAt,
        version.createdAt,
      );
    });
  }

  /** Removes an API with its versions and events. */
  deleteApi(name: string): boolean {
    let existed = false;
    this.#transaction(() => {
      existed = this.#get("SELECT 1 AS x FROM apis WHERE name = ?", name) !== undefined;
      this.#run("DELETE FROM apis WHERE name = ?", name);
      this.#run("DELETE FROM api_versions WHERE api_name = ?", name);
      this.#run("DELETE FROM events WHERE api_name = ?", name);
    });
    return existed;
  }

  addEvent(apiName: string, type: EventRecord["type"], message: string): void {
    this.#run(
      "INSERT INTO events (api_name, time, type, message) VALUES (?, ?, ?, ?)",
      apiName,
      new Date().toISOString(),
      type,
      message,
    );
    this.#run(
      `DELETE FROM events WHERE api_name = ? AND id <= (
         SELECT id FROM events WHERE api_name = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
      apiName,
      apiName,
      EVENTS_KEPT,
    );
  }

  listEvents(apiName: string, limit = 20): EventRecord[] {
    return this.#all<EventRecord>(
      "SELECT time, type, message FROM events WHERE api_name = ? ORDER BY id DESC LIMIT ?",
      apiName,
      limit,
    ).reverse();
  }

  /** Sets the worker PIDs of a replica (replacing what was recorded for it). */
  recordWorkerProcesses(replicaId: string, apiName: string, pids: number[]): void {
    this.#transaction(() => {
      this.#run("DELETE FROM worker_processes WHERE replica_id = ?", replicaId);
      for (const pid of pids) {
        this.#run(
          "INSERT OR REPLACE INTO worker_processes (pid, replica_id, api_name) VALUES (?, ?, ?)",
          pid,
          replicaId,
          apiName,
        );
      }
    });
  }

  forgetReplicaProcesses(replicaId: string): void {
    this.#run("DELETE FROM worker_processes WHERE replica_id = ?", replicaId);
  }

  listWorkerProcesses(): WorkerProcessRecord[] {
    return this.#all<{ pid: number; replica_id: string; api_name: string }>(
      "SELECT pid, replica_id, api_name FROM worker_processes",
    ).map((r) => ({ pid: r.pid, replicaId: r.replica_id, apiName: r.api_name }));
  }

  clearWorkerProcesses(): void {
    this.#run("DELETE FROM worker_processes");
  }

  #transaction(body: () => void): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      body();
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }
}
