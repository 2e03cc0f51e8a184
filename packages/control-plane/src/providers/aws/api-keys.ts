/**
 * API keys of an API on ECS (issue 29): one JSON object per API in the cluster's bucket,
 * `api-keys/<api>.json`, holding each key's id, name, dates, rate and sha256 — never a key. As
 * everything else about an AWS API it lives in the account (a new `$AXON_HOME` sees it). The CLI
 * side (`axon keys … --env <aws env>`) reads, changes and writes it with the caller's credentials;
 * each replica's front reads it every 30 s with the task role, which may read this prefix only
 * (cluster-template.ts), so a revoke reaches every task within 30 s.
 *
 * Changes are read-modify-write of one small object, made safe with S3 conditional writes
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html): the set is
 * put back with `If-Match: <the ETag read>`, or `If-None-Match: *` when there was none, so a
 * write made in between (another `keys create`/`revoke`) fails the put with 412
 * PreconditionFailed instead of being overwritten; S3 answers 409 ConditionalRequestConflict to
 * a put racing another conditional one, and 404 NoSuchKey to `If-Match` on an object deleted
 * since the read (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html). Each of
 * those re-reads and tries again, after a jittered backoff, at most CHANGE_ATTEMPTS times: twenty
 * concurrent creates make twenty keys. `If-Match` needs s3:GetObject as well as s3:PutObject,
 * which the caller has (it read the set). S3 has strong read-after-write consistency, so a
 * front's next read sees a write
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
import { setTimeout as sleep } from "node:timers/promises";

export { API_KEYS_PREFIX };

/** The object that holds an API's keys is not one Axon wrote (502). */
export const API_KEYS_UNREADABLE = "api_key.unreadable";

/** A change to an API's keys lost the race to other changes CHANGE_ATTEMPTS times (409). */
export const API_KEYS_CONFLICT = "api_key.conflict";

/** How many times a change reads, changes and puts back before it gives up (see the header). */
export const CHANGE_ATTEMPTS = 10;
/** The first retry waits up to this long (full jitter), doubling per attempt up to the cap. */
const RETRY_BASE_MS = 25;
const RETRY_CAP_MS = 1_000;

/**
 * What one ECS task writes about its keys (entrypoint/key-usage-reporter.ts): its front's
 * counters since the task started, at `api-keys/<api>/usage/<task-id>.json`.
 */
export interface KeyUsageReport {
  api: string;
  taskId: string;
  startedAt: string;
  reportedAt: string;
  /** Requests refused for a missing or unknown key. */
  unauthorized: number;
  keys: Array<{ id: string; requests: number; refused: number; lastUsedAt: string | null }>;
}

/** Where a task's key counters go (readable and writable by the task role, nothing else there). */
export function keyUsageObjectKey(api: string, taskId: string): string {
  return `${keyUsagePrefix(api)}${taskId}.json`;
}

function keyUsagePrefix(api: string): string {
  return `${API_KEYS_PREFIX}${api}/usage/`;
}

/** GetObjects of usage reports in flight at once while `keys list` sums them. */
const USAGE_READS_AT_ONCE = 8;

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
  return keySetFrom(bytes, bucket, api);
}

