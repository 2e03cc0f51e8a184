/**
 * API keys as both engines make them: reading `--expires` and `--rate`, making a key and its
 * stored record, and the shapes `axon keys` gets back. Where the records live is the engine's
 * business (the state database locally, the cluster's bucket on ECS).
 */
import { parseDuration } from "@axon/config";
import type { ApiKeyInfo, CreateApiKeyRequest } from "../contract/index.js";
import { DomainError, REQUEST_INVALID } from "../errors.js";
import { type ApiKeyRecord, createApiKey } from "../replica/api-keys.js";

/** No key of that id on that API (404). */
export const API_KEY_NOT_FOUND = "api_key.not_found";

const DAYS = /^(\d{1,5})d$/;
const RATE = /^(\d{1,9}(?:\.\d{1,6})?)\/(s|m|h)$/;
const PER_UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };
/** Longer than anyone should keep a key; also keeps the expiry a valid date. */
const MAX_EXPIRY_MS = 10 * 365 * 86_400_000;
const MAX_NAME_CHARS = 100;

/** `90d`, `12h`, `30m` (Go durations, plus days) → milliseconds. */
export function parseKeyExpiry(text: string): number {
  const days = DAYS.exec(text);
  let ms: number;
  try {
    ms = days === null ? parseDuration(text) : Number(days[1]) * 86_400_000;
  } catch {
    ms = Number.NaN;
  }
  if (!(ms > 0) || ms > MAX_EXPIRY_MS) {
    throw new DomainError(REQUEST_INVALID, `--expires ${text} is not a duration a key can live`, {
      hint: "give days or hours from now, e.g. --expires 90d or --expires 12h (at most 3650d)",
    });
  }
  return ms;
}

/** `50/s`, `600/m`, `1000/h` → requests per second. */
export function parseKeyRate(text: string): number {
  const match = RATE.exec(text);
  const perSecond = match === null ? 0 : Number(match[1]) / (PER_UNIT_SECONDS[match[2] ?? ""] ?? 1);
  if (!(perSecond > 0)) {
    throw new DomainError(REQUEST_INVALID, `--rate ${text} is not a request rate`, {
      hint: "give requests per second, minute or hour, e.g. --rate 50/s or --rate 600/m",
    });
  }
  return perSecond;
}

/** Makes a key from `axon keys create`'s request: the key (shown once) and what is stored. */
export function makeApiKey(
  request: CreateApiKeyRequest,
  now: Date,
): { key: string; record: ApiKeyRecord } {
  const name = request.name?.trim();
  if (name !== undefined && (name.length > MAX_NAME_CHARS || /[\r\n]/.test(name))) {
    throw new DomainError(
      REQUEST_INVALID,
      `--name must be one line of at most ${MAX_NAME_CHARS} characters`,
      { hint: "name the key after who or what uses it, e.g. --name ci" },
    );
  }
  const expiresInMs = request.expires === undefined ? undefined : parseKeyExpiry(request.expires);
  const ratePerSecond = request.rate === undefined ? null : parseKeyRate(request.rate);
  const made = createApiKey();
  return {
    key: made.key,
    record: {
      id: made.id,
      name: name === undefined || name === "" ? null : name,
      hash: made.hash,
      createdAt: now.toISOString(),
      expiresAt:
        expiresInMs === undefined ? null : new Date(now.getTime() + expiresInMs).toISOString(),
      ratePerSecond,
    },
  };
}

/** A stored key as listed: never its hash. */
export function keyInfo(record: ApiKeyRecord, lastUsedAt: string | null = null): ApiKeyInfo {
  return {
    id: record.id,
    name: record.name,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    lastUsedAt,
    ratePerSecond: record.ratePerSecond,
  };
}

/** The 404 for a key id the API does not have. */
export function apiKeyNotFound(api: string, id: string): DomainError {
  return new DomainError(API_KEY_NOT_FOUND, `api ${api} has no key ${id}`, {
    status: 404,
    hint: `list its keys with \`axon keys list ${api}\``,
  });
}

/** Said when a key is made for an API that does not require keys yet. */
export function notRequiredWarning(api: string): string {
  return `${api} does not require keys yet: add \`networking: {auth: api_key}\` to its config and deploy, or anyone who can reach it may call it`;
}

/** What `/metrics` reads about keys: each API's usage at the fronts. */
export interface KeyMetricsSource {
  apiNames(): string[];
  usage(apiName: string):
    | {
        keys: ReadonlyArray<{ id: string; requests: number; refused: number }>;
        unauthorized: number;
      }
    | undefined;
}

/**
 * Per-key request counts in Prometheus text format (by key id, never the key), for the APIs that
 * require keys; empty when none does.
 */
export function renderKeyMetrics(source: KeyMetricsSource): string {
  const requests: string[] = [];
  const refused: string[] = [];
  const unauthorized: string[] = [];
  for (const api of source.apiNames()) {
    const usage = source.usage(api);
    if (usage === undefined) continue;
    for (const key of usage.keys) {
      requests.push(`axon_api_key_requests_total{api="${api}",key_id="${key.id}"} ${key.requests}`);
      refused.push(`axon_api_key_refused_total{api="${api}",key_id="${key.id}"} ${key.refused}`);
    }
    unauthorized.push(`axon_api_unauthorized_requests_total{api="${api}"} ${usage.unauthorized}`);
  }
  if (unauthorized.length === 0) return "";
  return [
    "# HELP axon_api_key_requests_total Requests admitted with an API key, by key id.",
    "# TYPE axon_api_key_requests_total counter",
    ...requests,
    "# HELP axon_api_key_refused_total Requests with an API key refused for its rate limit (429) or expiry (401).",
    "# TYPE axon_api_key_refused_total counter",
    ...refused,
    "# HELP axon_api_unauthorized_requests_total Requests refused for a missing or unknown API key (401).",
    "# TYPE axon_api_unauthorized_requests_total counter",
    ...unauthorized,
    "",
  ].join("\n");
}
