/**
 * URL paths of APIs (`networking.endpoint`). Canonical form: a leading `/`, no trailing `/`, so
 * `iris`, `/iris` and `/iris/` are the same endpoint and collide as one.
 */

const ENDPOINT_CHARACTERS = /^[a-zA-Z0-9_\-./]*$/;

/**
 * Returns the canonical form of an endpoint path (`iris/v1/` → `/iris/v1`).
 *
 * @throws Error with a user-facing message when the path has invalid characters, `//`, `.`/`..`
 *   segments, or is just `/`.
 */
export function canonicalizeEndpoint(endpoint: string): string {
  if (!ENDPOINT_CHARACTERS.test(endpoint)) {
    throw new Error(
      `must contain only letters, digits, _, -, . and / (got ${JSON.stringify(endpoint)})`,
    );
  }
  if (endpoint.includes("//")) {
    throw new Error(`must not contain // (got ${JSON.stringify(endpoint)})`);
  }
  const trimmed = endpoint.replace(/^\//, "").replace(/\/$/, "");
  if (trimmed === "") {
    throw new Error(
      `a path must be specified: ${JSON.stringify(endpoint)} would cover every API (e.g. /iris-classifier)`,
    );
  }
  if (trimmed.split("/").some((segment) => segment === "." || segment === "..")) {
    throw new Error(`must not contain . or .. path segments (got ${JSON.stringify(endpoint)})`);
  }
  return `/${trimmed}`;
}