/** The keys in a stored set's bytes; a DomainError when Axon did not write them for `api`. */
function keySetFrom(bytes: Uint8Array, bucket: string, api: string): ApiKeyRecord[] {
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

/**
 * Changes an API's key set safely against concurrent changes (see the header): `change` gets the
 * keys as read and returns the set to store (it may throw, e.g. an unknown id, and is run again
 * on every attempt). Resolves with the stored set.
 */
export async function changeApiKeys(
  s3: Pick<S3Port, "getObjectWithEtag" | "putObject">,
  bucket: string,
  api: string,
  change: (keys: readonly ApiKeyRecord[]) => ApiKeyRecord[],
  options: { sleep?: (ms: number) => Promise<void>; random?: () => number } = {},
): Promise<ApiKeyRecord[]> {
  const wait = options.sleep ?? ((ms: number) => sleep(ms));
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    const read = await readKeySetWithEtag(s3, bucket, api);
    const keys = change(read.keys);
    const set: StoredKeySet = { api, keys };
    try {
      await s3.putObject({
        Bucket: bucket,
        Key: apiKeysObjectKey(api),
        Body: JSON.stringify(set),
        ContentType: "application/json",
        ...(read.etag === undefined ? { IfNoneMatch: "*" } : { IfMatch: read.etag }),
      });
      return keys;
    } catch (error) {
      if (!lostTheRace(error)) throw error;
      if (attempt >= CHANGE_ATTEMPTS) {
        throw new DomainError(
          API_KEYS_CONFLICT,
          `the keys of ${api} changed under this command ${CHANGE_ATTEMPTS} times in a row (s3://${bucket}/${apiKeysObjectKey(api)}); nothing was changed by it`,
          { status: 409, hint: "run it again once the other `axon keys` commands are done" },
        );
      }
      // Full jitter: racing writers spread out instead of colliding again in step.
      await wait(Math.floor(random() * Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt)));
    }
  }
}

/**
 * Whether a conditional put failed because the set changed since it was read: 412 (another write
 * came first), 409 (one is in progress) or 404 (If-Match on a set deleted since).
 */
function lostTheRace(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  return (
    name === "PreconditionFailed" || name === "ConditionalRequestConflict" || name === "NoSuchKey"
  );
}

async function readKeySetWithEtag(
  s3: Pick<S3Port, "getObjectWithEtag">,
  bucket: string,
  api: string,
): Promise<{ keys: ApiKeyRecord[]; etag: string | undefined }> {
  let read: { bytes: Uint8Array; etag?: string };
  try {
    read = await s3.getObjectWithEtag({ Bucket: bucket, Key: apiKeysObjectKey(api) });
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === "NoSuchKey" || name === "NotFound") return { keys: [], etag: undefined };
    throw error;
  }
  return { keys: keySetFrom(read.bytes, bucket, api), etag: read.etag };
}

/** Writes an API's whole key set, unconditionally (a first set, tests); changes use changeApiKeys. */
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

