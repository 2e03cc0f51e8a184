/**
 * Durable desired state: API specs and their versions, bundles by content hash, and events, in one
 * SQLite file (WAL) under `$AXON_HOME`. Everything here survives `kill -9` of the daemon; observed
 * state (which processes run) is never trusted from here except to find orphans after a crash.
 */
import { chmodSync, closeSync, existsSync, openSync } from "node:fs";
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import type { ApiSpec, TrafficSplitterSpec } from "@axon/config";
import type { ControlPlaneEventKind, EventLevel } from "../contract/index.js";

/**
 * What a provider's `prepare` returned for a version, stored with it as JSON. Only the provider
 * that made it reads it (each parses it back through its own typed function).
 */
export type Artifact = Readonly<Record<string, string | number | boolean | null>>;

/** One deployed version of an API: the resolved spec plus the bundle it runs. */
export interface ApiVersionRecord {
  id: string;
  apiName: string;
  /** The resolved spec, as `@axon/config` validated it when the version was deployed. */
  spec: ApiSpec;
  specHash: string;
  bundle: string;
  configFile: string;
  projectPath: string | null;
  /** What the provider's `prepare` made for this version (locally: its Python environment). */
  artifact: Artifact;
  createdAt: string;
  /** When this version last became fully live (null: never). */
  liveAt: string | null;
}

/** Why the API runs its live version and not the one deployed last. */
export interface RollbackRecord {
  /** The version that never became live. */
  failedVersionId: string;
  reason: string;
  at: string;
}

export interface ApiRecord {
  name: string;
  kind: string;
  /** Replicas the API should run now (init_replicas on creation; the autoscaler moves it later). */
  requested: number;
  currentVersion: ApiVersionRecord;
  /** The last version that was fully rolled out (all requested replicas ready), and when. */
  liveVersionId: string | null;
  liveAt: string | null;
  /** Set when the last rollout was rolled back automatically; cleared by the next deploy. */
  rolledBack: RollbackRecord | null;
  createdAt: string;
  updatedAt: string;
}

/**
 * A deployed TrafficSplitter. Stored in a table of its own, not as an `apis` row of another kind:
 * it has no version, replicas, rollout or artifact, and every reader of `listApis` (reconciler,
 * autoscaler, monitoring) would otherwise have to skip it. Its name shares the APIs' namespace
 * (the deploy plan refuses a clash), as in Cortex.
 */
export interface TrafficSplitterRecord {
  name: string;
  spec: TrafficSplitterSpec;
  createdAt: string;
  /** When its weights or endpoint last changed. */
  updatedAt: string;
}

export interface EventRecord {
  time: string;
  type: EventLevel;
  kind?: ControlPlaneEventKind;
  message: string;
}

/**
 * An API key of an API with `networking.auth: api_key` (replica/api-keys.ts): its sha256, never
 * the key. A revoked key is deleted.
 */
