/**
 * API keys, checked in the replica front (`networking.auth: api_key`, issue 29). One
 * implementation for every engine: the local gateway and the ECS container both hold an
 * `ApiKeyGuard` per API and feed it from a `RefreshingKeySource` — the state database locally,
 * the cluster's bucket on ECS — re-read every 30 s, so a revoke takes effect within 30 s.
 *
 * A key is `axon_<id>_<secret>`: the id (12 hex digits, not secret) names the key in logs, metrics
 * and `axon keys list`; the secret is 32 random bytes. Only sha256 of the whole key is stored.
 * Why not a slow hash (scrypt, argon2): those protect low-entropy passwords from guessing after a
 * leak of the hashes; a 256-bit random secret cannot be guessed whatever the hash, and a slow hash
 * would cost every request milliseconds of CPU. The presented key's hash is compared with the
 * stored one with `timingSafeEqual`; the lookup before it is by the id, which is not secret.
 *
 * The hot path: an API without auth never reaches this file. With auth, a request costs a header
 * lookup, one sha256 of ~60 bytes, a 32-byte constant-time compare and a few counter updates.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { type Responder, writeJsonError } from "./front-server.js";
import { rawHeader } from "./raw-header.js";

/** A key as stored: what the front needs to admit it, never the key itself. */
export interface ApiKeyRecord {
  /** 12 hex digits, also the key's second part: safe to show and log. */
  id: string;
  name: string | null;
  /** sha256 of the whole key, hex. */
  hash: string;
  createdAt: string;
  /** ISO time after which the key is refused; null: never. */
  expiresAt: string | null;
  /** Requests per second the key may make on one front (token bucket); null: unlimited. */
  ratePerSecond: number | null;
}

/** What one front saw of a key since it started. */
export interface ApiKeyUsage {
  id: string;
  /** Requests admitted with the key. */
  requests: number;
  /** Requests with the key refused for its rate limit (429) or its expiry (401). */
  refused: number;
  /** Epoch ms of the last admitted request; null: none. */
  lastUsedAt: number | null;
}

/** A freshly made key: `key` is shown once and never stored. */
export interface NewApiKey {
  id: string;
  key: string;
  hash: string;
}

export const API_KEY_PREFIX = "axon_";
const ID_HEX_DIGITS = 12;
const SECRET_BYTES = 32;
/** The prefix, the id and the `_` after it. */
const SECRET_AT = API_KEY_PREFIX.length + ID_HEX_DIGITS + 1;
const ID_PATTERN = /^[0-9a-f]{12}$/;
/** How the 401 tells a client what to send. */
const HOW_TO_SEND = "send it as `Authorization: Bearer <key>` or `X-Api-Key: <key>`";
/** At most one line about refused requests per this long (a flood of bad keys must not fill the log). */
const LOG_EVERY_MS = 1_000;
/** An unknown key id asks the source for a re-read at most this often (a key made a moment ago). */
const UNKNOWN_KEY_REFRESH_MS = 5_000;
export const KEY_REFRESH_MS = 30_000;

/** Makes a new key from 32 random bytes (256 bits) and a random 48-bit id. */
export function createApiKey(): NewApiKey {
  const id = randomBytes(ID_HEX_DIGITS / 2).toString("hex");
  const key = `${API_KEY_PREFIX}${id}_${randomBytes(SECRET_BYTES).toString("base64url")}`;
  return { id, key, hash: hashApiKey(key) };
}

/** sha256 of the key, hex: what is stored and compared. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** The id part of a key, or undefined when it is not shaped like an Axon key. */
export function apiKeyId(key: string): string | undefined {
  if (key.length <= SECRET_AT || !key.startsWith(API_KEY_PREFIX) || key[SECRET_AT - 1] !== "_") {
    return undefined;
  }
  const id = key.slice(API_KEY_PREFIX.length, SECRET_AT - 1);
  return ID_PATTERN.test(id) ? id : undefined;
}

/** The key a request carries: `Authorization: Bearer <key>`, else `X-Api-Key: <key>`. */
export function presentedApiKey(rawHeaders: readonly string[]): string | undefined {
  const authorization = rawHeader(rawHeaders, "authorization");
  // The scheme is case-insensitive (RFC 9110 §11.1).
  if (authorization !== undefined && /^bearer /i.test(authorization)) {
    return authorization.slice(7).trim();
  }
  const header = rawHeader(rawHeaders, "x-api-key");
  return header === undefined ? undefined : header.trim();
}

interface KeyEntry {
  readonly id: string;
  hash: Buffer;
  expiresAtMs: number;
  ratePerSecond: number;
  tokens: number;
  refilledAtMs: number;
  requests: number;
  refused: number;
  lastUsedAt: number | null;
}