function changeKeys(
  ecs: EcsApiDeps,
  api: string,
  change: (keys: readonly ApiKeyRecord[]) => ApiKeyRecord[],
): Promise<ApiKeyRecord[]> {
  return callAws(ecs, "s3:PutObject", () =>
    changeApiKeys(ecs.ports.s3, ecs.refs.bucketName, api, change),
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
  await changeKeys(ecs, api, (keys) => [...keys, record]);
  return {
    message: `created key ${record.id} for ${api}; it is shown only now, keep it somewhere safe (every replica accepts it within ${KEY_REFRESH_MS / 1000}s)`,
    key,
    info: keyInfo(record),
    ...(required ? {} : { warning: notRequiredWarning(api) }),
  };
}

/**
 * `axon keys list <api> --env <aws env>` (and `get`): the set in the bucket, with each key's
 * counts summed over the usage reports of the API's tasks — running and stopped, each as of its
 * last report (at most a minute old while the task runs).
 */
export async function listAwsApiKeys(ecs: EcsApiDeps, api: string): Promise<ApiKeyList> {
  const service = await requireAwsApiService(ecs, api);
  const spec = await readRevisionSpec(ecs, service.taskDefinition ?? "");
  const required = spec?.networking.auth === "api_key";
  const running = await runningTaskIds(ecs, service.serviceName ?? "");
  const [records, usage] = await Promise.all([
    readKeys(ecs, api),
    callAws(ecs, "s3:GetObject", () =>
      readKeyUsage(ecs.ports.s3, ecs.refs.bucketName, api, { running, now: new Date() }),
    ),
  ]);
  // Counts exist where keys are checked, as locally: an API that does not require keys has none.
  return {
    api,
    required,
    keys: records.map((record) => {
      const counts = usage.keys.get(record.id);
      const info = keyInfo(record, counts?.lastUsedAt ?? null);
      return required
        ? { ...info, requests: counts?.requests ?? 0, refused: counts?.refused ?? 0 }
        : info;
    }),
    ...(required ? { unauthorized: usage.unauthorized } : {}),
  };
}

/** The ids of the service's tasks ECS still runs (the last part of each task ARN; all pages). */
async function runningTaskIds(ecs: EcsApiDeps, service: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let nextToken: string | undefined;
  do {
    const page = await callAws(ecs, "ecs:ListTasks", () =>
      ecs.ports.ecs.listTasks({
        cluster: ecs.refs.clusterName,
        serviceName: service,
        desiredStatus: "RUNNING",
        ...(nextToken === undefined ? {} : { nextToken }),
      }),
    );
    for (const arn of page.taskArns ?? []) ids.add(arn.slice(arn.lastIndexOf("/") + 1));
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return ids;
}

/** Per-key sums over an API's usage reports. */
export interface KeyUsageTotals {
  /** Reports counted: one per task still reported on its own, plus the stopped tasks' fold. */
  tasks: number;
  unauthorized: number;
  keys: Map<string, { requests: number; refused: number; lastUsedAt: string | null }>;
}

/**
 * The stopped tasks' reports, folded into one object (`_stopped.json`) so that `keys list` reads
 * a few objects, not one per task the API ever ran. `folded` names the tasks whose counts it
 * holds while their own objects may still be there (a delete after the fold that failed): those
 * are not counted twice, and their deletion is tried again.
 */
interface FoldedUsage extends KeyUsageReport {
  folded: string[];
}

const FOLDED_TASK_ID = "_stopped";
/**
 * A stopped task's report is folded once it is this old: a task writes within a minute of a
 * change and once more while it drains (at most its stop timeout, 120 s on ECS), so a report this
 * old from a task ECS no longer runs is its last.
 */
export const FOLD_AFTER_MS = 15 * 60_000;

/**
 * Every task's report for an API, summed per key; a report Axon did not write is skipped. With
 * `fold` (the ids of the API's running tasks), the reports of stopped tasks older than
 * FOLD_AFTER_MS are folded into `_stopped.json` (a conditional write: two `keys list` at once fold
 * once) and deleted — best effort, the sums returned do not depend on it.
 */
export async function readKeyUsage(
  s3: Pick<
    S3Port,
    "listObjectsV2" | "getObjectBytes" | "getObjectWithEtag" | "putObject" | "deleteObjects"
  >,
  bucket: string,
  api: string,
  fold?: { running: ReadonlySet<string>; now: Date },
): Promise<KeyUsageTotals> {
  const foldedKey = keyUsageObjectKey(api, FOLDED_TASK_ID);
  const objectKeys = (await keyUsageObjectKeys(s3, bucket, api)).filter((key) => key !== foldedKey);
  const stopped = await readFolded(s3, bucket, api);
  const reports: Array<{ key: string; report: KeyUsageReport }> = [];
  for (let at = 0; at < objectKeys.length; at += USAGE_READS_AT_ONCE) {
    const batch = objectKeys.slice(at, at + USAGE_READS_AT_ONCE);
    const read = await Promise.all(
      batch.map(async (key) => {
        try {
          const bytes = await s3.getObjectBytes({ Bucket: bucket, Key: key });
          return { key, report: parseKeyUsage(new TextDecoder().decode(bytes)) };
        } catch (error) {
          // Listed, then gone (folded and deleted in between): nothing to count.
          if ((error as { name?: string }).name === "NoSuchKey") return { key, report: undefined };
          throw error;
        }
      }),
    );
    for (const { key, report } of read) {
      if (report?.api === api && report.taskId !== FOLDED_TASK_ID) reports.push({ key, report });
    }
  }
  const foldedIds = new Set(stopped.usage?.folded ?? []);
  const own = reports.filter(({ report }) => !foldedIds.has(report.taskId));
  const totals = sumReports([
    ...(stopped.usage === undefined ? [] : [stopped.usage]),
    ...own.map(({ report }) => report),
  ]);
  if (fold !== undefined) {
    await foldStoppedReports(s3, bucket, api, { ...stopped, reports, own }, fold).catch(() => {
      // Best effort: the next `keys list` folds what this one could not.
    });
  }
  return totals;
}

async function foldStoppedReports(
  s3: Pick<S3Port, "putObject" | "deleteObjects">,
  bucket: string,
  api: string,
  state: {
    usage: FoldedUsage | undefined;
    etag: string | undefined;
    reports: ReadonlyArray<{ key: string; report: KeyUsageReport }>;
    own: ReadonlyArray<{ key: string; report: KeyUsageReport }>;
  },
  fold: { running: ReadonlySet<string>; now: Date },
): Promise<void> {
  const before = new Set(state.usage?.folded ?? []);
  // Folded already but still there: deleted again below, and still named in `folded`.
  const leftOver = state.reports.filter(({ report }) => before.has(report.taskId));
  const eligible = state.own.filter(
    ({ report }) =>
      !fold.running.has(report.taskId) &&
      fold.now.getTime() - Date.parse(report.reportedAt) > FOLD_AFTER_MS,
  );
  const pruned = leftOver.length !== before.size;
  if (eligible.length === 0 && !pruned) {
    if (leftOver.length > 0) await deleteReports(s3, bucket, leftOver);
    return;
  }
  const sum = sumReports([
    ...(state.usage === undefined ? [] : [state.usage]),
    ...eligible.map(({ report }) => report),
  ]);
  const usage: FoldedUsage = {
    api,
    taskId: FOLDED_TASK_ID,
    startedAt: state.usage?.startedAt ?? fold.now.toISOString(),
    reportedAt: fold.now.toISOString(),
    unauthorized: sum.unauthorized,
    keys: [...sum.keys].map(([id, counts]) => ({ id, ...counts })),
    folded: [...leftOver, ...eligible].map(({ report }) => report.taskId),
  };
  await s3.putObject({
    Bucket: bucket,
    Key: keyUsageObjectKey(api, FOLDED_TASK_ID),
    Body: JSON.stringify(usage),
    ContentType: "application/json",
    ...(state.etag === undefined ? { IfNoneMatch: "*" } : { IfMatch: state.etag }),
  });
  await deleteReports(s3, bucket, [...leftOver, ...eligible]);
}

async function deleteReports(
  s3: Pick<S3Port, "deleteObjects">,
  bucket: string,
  reports: ReadonlyArray<{ key: string }>,
): Promise<void> {
  // DeleteObjects takes at most 1,000 keys a request
  // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html).
  for (let at = 0; at < reports.length; at += 1000) {
    await s3.deleteObjects({
      Bucket: bucket,
      Delete: {
        Objects: reports.slice(at, at + 1000).map(({ key }) => ({ Key: key })),
        Quiet: true,
      },
    });
  }
}

async function readFolded(
  s3: Pick<S3Port, "getObjectWithEtag">,
  bucket: string,
  api: string,
): Promise<{ usage: FoldedUsage | undefined; etag: string | undefined }> {
  let read: { bytes: Uint8Array; etag?: string };
  try {
    read = await s3.getObjectWithEtag({
      Bucket: bucket,
      Key: keyUsageObjectKey(api, FOLDED_TASK_ID),
    });
  } catch (error) {
    if ((error as { name?: string }).name === "NoSuchKey")
      return { usage: undefined, etag: undefined };
    throw error;
  }
  const json = new TextDecoder().decode(read.bytes);
  const report = parseKeyUsage(json);
  // Parsed once more for `folded` only when it is JSON (parseKeyUsage said so).
  const folded =
    report === undefined ? undefined : (JSON.parse(json) as { folded?: unknown }).folded;
  const usage =
    report === undefined ||
    report.api !== api ||
    !Array.isArray(folded) ||
    !folded.every((id) => typeof id === "string")
      ? undefined
      : { ...report, folded: folded as string[] };
  // One Axon did not write is replaced by the next fold (its ETag still guards the write).
  return { usage, etag: read.etag };
}

function sumReports(reports: readonly KeyUsageReport[]): KeyUsageTotals {
  const keys = new Map<string, { requests: number; refused: number; lastUsedAt: string | null }>();
  let unauthorized = 0;
  for (const report of reports) {
    unauthorized += report.unauthorized;
    for (const key of report.keys) {
      const sum = keys.get(key.id) ?? { requests: 0, refused: 0, lastUsedAt: null };
      sum.requests += key.requests;
      sum.refused += key.refused;
      if (key.lastUsedAt !== null && (sum.lastUsedAt === null || key.lastUsedAt > sum.lastUsedAt)) {
        sum.lastUsedAt = key.lastUsedAt;
      }
      keys.set(key.id, sum);
    }
  }
  return { tasks: reports.length, unauthorized, keys };
}

/** The keys of every object under an API's usage prefix (all pages). */
export async function keyUsageObjectKeys(
  s3: Pick<S3Port, "listObjectsV2">,
  bucket: string,
  api: string,
): Promise<string[]> {
  const objectKeys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.listObjectsV2({
      Bucket: bucket,
      Prefix: keyUsagePrefix(api),
      ...(token === undefined ? {} : { ContinuationToken: token }),
    });
    for (const object of page.Contents ?? []) {
      if (object.Key !== undefined) objectKeys.push(object.Key);
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return objectKeys;
}

/** A usage report read back; undefined for anything the reporter did not write. */
export function parseKeyUsage(json: string): KeyUsageReport | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const count = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n >= 0;
  const isTime = (t: unknown): t is string => typeof t === "string" && !Number.isNaN(Date.parse(t));
  if (
    typeof v["api"] !== "string" ||
    typeof v["taskId"] !== "string" ||
    !isTime(v["startedAt"]) ||
    !isTime(v["reportedAt"]) ||
    !count(v["unauthorized"]) ||
    !Array.isArray(v["keys"])
  ) {
    return undefined;
  }
  const keys: KeyUsageReport["keys"] = [];
  for (const key of v["keys"] as unknown[]) {
    if (typeof key !== "object" || key === null) return undefined;
    const k = key as Record<string, unknown>;
    const lastUsedAt = k["lastUsedAt"];
    if (
      typeof k["id"] !== "string" ||
      !count(k["requests"]) ||
      !count(k["refused"]) ||
      !(lastUsedAt === null || isTime(lastUsedAt))
    ) {
      return undefined;
    }
    keys.push({ id: k["id"], requests: k["requests"], refused: k["refused"], lastUsedAt });
  }
  return {
    api: v["api"],
    taskId: v["taskId"],
    startedAt: v["startedAt"],
    reportedAt: v["reportedAt"],
    unauthorized: v["unauthorized"],
    keys,
  };
}

/** `axon keys revoke <api> <id> --env <aws env>`: every replica refuses it within 30 s. */
export async function revokeAwsApiKey(
  ecs: EcsApiDeps,
  api: string,
  id: string,
): Promise<ApiKeyRevoked> {
  await requireAwsApiService(ecs, api);
  await changeKeys(ecs, api, (keys) => {
    const kept = keys.filter((key) => key.id !== id);
    if (kept.length === keys.length) throw apiKeyNotFound(api, id);
    return kept;
  });
  return {
    message: `revoked key ${id} of ${api}; every replica refuses it within ${KEY_REFRESH_MS / 1000}s`,
    id,
  };
}
