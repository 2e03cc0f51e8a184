/**
 * Prediction monitoring's durable part: one-minute buckets of predictions per API and version
 * (what `axon get <api>` sums over a range), and each API's pinned baseline. Same SQLite file as
 * the state store, its own connection and tables: buckets are written every few seconds by the
 * monitoring loop and must not contend with the desired state's transactions. Bounded: buckets
 * older than the retention are pruned, and those of deleted APIs go with them.
 */
import { DatabaseSync } from "node:sqlite";
import {
  emptyTally,
  mergeTally,
  type ModelType,
  type PredictionTally,
} from "../replica/prediction-recorder.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS prediction_buckets (
  api_name TEXT NOT NULL,
  version_id TEXT NOT NULL,
  minute TEXT NOT NULL,
  tally_json TEXT NOT NULL,
  PRIMARY KEY (api_name, version_id, minute)
);
CREATE INDEX IF NOT EXISTS prediction_buckets_by_minute ON prediction_buckets(minute);
CREATE TABLE IF NOT EXISTS prediction_baselines (
  api_name TEXT PRIMARY KEY,
  pinned_at TEXT NOT NULL,
  tally_json TEXT NOT NULL
);
`;

export interface PredictionBucket {
  versionId: string;
  /** ISO time of the minute's start. */
  minute: string;
  tally: PredictionTally;
}

/** The start of the minute `at` falls in, as stored. */
export function minuteOf(at: Date): string {
  return new Date(Math.floor(at.getTime() / 60_000) * 60_000).toISOString();
}

export class PredictionStore {
  readonly #db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  static open(file: string): PredictionStore {
    const db = new DatabaseSync(file);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
    db.exec(SCHEMA);
    return new PredictionStore(db);
  }

  close(): void {
    this.#db.close();
  }

  /** Adds `tally` to the API's bucket of `minute` for `versionId`. */
  add(apiName: string, versionId: string, minute: string, tally: PredictionTally): void {
    const row = this.#db
      .prepare(
        "SELECT tally_json FROM prediction_buckets WHERE api_name = ? AND version_id = ? AND minute = ?",
      )
      .get(apiName, versionId, minute) as { tally_json: string } | undefined;
    const merged =
      row === undefined ? tally : mergeTally(parseTally(row.tally_json, tally.modelType), tally);
    this.#db
      .prepare(
        `INSERT INTO prediction_buckets (api_name, version_id, minute, tally_json) VALUES (?, ?, ?, ?)
         ON CONFLICT(api_name, version_id, minute) DO UPDATE SET tally_json = excluded.tally_json`,
      )
      .run(apiName, versionId, minute, JSON.stringify(merged));
  }

  /** The API's buckets from `sinceMinute` on (ISO), oldest first. */
  list(apiName: string, sinceMinute: string): PredictionBucket[] {
    const rows = this.#db
      .prepare(
        `SELECT version_id, minute, tally_json FROM prediction_buckets
         WHERE api_name = ? AND minute >= ? ORDER BY minute, version_id`,
      )
      .all(apiName, sinceMinute) as Array<{
      version_id: string;
      minute: string;
      tally_json: string;
    }>;
    return rows.map((row) => ({
      versionId: row.version_id,
      minute: row.minute,
      tally: parseTally(row.tally_json, "classification"),
    }));
  }

  /** The first buckets of a version, oldest first, until they hold `count` predictions. */
  firstOf(apiName: string, versionId: string, count: number): PredictionBucket[] {
    const rows = this.#db
      .prepare(
        `SELECT minute, tally_json FROM prediction_buckets WHERE api_name = ? AND version_id = ?
         ORDER BY minute`,
      )
      .iterate(apiName, versionId) as Iterable<{ minute: string; tally_json: string }>;
    const result: PredictionBucket[] = [];
    let seen = 0;
    for (const row of rows) {
      const tally = parseTally(row.tally_json, "classification");
      result.push({ versionId, minute: row.minute, tally });
      seen += tally.count;
      if (seen >= count) break;
    }
    return result;
  }

  pinBaseline(apiName: string, tally: PredictionTally, at: Date): void {
    this.#db
      .prepare(
        `INSERT INTO prediction_baselines (api_name, pinned_at, tally_json) VALUES (?, ?, ?)
         ON CONFLICT(api_name) DO UPDATE SET pinned_at = excluded.pinned_at, tally_json = excluded.tally_json`,
      )
      .run(apiName, at.toISOString(), JSON.stringify(tally));
  }

  pinnedBaseline(apiName: string): { pinnedAt: string; tally: PredictionTally } | undefined {
    const row = this.#db
      .prepare("SELECT pinned_at, tally_json FROM prediction_baselines WHERE api_name = ?")
      .get(apiName) as { pinned_at: string; tally_json: string } | undefined;
    return row === undefined
      ? undefined
      : { pinnedAt: row.pinned_at, tally: parseTally(row.tally_json, "classification") };
  }

  /** Removes buckets older than `beforeMinute`, and everything of APIs not in `apiNames`. */
  prune(beforeMinute: string, apiNames: ReadonlySet<string>): number {
    let removed = Number(
      this.#db.prepare("DELETE FROM prediction_buckets WHERE minute < ?").run(beforeMinute).changes,
    );
    const stored = this.#db
      .prepare(
        "SELECT DISTINCT api_name FROM prediction_buckets UNION SELECT api_name FROM prediction_baselines",
      )
      .all() as Array<{ api_name: string }>;
    for (const { api_name: name } of stored) {
      if (apiNames.has(name)) continue;
      removed += Number(
        this.#db.prepare("DELETE FROM prediction_buckets WHERE api_name = ?").run(name).changes,
      );
      this.#db.prepare("DELETE FROM prediction_baselines WHERE api_name = ?").run(name);
    }
    return removed;
  }
}

/** A stored tally back as a PredictionTally (fields a tally never lacked, filled if absent). */
function parseTally(json: string, fallback: ModelType): PredictionTally {
  const value = JSON.parse(json) as Partial<PredictionTally>;
  return { ...emptyTally(value.modelType ?? fallback), ...value };
}
