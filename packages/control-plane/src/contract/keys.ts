/**
 * API keys (`networking.auth: api_key`, issue 29): what `axon keys create|list|revoke` send and
 * get back. The key itself appears only in `ApiKeyCreated`, once; every other shape names a key
 * by its id.
 *
 *   POST   /v1/apis/:name/keys           ← CreateApiKeyRequest → ApiKeyCreated
 *   GET    /v1/apis/:name/keys           → ApiKeyList
 *   DELETE /v1/apis/:name/keys/:id       → ApiKeyRevoked
 */

export interface CreateApiKeyRequest {
  /** A label for people (`ci`, `alice`); not unique, not secret. */
  name?: string;
  /** The key is refused this long after it was made (`90d`, `12h`); absent: never expires. */
  expires?: string;
  /** Requests per second the key may make on each replica (`50/s`, `600/m`); absent: unlimited. */
  rate?: string;
}

/** One key, as listed: never the key, never its hash. */
export interface ApiKeyInfo {
  id: string;
  name: string | null;
  createdAt: string;
  /** Null: never expires. */
  expiresAt: string | null;
  /**
   * The last request admitted with it, null: none seen (on ECS as the tasks last reported it, at
   * most a minute behind).
   */
  lastUsedAt: string | null;
  /** Requests per second per replica; null: unlimited. */
  ratePerSecond: number | null;
  /**
   * Requests admitted with the key, when the API requires keys: locally since the gateway started;
   * on ECS summed over every task the API ran (each as of its last report).
   */
  requests?: number;
  /** Requests with the key refused for its rate or its expiry, since the fronts started. */
  refused?: number;
}

export interface ApiKeyCreated {
  message: string;
  /** Shown once: only its hash is stored. */
  key: string;
  info: ApiKeyInfo;
  /** Set when the API does not require keys yet (its config has no `networking.auth: api_key`). */
  warning?: string;
}

export interface ApiKeyList {
  api: string;
  /** Whether the API's current config requires keys. */
  required: boolean;
  keys: ApiKeyInfo[];
  /** Requests refused for a missing or unknown key since the fronts started, when they report it. */
  unauthorized?: number;
}

export interface ApiKeyRevoked {
  message: string;
  id: string;
}