export interface ApiKeyGuardOptions {
  apiName: string;
  /** A line for the API's log (refused requests, with the key id, never the key). */
  log?: (line: string) => void;
  /** A key id the guard does not know was presented: the source may re-read soon. */
  onUnknownKey?: () => void;
  now?: () => number;
}

/** The keys of one API on one front, and the decision for each request. */
export class ApiKeyGuard {
  readonly apiName: string;
  readonly #entries = new Map<string, KeyEntry>();
  readonly #log: ((line: string) => void) | undefined;
  readonly #onUnknownKey: (() => void) | undefined;
  readonly #now: () => number;
  #unknownKeyAskedAt = -Infinity;
  /** Requests refused for a missing or unknown key since the front started. */
  #unauthorized = 0;
  #loggedAt = -Infinity;
  #unlogged = 0;
  #lastRefusal = "";

  constructor(options: ApiKeyGuardOptions) {
    this.apiName = options.apiName;
    this.#log = options.log;
    this.#onUnknownKey = options.onUnknownKey;
    this.#now = options.now ?? Date.now;
  }

  /** Requests refused for a missing or unknown key. */
  get unauthorized(): number {
    return this.#unauthorized;
  }

  /** How many keys the guard admits now (expired ones included until their next check). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Takes the API's key set as the source read it: keys not in it are refused from now on; a
   * key that stays keeps its counters and its bucket.
   */
  replace(records: readonly ApiKeyRecord[]): void {
    const seen = new Set<string>();
    for (const record of records) {
      seen.add(record.id);
      const expiresAtMs =
        record.expiresAt === null ? Infinity : Date.parse(record.expiresAt) || -Infinity;
      const ratePerSecond = record.ratePerSecond ?? Infinity;
      const hash = Buffer.from(record.hash, "hex");
      const entry = this.#entries.get(record.id);
      if (entry === undefined) {
        this.#entries.set(record.id, {
          id: record.id,
          hash,
          expiresAtMs,
          ratePerSecond,
          tokens: bucketSize(ratePerSecond),
          refilledAtMs: this.#now(),
          requests: 0,
          refused: 0,
          lastUsedAt: null,
        });
      } else {
        entry.hash = hash;
        entry.expiresAtMs = expiresAtMs;
        entry.ratePerSecond = ratePerSecond;
        entry.tokens = Math.min(entry.tokens, bucketSize(ratePerSecond));
      }
    }
    for (const id of this.#entries.keys()) if (!seen.has(id)) this.#entries.delete(id);
  }

  /**
   * The id of the key `rawHeaders` carry when it may make this request now; otherwise answers
   * (401 without a valid key, 429 over its rate) and returns undefined.
   */
  admit(
    rawHeaders: readonly string[],
    responder: Responder,
    requestId: string,
  ): string | undefined {
    const key = presentedApiKey(rawHeaders);
    if (key === undefined || key === "") {
      this.#unauthorized++;
      this.#refuse(
        responder,
        requestId,
        401,
        `${this.apiName} requires an API key: ${HOW_TO_SEND}`,
      );
      return undefined;
    }
    const id = apiKeyId(key);
    const entry = id === undefined ? undefined : this.#entries.get(id);
    if (entry === undefined || entry.hash.length !== 32) {
      this.#unauthorized++;
      if (id !== undefined) this.#askForUnknownKey();
      const named = id === undefined ? "" : ` (key ${id})`;
      this.#refuse(
        responder,
        requestId,
        401,
        `the API key${named} is not a key of ${this.apiName}: it was revoked, or mistyped; ${HOW_TO_SEND}`,
      );
      return undefined;
    }
    const presented = createHash("sha256").update(key).digest();
    if (!timingSafeEqual(presented, entry.hash)) {
      this.#unauthorized++;
      this.#refuse(
        responder,
        requestId,
        401,
        `the API key (key ${entry.id}) is not a key of ${this.apiName}: it was mistyped; ${HOW_TO_SEND}`,
      );
      return undefined;
    }
    const now = this.#now();
    if (now >= entry.expiresAtMs) {
      entry.refused++;
      this.#refuse(
        responder,
        requestId,
        401,
        `the API key ${entry.id} of ${this.apiName} expired at ${new Date(entry.expiresAtMs).toISOString()}; make a new one with \`axon keys create ${this.apiName}\``,
      );
      return undefined;
    }
    if (entry.ratePerSecond !== Infinity && !this.#take(entry, now)) {
      entry.refused++;
      const waitS = Math.max(1, Math.ceil((1 - entry.tokens) / entry.ratePerSecond));
      this.#refuse(
        responder,
        requestId,
        429,
        `the API key ${entry.id} is over its limit of ${entry.ratePerSecond} requests/s on this replica; retry after ${waitS}s`,
        ["retry-after", String(waitS)],
      );
      return undefined;
    }
    entry.requests++;
    entry.lastUsedAt = now;
    return entry.id;
  }

  /** Every key's counters on this front. */
  usage(): ApiKeyUsage[] {
    return [...this.#entries.values()].map((e) => ({
      id: e.id,
      requests: e.requests,
      refused: e.refused,
      lastUsedAt: e.lastUsedAt,
    }));
  }

  /**
   * Token bucket: `ratePerSecond` tokens a second, holding one second's worth — at least one
   * token, so a rate under 1/s (`600/h`) still lets a request through now and then.
   */
  #take(entry: KeyEntry, now: number): boolean {
    const elapsedS = Math.max(0, now - entry.refilledAtMs) / 1000;
    entry.tokens = Math.min(
      bucketSize(entry.ratePerSecond),
      entry.tokens + elapsedS * entry.ratePerSecond,
    );
    entry.refilledAtMs = now;
    if (entry.tokens < 1) return false;
    entry.tokens -= 1;
    return true;
  }

  #askForUnknownKey(): void {
    const now = this.#now();
    if (
      this.#onUnknownKey === undefined ||
      now - this.#unknownKeyAskedAt < UNKNOWN_KEY_REFRESH_MS
    ) {
      return;
    }
    this.#unknownKeyAskedAt = now;
    this.#onUnknownKey();
  }

  #refuse(
    responder: Responder,
    requestId: string,
    status: number,
    message: string,
    extraHeaders: readonly string[] = [],
  ): void {
    const headers =
      status === 401
        ? [...extraHeaders, "www-authenticate", `Bearer realm="${this.apiName}"`]
        : extraHeaders;
    writeJsonError(responder, status, requestId, message, headers);
    this.#logRefusal(`request ${requestId} refused (${status}): ${message}`);
  }

  /** One line a second at most; the lines held back in between are counted in the next one. */
  #logRefusal(line: string): void {
    if (this.#log === undefined) return;
    const now = this.#now();
    if (now - this.#loggedAt < LOG_EVERY_MS) {
      this.#unlogged++;
      this.#lastRefusal = line;
      return;
    }
    const held =
      this.#unlogged === 0
        ? ""
        : ` (and ${this.#unlogged} more refused since the last line, the last: ${this.#lastRefusal})`;
    this.#loggedAt = now;
    this.#unlogged = 0;
    this.#log(line + held);
  }
}