export interface ApiKeyRow {
  id: string;
  name: string | null;
  hash: string;
  createdAt: string;
  expiresAt: string | null;
  ratePerSecond: number | null;
  /** The last request a front admitted with it, as written back by the local gateway; null: none. */
  lastUsedAt: string | null;
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
  artifact_json TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL,
  live_at TEXT
);
CREATE INDEX IF NOT EXISTS api_versions_by_api ON api_versions(api_name, created_at);
CREATE TABLE IF NOT EXISTS apis (
  name TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  current_version TEXT NOT NULL REFERENCES api_versions(id),
  requested INTEGER NOT NULL,
  live_version TEXT,
  live_at TEXT,
  rollback_json TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  api_name TEXT NOT NULL,
  time TEXT NOT NULL,
  type TEXT NOT NULL,
  kind TEXT,
  message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_api ON events(api_name, id);
CREATE TABLE IF NOT EXISTS environments (
  name TEXT PRIMARY KEY,
  provider TEXT NOT NULL,
  region TEXT NOT NULL,
  stack_name TEXT NOT NULL,
  cluster_name TEXT,
  config_file TEXT,
  config_yaml TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS traffic_splitters (
  name TEXT PRIMARY KEY,
  spec_json TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY,
  api_name TEXT NOT NULL,
  name TEXT,
  hash TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  rate_per_second REAL,
  last_used_at TEXT
);
CREATE INDEX IF NOT EXISTS api_keys_by_api ON api_keys(api_name);
`;

/**
 * Columns added after the first release, for databases created before them. `artifact_json` took
 * over from `env_key` (the local provider's artifact was only the environment key).
 */
const MIGRATIONS: Array<{ table: string; column: string; sql: string }> = [
  {
    table: "api_versions",
    column: "artifact_json",
    sql: `ALTER TABLE api_versions ADD COLUMN artifact_json TEXT NOT NULL DEFAULT '{}';
          UPDATE api_versions SET artifact_json = json_object('envKey', env_key);`,
  },
  { table: "apis", column: "live_version", sql: "ALTER TABLE apis ADD COLUMN live_version TEXT" },
  { table: "apis", column: "live_at", sql: "ALTER TABLE apis ADD COLUMN live_at TEXT" },
  { table: "events", column: "kind", sql: "ALTER TABLE events ADD COLUMN kind TEXT" },
  {
    table: "api_versions",
    column: "live_at",
    sql: "ALTER TABLE api_versions ADD COLUMN live_at TEXT",
  },
  { table: "apis", column: "rollback_json", sql: "ALTER TABLE apis ADD COLUMN rollback_json TEXT" },
];

interface VersionRow {
  id: string;
  api_name: string;
  spec_json: string;
  spec_hash: string;
  bundle: string;
  config_file: string;
  project_path: string | null;
  artifact_json: string;
  created_at: string;
  live_at: string | null;
}

function toVersion(row: VersionRow): ApiVersionRecord {
  return {
    id: row.id,
    apiName: row.api_name,
    spec: parseStoredSpec(row.spec_json),
    specHash: row.spec_hash,
    bundle: row.bundle,
    configFile: row.config_file,
    projectPath: row.project_path,
    artifact: parseStoredArtifact(row.artifact_json),
    createdAt: row.created_at,
    liveAt: row.live_at,
  };
}

/**
 * A stored spec back as the `ApiSpec` it was: only specs `@axon/config` resolved are written, so
 * the one unchecked step from JSON to the type lives here.
 */
function parseStoredSpec(json: string): ApiSpec {
  return JSON.parse(json) as ApiSpec;
}

function parseRollback(json: string): RollbackRecord {
  const value = JSON.parse(json) as Partial<RollbackRecord>;
  return {
    failedVersionId: String(value.failedVersionId ?? ""),
    reason: String(value.reason ?? ""),
    at: String(value.at ?? ""),
  };
}

function parseStoredArtifact(json: string): Artifact {
  const value: unknown = JSON.parse(json);
  const artifact: Record<string, string | number | boolean | null> = {};
  if (typeof value !== "object" || value === null) return artifact;
  for (const [key, field] of Object.entries(value)) {
    if (field === null || ["string", "number", "boolean"].includes(typeof field)) {
      artifact[key] = field as string | number | boolean | null;
    }
  }
  return artifact;
}

interface ApiRow extends VersionRow {
  name: string;
  kind: string;
  requested: number;
  live_version: string | null;
  a_live_at: string | null;
  rollback_json: string | null;
  a_created: string;
  a_updated: string;
}

const API_SELECT = `SELECT a.name, a.kind, a.requested, a.live_version, a.live_at AS a_live_at, a.rollback_json, a.created_at AS a_created, a.updated_at AS a_updated, v.*
  FROM apis a JOIN api_versions v ON v.id = a.current_version`;

function toApi(row: ApiRow): ApiRecord {
  return {
    name: row.name,
    kind: row.kind,
    requested: row.requested,
    currentVersion: toVersion(row),
    liveVersionId: row.live_version,
    liveAt: row.a_live_at,
    rolledBack: row.rollback_json === null ? null : parseRollback(row.rollback_json),
    createdAt: row.a_created,
    updatedAt: row.a_updated,
  };
}

/** An AWS environment: a cluster stack in a region, and the config it was created from. */
export interface EnvironmentRecord {
  name: string;
  provider: "aws";
  region: string;
  stackName: string;
  clusterName: string | null;
  configFile: string | null;
  configYaml: string | null;
  createdAt: string;
  updatedAt: string;
}

interface EnvironmentRow {
  name: string;
  provider: string;
  region: string;
  stack_name: string;
  cluster_name: string | null;
  config_file: string | null;
  config_yaml: string | null;
  created_at: string;
  updated_at: string;
}

function toEnvironment(row: EnvironmentRow): EnvironmentRecord {
  return {
    name: row.name,
    provider: "aws",
    region: row.region,
    stackName: row.stack_name,
    clusterName: row.cluster_name,
    configFile: row.config_file,
    configYaml: row.config_yaml,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
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
    // 0600 before SQLite opens it: SQLite gives the -wal and -shm files the database's mode.
    closeSync(openSync(file, "a", 0o600));
    chmodSync(file, 0o600);
    const db = new DatabaseSync(file);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
    // Made by an older axon with the default mode: private now.
    for (const suffix of ["-wal", "-shm"]) {
      if (existsSync(file + suffix)) chmodSync(file + suffix, 0o600);
    }
    db.exec(SCHEMA);
    for (const migration of MIGRATIONS) {
      const columns = db.prepare(`PRAGMA table_info(${migration.table})`).all();
      if (!columns.some((c) => c.name === migration.column)) db.exec(migration.sql);
    }
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

  /** Every stored bundle, and whether any version (current or history) still runs it. */
  listBundles(): Array<{ sha256: string; bytes: number; createdAt: string; referenced: boolean }> {
    return this.#all<{ sha256: string; bytes: number; created_at: string; referenced: number }>(
      `SELECT b.sha256, b.bytes, b.created_at,
         EXISTS (SELECT 1 FROM api_versions v WHERE v.bundle = b.sha256) AS referenced
       FROM bundles b ORDER BY b.created_at`,
    ).map((row) => ({
      sha256: row.sha256,
      bytes: row.bytes,
      createdAt: row.created_at,
      referenced: row.referenced === 1,
    }));
  }

  /** Forgets a bundle no version references (checked in the same statement); true if it did. */
  deleteUnreferencedBundle(sha256: string): boolean {
    const result = this.#db
      .prepare(
        `DELETE FROM bundles WHERE sha256 = ?
           AND NOT EXISTS (SELECT 1 FROM api_versions v WHERE v.bundle = ?)`,
      )
      .run(sha256, sha256);
    return Number(result.changes) > 0;
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
  putApiVersion(version: Omit<ApiVersionRecord, "liveAt">, kind: string, requested: number): void {
    this.#transaction(() => {
      this.#run(
        `INSERT INTO api_versions (id, api_name, spec_json, spec_hash, bundle, config_file, project_path, artifact_json, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        version.id,
        version.apiName,
        JSON.stringify(version.spec),
        version.specHash,
        version.bundle,
        version.configFile,
        version.projectPath,
        JSON.stringify(version.artifact),
        version.createdAt,
      );
      this.#run(
        `INSERT INTO apis (name, kind, current_version, requested, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, current_version = excluded.current_version,
           requested = excluded.requested, updated_at = excluded.updated_at, rollback_json = NULL`,
        version.apiName,
        kind,
        version.id,
        requested,
        version.createdAt,
        version.createdAt,
      );
    });
  }

  listTrafficSplitters(): TrafficSplitterRecord[] {
    return this.#all<SplitterRow>("SELECT * FROM traffic_splitters ORDER BY name").map(toSplitter);
  }

  getTrafficSplitter(name: string): TrafficSplitterRecord | undefined {
    const row = this.#get<SplitterRow>("SELECT * FROM traffic_splitters WHERE name = ?", name);
    return row === undefined ? undefined : toSplitter(row);
  }

  /** Records a splitter's spec; says whether that created, changed or left it as it was. */
  putTrafficSplitter(
    spec: TrafficSplitterSpec,
    at = new Date(),
  ): "created" | "updated" | "unchanged" {
    const json = JSON.stringify(spec);
    const existing = this.#get<SplitterRow>(
      "SELECT * FROM traffic_splitters WHERE name = ?",
      spec.name,
    );
    if (existing?.spec_json === json) return "unchanged";
    this.#run(
      `INSERT INTO traffic_splitters (name, spec_json, created_at, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET spec_json = excluded.spec_json, updated_at = excluded.updated_at`,
      spec.name,
      json,
      at.toISOString(),
      at.toISOString(),
    );
    return existing === undefined ? "created" : "updated";
  }

  deleteTrafficSplitter(name: string): boolean {
    const result = this.#db.prepare("DELETE FROM traffic_splitters WHERE name = ?").run(name);
    return Number(result.changes) > 0;
  }

  /** Removes an API with its versions and events. */
  deleteApi(name: string): boolean {
    let existed = false;
    this.#transaction(() => {
      existed = this.#get("SELECT 1 AS x FROM apis WHERE name = ?", name) !== undefined;
      this.#run("DELETE FROM apis WHERE name = ?", name);
      this.#run("DELETE FROM api_versions WHERE api_name = ?", name);
      this.#run("DELETE FROM events WHERE api_name = ?", name);
      // A new API of the same name must not accept the old one's keys.
      this.#run("DELETE FROM api_keys WHERE api_name = ?", name);
    });
    return existed;
  }

  addApiKey(apiName: string, key: Omit<ApiKeyRow, "lastUsedAt">): void {
    this.#run(
      `INSERT INTO api_keys (id, api_name, name, hash, created_at, expires_at, rate_per_second)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      key.id,
      apiName,
      key.name,
      key.hash,
      key.createdAt,
      key.expiresAt,
      key.ratePerSecond,
    );
  }

  /** The keys of an API, oldest first. */
  listApiKeys(apiName: string): ApiKeyRow[] {
    return this.#all<{
      id: string;
      name: string | null;
      hash: string;
      created_at: string;
      expires_at: string | null;
      rate_per_second: number | null;
      last_used_at: string | null;
    }>("SELECT * FROM api_keys WHERE api_name = ? ORDER BY created_at, id", apiName).map((r) => ({
      id: r.id,
      name: r.name,
      hash: r.hash,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      ratePerSecond: r.rate_per_second,
      lastUsedAt: r.last_used_at,
    }));
  }

  /** Revokes a key: false when the API has no key with that id. */
  deleteApiKey(apiName: string, id: string): boolean {
    const existed =
      this.#get("SELECT 1 AS x FROM api_keys WHERE api_name = ? AND id = ?", apiName, id) !==
      undefined;
    this.#run("DELETE FROM api_keys WHERE api_name = ? AND id = ?", apiName, id);
    return existed;
  }

  /** Records when keys were last used (only ever moves forward). */
  touchApiKeys(apiName: string, used: ReadonlyArray<{ id: string; lastUsedAt: string }>): void {
    for (const key of used) {
      this.#run(
        `UPDATE api_keys SET last_used_at = ?
         WHERE api_name = ? AND id = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
        key.lastUsedAt,
        apiName,
        key.id,
        key.lastUsedAt,
      );
    }
  }

  /** Records that `versionId` is fully rolled out (the version to fall back to later). */
  setLiveVersion(name: string, versionId: string, at: Date): void {
    this.#transaction(() => {
      this.#run(
        `UPDATE api_versions SET live_at = ? WHERE id = ?
           AND id = (SELECT current_version FROM apis WHERE name = ?)`,
        at.toISOString(),
        versionId,
        name,
      );
      this.#run(
        "UPDATE apis SET live_version = ?, live_at = ? WHERE name = ? AND current_version = ?",
        versionId,
        at.toISOString(),
        name,
        versionId,
      );
    });
  }

  /** Sets the replicas an API should run (the autoscaler's decision). */
  setRequested(name: string, requested: number): void {
    this.#run("UPDATE apis SET requested = ? WHERE name = ?", requested, name);
  }

  /**
   * Makes an existing version of the API current again (`axon rollback`, or an automatic roll
   * back with `rolledBack` saying why). The rollout clock (`updatedAt`) restarts.
   */
  setCurrentVersion(
    name: string,
    versionId: string,
    requested: number,
    at: Date,
    rolledBack: RollbackRecord | null = null,
  ): void {
    this.#run(
      `UPDATE apis SET current_version = ?, requested = ?, updated_at = ?, rollback_json = ?
         WHERE name = ? AND EXISTS (SELECT 1 FROM api_versions WHERE id = ? AND api_name = ?)`,
      versionId,
      requested,
      at.toISOString(),
      rolledBack === null ? null : JSON.stringify(rolledBack),
      name,
      versionId,
      name,
    );
  }

  addEvent(apiName: string, event: Omit<EventRecord, "time">, time = new Date()): void {
    this.#run(
      "INSERT INTO events (api_name, time, type, kind, message) VALUES (?, ?, ?, ?, ?)",
      apiName,
      time.toISOString(),
      event.type,
      event.kind ?? null,
      event.message,
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
    return this.#all<{
      time: string;
      type: EventLevel;
      kind: ControlPlaneEventKind | null;
      message: string;
    }>(
      "SELECT time, type, kind, message FROM events WHERE api_name = ? ORDER BY id DESC LIMIT ?",
      apiName,
      limit,
    )
      .reverse()
      .map((row) => ({
        time: row.time,
        type: row.type,
        ...(row.kind === null ? {} : { kind: row.kind }),
        message: row.message,
      }));
  }

  /** The AWS environments (`local` is implicit and never stored), by name. */
  listEnvironments(): EnvironmentRecord[] {
    return this.#all<EnvironmentRow>("SELECT * FROM environments ORDER BY name").map(toEnvironment);
  }

  getEnvironment(name: string): EnvironmentRecord | undefined {
    const row = this.#get<EnvironmentRow>("SELECT * FROM environments WHERE name = ?", name);
    return row === undefined ? undefined : toEnvironment(row);
  }

  /** Adds an environment, or updates it (keeping its creation time); returns it as stored. */
  putEnvironment(
    record: Omit<EnvironmentRecord, "createdAt" | "updatedAt">,
    at: Date,
  ): EnvironmentRecord {
    this.#run(
      `INSERT INTO environments (name, provider, region, stack_name, cluster_name, config_file, config_yaml, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET provider = excluded.provider, region = excluded.region,
         stack_name = excluded.stack_name, cluster_name = excluded.cluster_name,
         config_file = excluded.config_file, config_yaml = excluded.config_yaml, updated_at = excluded.updated_at`,
      record.name,
      record.provider,
      record.region,
      record.stackName,
      record.clusterName,
      record.configFile,
      record.configYaml,
      at.toISOString(),
      at.toISOString(),
    );
    const stored = this.#get<EnvironmentRow>(
      "SELECT * FROM environments WHERE name = ?",
      record.name,
    );
    if (stored === undefined) throw new Error(`environment ${record.name} was not stored`);
    return toEnvironment(stored);
  }

  /** Forgets an environment (and makes `local` the default if it was); true if it existed. */
  deleteEnvironment(name: string): boolean {
    let existed = false;
    this.#transaction(() => {
      existed = this.#get("SELECT 1 AS x FROM environments WHERE name = ?", name) !== undefined;
      this.#run("DELETE FROM environments WHERE name = ?", name);
      this.#run("DELETE FROM settings WHERE key = 'default_environment' AND value = ?", name);
    });
    return existed;
  }

  /** The environment commands target without `--env`; undefined means `local`. */
  getDefaultEnvironment(): string | undefined {
    return this.#get<{ value: string }>(
      "SELECT value FROM settings WHERE key = 'default_environment'",
    )?.value;
  }

  setDefaultEnvironment(name: string | undefined): void {
    if (name === undefined) this.#run("DELETE FROM settings WHERE key = 'default_environment'");
    else
      this.#run(
        `INSERT INTO settings (key, value) VALUES ('default_environment', ?)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
        name,
      );
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

interface SplitterRow {
  name: string;
  spec_json: string;
  created_at: string;
  updated_at: string;
}

/** A stored splitter, its spec read back through one typed check. */
function toSplitter(row: SplitterRow): TrafficSplitterRecord {
  const spec = JSON.parse(row.spec_json) as Partial<TrafficSplitterSpec>;
  if (
    typeof spec.endpoint !== "string" ||
    !Array.isArray(spec.apis) ||
    !spec.apis.every((api) => typeof api.name === "string" && typeof api.weight === "number")
  ) {
    throw new Error(`the stored traffic splitter ${row.name} is not readable`);
  }
  return {
    name: row.name,
    spec: { name: row.name, kind: "TrafficSplitter", endpoint: spec.endpoint, apis: spec.apis },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
