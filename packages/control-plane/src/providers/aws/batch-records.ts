/**
 * A batch job's status object, `jobs/<api>/<job_id>.json` in the cluster bucket (issue 32, decision
 * 0009: the account is the record), and the failures its workers record under
 * `jobs/<api>/<job_id>/failures/`. Written by the control plane at submission and when the job
 * ends; read back through `parseRecord`, which trusts only what it checks.
 */
import type { BatchFailure, BatchJobStatus } from "../../contract/index.js";
import { DomainError, JOB_NOT_FOUND } from "../../errors.js";
import { isAwsError } from "./api-deploy.js";
import type { EcsApiDeps } from "./api-names.js";
import { JOB_ID_PATTERN, jobFailurePrefix, jobRecordKey, jobRecordPrefix } from "./batch-names.js";
import type { JobQueues } from "./batch-queue.js";
import { callAws } from "./cluster-stack.js";

/** Failed batches shown with their errors (contract: "the first failed batches (at most 20)"). */
const MAX_SHOWN_FAILURES = 20;

/** The job's status object: its Cortex status (frozen once it ended), its queues and its tasks. */
export interface EcsJobRecord {
  job: BatchJobStatus;
  queues: JobQueues;
  /** The tasks RunTask started (ListTasks forgets stopped tasks after about an hour). */
  taskArns: string[];
  /** Items enqueued (absent until every batch was sent): the rate counts items, not batches. */
  items?: number;
}

export async function writeRecord(deps: EcsApiDeps, record: EcsJobRecord): Promise<void> {
  await callAws(deps, "s3:PutObject", () =>
    deps.ports.s3.putObject({
      Bucket: deps.refs.bucketName,
      Key: jobRecordKey(record.job.api_name, record.job.job_id),
      Body: JSON.stringify(record),
      ContentType: "application/json",
    }),
  );
}

export async function readRecord(
  deps: EcsApiDeps,
  api: string,
  jobId: string,
): Promise<EcsJobRecord | undefined> {
  if (!JOB_ID_PATTERN.test(jobId)) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = await callAws(deps, "s3:GetObject", () =>
      deps.ports.s3.getObjectBytes({ Bucket: deps.refs.bucketName, Key: jobRecordKey(api, jobId) }),
    );
  } catch (error) {
    if (isAwsError(error, "NoSuchKey", "NotFound")) return undefined;
    throw error;
  }
  return parseRecord(new TextDecoder().decode(bytes));
}

/** A status object read back: only what Axon relies on is checked; anything else is no record. */
export function parseRecord(json: string): EcsJobRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Partial<EcsJobRecord>;
  if (
    typeof record.job?.job_id !== "string" ||
    typeof record.job.status !== "string" ||
    typeof record.queues?.queueUrl !== "string" ||
    !Array.isArray(record.taskArns)
  ) {
    return undefined;
  }
  return record as EcsJobRecord;
}

export async function listJobIds(deps: EcsApiDeps, api: string): Promise<string[]> {
  const prefix = jobRecordPrefix(api);
  return (await listKeys(deps, prefix))
    .map((key) => key.slice(prefix.length).replace(/\.json$/, ""))
    .filter((id) => JOB_ID_PATTERN.test(id));
}

/** Every key under `prefix` in the cluster bucket (ListObjectsV2, all pages). */
export async function listKeys(
  deps: EcsApiDeps,
  prefix: string,
  limit = Infinity,
): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await callAws(deps, "s3:ListObjectsV2", () =>
      deps.ports.s3.listObjectsV2({
        Bucket: deps.refs.bucketName,
        Prefix: prefix,
        ...(Number.isFinite(limit) ? { MaxKeys: Math.min(1000, limit) } : {}),
        ...(token === undefined ? {} : { ContinuationToken: token }),
      }),
    );
    for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
    token =
      page.IsTruncated === true && keys.length < limit ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return keys.slice(0, limit);
}

/** The first failed batches of a job (at most 20), as its workers recorded them. */
export async function readFailures(deps: EcsApiDeps, job: BatchJobStatus): Promise<BatchFailure[]> {
  const keys = await listKeys(deps, jobFailurePrefix(job.api_name, job.job_id), MAX_SHOWN_FAILURES);
  const failures: BatchFailure[] = [];
  for (const key of keys) {
    const bytes = await callAws(deps, "s3:GetObject", () =>
      deps.ports.s3.getObjectBytes({ Bucket: deps.refs.bucketName, Key: key }),
    ).catch((error: unknown) => {
      // Listed, then gone (the job's objects are being deleted): not shown. Any other error
      // (denied, throttled) is the answer's, not an empty list of failures.
      if (isAwsError(error, "NoSuchKey", "NotFound")) return undefined;
      throw error;
    });
    if (bytes === undefined) continue;
    try {
      const value = JSON.parse(new TextDecoder().decode(bytes)) as Partial<BatchFailure>;
      if (typeof value.batch_id === "string" && typeof value.error === "string") {
        failures.push({
          batch_id: value.batch_id,
          attempts: Number(value.attempts) || 0,
          error: value.error,
        });
      }
    } catch {
      // A failure object that is not ours is not shown.
    }
  }
  return failures;
}

export function jobNotFound(deps: EcsApiDeps, api: string, jobId: string): DomainError {
  return new DomainError(
    JOB_NOT_FOUND,
    `${api} in environment ${deps.refs.envName} has no job ${jobId}`,
    { status: 404, hint: `axon get ${api} --env ${deps.refs.envName} lists its jobs` },
  );
}
