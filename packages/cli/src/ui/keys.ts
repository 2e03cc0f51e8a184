/** `axon keys list`: an API's keys as a table (never a key, never a hash). */
import type { ApiDetail, ApiKeyList } from "@axon/control-plane/api";
import { formatAge, renderTable } from "../output.js";

export function renderKeyList(list: ApiKeyList, now: Date): string {
  const lines: string[] = [];
  if (!list.required) {
    lines.push(
      `${list.api} does not require keys: anyone who can reach it may call it (add networking: {auth: api_key} to its config and deploy)`,
      "",
    );
  }
  if (list.keys.length === 0) {
    lines.push(`${list.api} has no keys; make one with \`axon keys create ${list.api}\``);
    return lines.join("\n");
  }
  const hasCounts = list.keys.some((key) => key.requests !== undefined);
  const headers = ["id", "name", "created", "last used", "expires", "rate"];
  if (hasCounts) headers.push("requests");
  lines.push(
    renderTable(
      headers,
      list.keys.map((key) => {
        const row = [
          key.id,
          key.name ?? "-",
          `${formatAge(new Date(key.createdAt), now)} ago`,
          key.lastUsedAt === null ? "never" : `${formatAge(new Date(key.lastUsedAt), now)} ago`,
          expiry(key.expiresAt, now),
          key.ratePerSecond === null ? "-" : `${key.ratePerSecond}/s per replica`,
        ];
        if (hasCounts) row.push(String(key.requests ?? 0));
        return row;
      }),
    ),
  );
  if (list.unauthorized !== undefined) {
    lines.push("", `requests refused for a missing or unknown key: ${list.unauthorized}`);
  }
  return lines.join("\n");
}

function expiry(expiresAt: string | null, now: Date): string {
  if (expiresAt === null) return "never";
  const at = new Date(expiresAt);
  return at <= now ? `expired ${formatAge(at, now)} ago` : `in ${formatAge(now, at)}`;
}

/** `axon get <api>`'s keys section: the keys and their request counts, when the API requires keys. */
export function renderKeysSection(api: ApiDetail, now: Date): string | undefined {
  if (api.apiKeys === undefined) return undefined;
  return `api keys (networking.auth: api_key):\n${renderKeyList(api.apiKeys, now)}`;
}