/** The most tokens a key's bucket holds: one second's worth, at least one. */
function bucketSize(ratePerSecond: number): number {
  return Math.max(1, ratePerSecond);
}

export interface KeySourceOptions {
  guard: ApiKeyGuard;
  /** Reads the API's current key set (the state database, the cluster's bucket). */
  load: () => Promise<readonly ApiKeyRecord[]>;
  /** Default 30 s: the longest a revoke may take to reach this front. */
  intervalMs?: number;
  /** A read failed: the guard keeps the last set it had (told so it can be logged). */
  onError?: (error: unknown) => void;
}

/**
 * Feeds a guard: reads the key set at start and every `intervalMs`, and at once when asked
 * (a key was made or revoked locally, or a request carried an id the guard does not know). Reads
 * never overlap; one asked for during a read runs after it.
 */
export class RefreshingKeySource {
  readonly #options: KeySourceOptions;
  #timer: NodeJS.Timeout | undefined;
  #reading: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(options: KeySourceOptions) {
    this.#options = options;
  }

  /** Reads the set once, then keeps re-reading it until `stop`. */
  async start(): Promise<void> {
    await this.refresh();
    if (this.#stopped) return;
    this.#timer = setInterval(
      () => void this.refresh(),
      this.#options.intervalMs ?? KEY_REFRESH_MS,
    );
    this.#timer.unref();
  }

  /** Re-reads the set now; resolves once a read that started after this call has ended. */
  refresh(): Promise<void> {
    if (this.#reading !== undefined) {
      this.#again = true;
      return this.#reading.then(() => this.#reading ?? undefined);
    }
    this.#reading = this.#read().finally(() => {
      this.#reading = undefined;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        void this.refresh();
      }
    });
    return this.#reading;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #read(): Promise<void> {
    try {
      const records = await this.#options.load();
      if (!this.#stopped) this.#options.guard.replace(records);
    } catch (error) {
      this.#options.onError?.(error);
    }
  }
}
