/**
 * API keys of an API on ECS (issue 29): one JSON object per API in the cluster's bucket,
 * `api-keys/<api>.json`, holding each key's id, name, dates, rate and sha256 — never a key. As
 * everything else about an AWS API it lives in the account (a new `$AXON_HOME` sees it). The CLI
 * side (`axon keys … --env <aws env>`) reads, changes and writes it with the caller's credentials;
 * each replica's front reads it every 30 s with the task role, which may read this prefix only
 * (cluster-template.ts), so a revoke reaches every task within 30 s.
 *
 * Writes are read-modify-write of one small object: two `keys create` racing on the same API can
 * lose one key (the one whose command printed first still printed its key: make it again). S3 has
 * strong read-after-write consistency, so a front's next read sees a write
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel).
 */
import type {
  ApiKeyCreated,
  ApiKeyList,
  ApiKeyRevoked,
  CreateApiKeyRequest,
} from "../../contract/index.js";
import { DomainError } from "../../errors.js";
import { type ApiKeyRecord, KEY_REFRESH_MS } from "../../replica/api-keys.js";
import { apiKeyNotFound, keyInfo, makeApiKey, notRequiredWarning } from "../../keys/api-keys.js";
import type { EcsApiDeps } from "./api-names.js";
import { readRevisionSpec, requireAwsApiService } from "./api-versions.js";
import { callAws } from "./cluster-stack.js";
import { API_KEYS_PREFIX } from "./cluster-template.js";
import type { S3Port } from "./sdk.js";

export { API_KEYS_PREFIX };

/** The object that holds an API's keys is not one Axon wrote (502). */
export const API_KEYS_UNREADABLE = "api_key.unreadable";

/** The object key of an API's key set. */
export function apiKeysObjectKey(api: string): string {
  return `${API_KEYS_PREFIX}${api}.json`;
}

interface StoredKeySet {
  api: string;
  keys: ApiKeyRecord[];
}

/**
 * An API's keys; [] when it has none yet. Without `s3:ListBucket` (the task role has none) a
 * missing object answers 403 AccessDenied, not 404 NoSuchKey
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions"): a caller
 * that may not list passes `missingAsDenied` to read that as "no keys yet".
 */
export async function readApiKeys(
  s3: Pick<S3Port, "getObjectBytes">,
  bucket: string,
  api: string,
  options: { missingAsDenied?: boolean } = {},
): Promise<ApiKeyRecord[]> {
  let bytes: Uint8Array;
  try {
    bytes = await s3.getObjectBytes({ Bucket: bucket, Key: apiKeysObjectKey(api) });
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === "NoSuchKey" || name === "NotFound") return [];
    if (options.missingAsDenied === true && name === "AccessDenied") return [];
    throw error;
  }
  const set = parseKeySet(new TextDecoder().decode(bytes));
  if (set === undefined || set.api !== api) {
    throw new DomainError(
      API_KEYS_UNREADABLE,
      `s3://${bucket}/${apiKeysObjectKey(api)} is not a key set Axon wrote for ${api}`,
      {
        status: 502,
        hint: `delete the object and make the API's keys again with axon keys create ${api}`,
      },
    );
  }
  return set.keys;
}

/** Writes an API's whole key set. */
export async function writeApiKeys(
  s3: Pick<S3Port, "putObject">,
  bucket: string,
  api: string,
  keys: readonly ApiKeyRecord[],
): Promise<void> {
  const set: StoredKeySet = { api, keys: [...keys] };
  await s3.putObject({
    Bucket: bucket,
    Key: apiKeysObjectKey(api),
    Body: JSON.stringify(set),
    ContentType: "application/json",
  });
}

/** A stored key set read back; undefined for anything this module did not write. */
export function parseKeySet(json: string): StoredKeySet | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { api, keys } = value as Record<string, unknown>;
  if (typeof api !== "string" || !Array.isArray(keys)) return undefined;
  const records: ApiKeyRecord[] = [];
  for (const key of keys as unknown[]) {
    if (typeof key !== "object" || key === null) return undefined;
    const k = key as Record<string, unknown>;
    if (
      typeof k["id"] !== "string" ||
      typeof k["hash"] !== "string" ||
      !/^[0-9a-f]{64}$/.test(k["hash"]) ||
      typeof k["createdAt"] !== "string" ||
      !(k["name"] === null || typeof k["name"] === "string") ||
      !(k["expiresAt"] === null || typeof k["expiresAt"] === "string") ||
      !(k["ratePerSecond"] === null || typeof k["ratePerSecond"] === "number")
    ) {
      return undefined;
    }
    records.push({
      id: k["id"],
      name: k["name"],
      hash: k["hash"],
      createdAt: k["createdAt"],
      expiresAt: k["expiresAt"],
      ratePerSecond: k["ratePerSecond"],
    });
  }
  return { api, keys: records };
}

/** Whether the API's current revision requires keys; throws `api.not_found` when it is not deployed. */
async function requiresKeysOnEcs(ecs: EcsApiDeps, api: string): Promise<boolean> {
  const service = await requireAwsApiService(ecs, api);
  const spec = await readRevisionSpec(ecs, service.taskDefinition ?? "");
  return spec?.networking.auth === "api_key";
}

function readKeys(ecs: EcsApiDeps, api: string): Promise<ApiKeyRecord[]> {
  return callAws(ecs, "s3:GetObject", () => readApiKeys(ecs.ports.s3, ecs.refs.bucketName, api));
}

function writeKeys(ecs: EcsApiDeps, api: string, keys: readonly ApiKeyRecord[]): Promise<void> {
  return callAws(ecs, "s3:PutObject", () =>
    writeApiKeys(ecs.ports.s3, ecs.refs.bucketName, api, keys),
  );
}

/** `axon keys create <api> --env <aws env>`: adds a key to the API's set in the bucket. */
export async function createAwsApiKey(
  ecs: EcsApiDeps,
  api: string,
  request: CreateApiKeyRequest,
  now: Date,
): Promise<ApiKeyCreated> {
  const required = await requiresKeysOnEcs(ecs, api);
  const { key, record } = makeApiKey(request, now);
  await writeKeys(ecs, api, [...(await readKeys(ecs, api)), record]);
  return {
    message: `created key ${record.id} for ${api}; it is shown only now, keep it somewhere safe (every replica accepts it within ${KEY_REFRESH_MS / 1000}s)`,
    key,
    info: keyInfo(record),
    ...(required ? {} : { warning: notRequiredWarning(api) }),
  };
}

/** `axon keys list <api> --env <aws env>`: the set in the bucket (ECS replicas report no usage). */
export async function listAwsApiKeys(ecs: EcsApiDeps, api: string): Promise<ApiKeyList> {
  const required = await requiresKeysOnEcs(ecs, api);
  return { api, required, keys: (await readKeys(ecs, api)).map((record) => keyInfo(record)) };
}

/** `axon keys revoke <api> <id> --env <aws env>`: every replica refuses it within 30 s. */
export async function revokeAwsApiKey(
  ecs: EcsApiDeps,
  api: string,
  id: string,
): Promise<ApiKeyRevoked> {
  await requireAwsApiService(ecs, api);
  const keys = await readKeys(ecs, api);
  const kept = keys.filter((key) => key.id !== id);
  if (kept.length === keys.length) throw apiKeyNotFound(api, id);
  await writeKeys(ecs, api, kept);
  return {
    message: `revoked key ${id} of ${api}; every replica refuses it within ${KEY_REFRESH_MS / 1000}s`,
    id,
  };
}
