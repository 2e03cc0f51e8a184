/**
 * A batch job's submission (issue 32), as `POST <endpoint>` and `POST /v1/apis/:name/jobs` take
 * it: read once here, on every engine, into a `BatchJobSubmission` whose bounds hold — or a 400
 * naming the field, the value and the bound. Cortex 0.20's rules (docs/deployments/batch-api/
 * endpoints.md at v0.20.0): `workers` is required, exactly one of `item_list`, `file_path_lister`
 * and `delimited_files`, each batch under 256 KiB (an SQS message then), a request under 10 MiB.
 *
 * `jobBatches` then cuts the items into the batches a job's queue holds: item lists here, S3
 * sources through `s3-items.ts` with the S3 client the engine gives.
 */
import type { BatchFilePathLister, BatchItemList, BatchJobSubmission } from "../contract/index.js";
import { DomainError, JOB_INVALID } from "../errors.js";
import { s3ItemBatches, type S3ItemsOptions, type S3ItemsPort } from "../providers/aws/s3-items.js";

/** An item source this engine cannot read yet (501). */
export const JOB_SOURCE_NOT_AVAILABLE = "job.source_not_available";

/** Worker processes (locally) or Fargate tasks (ECS) one job may run at once. */
export const MAX_JOB_WORKERS = 100;
/** Items in one batch. */
export const MAX_BATCH_SIZE = 100_000;
/** Items in one job's `item_list` (the 10 MiB request holds about that many small items). */
export const MAX_JOB_ITEMS = 1_000_000;
/**
 * Bytes of one batch as JSON: Cortex's bound, which was SQS's largest message when Cortex shipped
 * and is still a queue's default `MaximumMessageSize`, 262,144 bytes (a queue may now be raised to
 * 1 MiB: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html).
 * Kept on both engines, so a job that runs locally runs on ECS too.
 */
export const MAX_BATCH_BYTES = 256 * 1024;
/** Bytes of a submission's body (Cortex's bound); readers stop reading past it. */
export const MAX_SUBMISSION_BYTES = 10 * 1024 * 1024;
/** Times one batch may be tried again after it raised. */
export const MAX_JOB_RETRIES = 10;
export const DEFAULT_JOB_RETRIES = 1;
/** Seconds one batch may take before another worker is given it (the lease, SQS's visibility timeout). */
export const MAX_JOB_TIMEOUT_SECONDS = 12 * 60 * 60;
export const DEFAULT_JOB_TIMEOUT_SECONDS = 600;
/**
 * Bytes of the job's `config` as JSON: it reaches each worker in one environment variable with the
 * API's config, and Linux refuses a longer one (execve(2), MAX_ARG_STRLEN: 131072 bytes).
 */
export const MAX_JOB_CONFIG_BYTES = 64 * 1024;
/** S3 paths one lister may name. */
export const MAX_S3_PATHS = 1000;

const SOURCES = ["item_list", "file_path_lister", "delimited_files"] as const;
const TOP_KEYS = new Set<string>([...SOURCES, "workers", "config", "max_retries", "timeout"]);
const LISTER_KEYS = new Set(["s3_paths", "includes", "excludes", "batch_size"]);

/**
 * Reads a job submission (the parsed JSON body) and checks every bound.
 * @throws DomainError job.invalid (400) naming the first field that breaks a rule and the rule
 */
export function validateSubmission(body: unknown): BatchJobSubmission {
  const spec = requireObject(body, "the job submission", '{"workers": 1, "item_list": {...}}');
  for (const key of Object.keys(spec)) {
    if (!TOP_KEYS.has(key)) {
      throw invalid(
        key,
        `key ${key} is not supported (supported keys: workers, item_list, file_path_lister, delimited_files, config, max_retries, timeout)`,
      );
    }
  }
  const sources = SOURCES.filter((key) => spec[key] !== undefined && spec[key] !== null);
  if (sources.length !== 1) {
    throw invalid(
      sources.length === 0 ? "item_list" : (sources[1] ?? "item_list"),
      sources.length === 0
        ? "one of item_list, file_path_lister and delimited_files must be provided (the items of the job)"
        : `only one of item_list, file_path_lister and delimited_files may be provided (got ${sources.join(" and ")})`,
    );
  }
  const submission: BatchJobSubmission = {
    workers: integerIn(spec["workers"], "workers", 1, MAX_JOB_WORKERS, true),
  };
  const source = sources[0];
  if (source === "item_list") submission.item_list = readItemList(spec["item_list"]);
  else if (source === "file_path_lister") {
    submission.file_path_lister = readLister(spec["file_path_lister"], "file_path_lister");
  } else if (source === "delimited_files") {
    submission.delimited_files = readLister(spec["delimited_files"], "delimited_files");
  }
  const config = spec["config"];
  if (config !== undefined && config !== null) {
    const map = requireObject(config, "config", '{"threshold": 0.5}');
    const bytes = Buffer.byteLength(JSON.stringify(map));
    if (bytes > MAX_JOB_CONFIG_BYTES) {
      throw invalid(
        "config",
        `config is ${bytes} bytes as JSON, more than ${MAX_JOB_CONFIG_BYTES}: it reaches each worker in its environment; put large values in a file the predictor reads`,
      );
    }
    submission.config = map;
  }
  if (spec["max_retries"] !== undefined) {
    submission.max_retries = integerIn(spec["max_retries"], "max_retries", 0, MAX_JOB_RETRIES);
  }
  if (spec["timeout"] !== undefined) {
    submission.timeout = integerIn(spec["timeout"], "timeout", 1, MAX_JOB_TIMEOUT_SECONDS);
  }
  return submission;
}

/**
 * The job's batches, in order. Item lists are cut in `batch_size` slices (the last may be
 * shorter); S3 sources are listed through `s3` (`s3-items.ts`), each batch held to the bounds an
 * item list is held to (256 KiB as JSON, 1,000,000 items in all), since a listing is not seen
 * before it is read.
 * @throws DomainError job.source_not_available for an S3 source when no S3 client is given;
 *   job.invalid for a listed batch or job over a bound; s3-items.ts's errors (nothing matched, a
 *   bad line, S3 refused)
 */
export async function* jobBatches(
  submission: BatchJobSubmission,
  s3?: S3ItemsPort,
  options: S3ItemsOptions = {},
): AsyncGenerator<unknown[]> {
  const list = submission.item_list;
  if (list !== undefined) {
    for (let start = 0; start < list.items.length; start += list.batch_size) {
      yield list.items.slice(start, start + list.batch_size);
    }
    return;
  }
  const field = submission.file_path_lister === undefined ? "delimited_files" : "file_path_lister";
  const batches = s3 === undefined ? undefined : s3ItemBatches(s3, submission, options);
  if (batches === undefined) {
    throw new DomainError(
      JOB_SOURCE_NOT_AVAILABLE,
      `${field} is not available here: this engine has no S3 client to list it with`,
      { status: 501, hint: "submit the items themselves with item_list {items, batch_size}" },
    );
  }
  let items = 0;
  let index = 0;
  for await (const batch of batches) {
    items += batch.length;
    if (items > MAX_JOB_ITEMS) {
      throw invalid(
        field,
        `${field} lists more than ${MAX_JOB_ITEMS} items, the most a job may have; narrow s3_paths or includes and submit several jobs`,
      );
    }
    const bytes = Buffer.byteLength(JSON.stringify(batch));
    if (bytes > MAX_BATCH_BYTES) {
      throw invalid(
        `${field}.batch_size`,
        `batch ${index} of ${field} is ${bytes} bytes as JSON, more than ${MAX_BATCH_BYTES} (256 KiB) a batch may be; lower ${field}.batch_size`,
      );
    }
    index += 1;
    yield batch;
  }
}

/** How many batches an item list makes. */
export function itemListBatchCount(list: BatchItemList): number {
  return Math.ceil(list.items.length / list.batch_size);
}

function readItemList(value: unknown): BatchItemList {
  const list = requireObject(value, "item_list", '{"items": [...], "batch_size": 10}');
  for (const key of Object.keys(list)) {
    if (key !== "items" && key !== "batch_size") {
      throw invalid(
        `item_list.${key}`,
        `key ${key} is not supported (supported keys: items, batch_size)`,
      );
    }
  }
  const items = list["items"];
  if (!Array.isArray(items)) {
    throw invalid(
      "item_list.items",
      `item_list.items must be a list of items (got ${describe(items)})`,
    );
  }
  if (items.length === 0) {
    throw invalid("item_list.items", "item_list.items must hold at least one item (got [])");
  }
  if (items.length > MAX_JOB_ITEMS) {
    throw invalid(
      "item_list.items",
      `item_list.items holds ${items.length} items, more than ${MAX_JOB_ITEMS} a job may have; split them over several jobs`,
    );
  }
  const batchSize = integerIn(list["batch_size"], "item_list.batch_size", 1, MAX_BATCH_SIZE, true);
  // Each batch as it will be stored and handed to a worker: a JSON list of its items.
  for (let start = 0; start < items.length; start += batchSize) {
    const end = Math.min(start + batchSize, items.length);
    let bytes = 2;
    for (let index = start; index < end; index += 1) {
      bytes += Buffer.byteLength(JSON.stringify(items[index]) ?? "null") + 1;
    }
    if (bytes > MAX_BATCH_BYTES) {
      throw invalid(
        "item_list.batch_size",
        `the batch of items ${start}–${end - 1} is ${bytes} bytes as JSON, more than ${MAX_BATCH_BYTES} (256 KiB) a batch may be; lower item_list.batch_size (now ${batchSize})`,
      );
    }
  }
  return { items, batch_size: batchSize };
}

function readLister(value: unknown, field: string): BatchFilePathLister {
  const lister = requireObject(
    value,
    field,
    '{"s3_paths": ["s3://bucket/images/"], "batch_size": 10}',
  );
  for (const key of Object.keys(lister)) {
    if (!LISTER_KEYS.has(key)) {
      throw invalid(
        `${field}.${key}`,
        `key ${key} is not supported (supported keys: s3_paths, includes, excludes, batch_size)`,
      );
    }
  }
  const paths = stringList(lister["s3_paths"], `${field}.s3_paths`, true);
  if (paths === undefined || paths.length === 0) {
    throw invalid(`${field}.s3_paths`, `${field}.s3_paths must hold at least one s3:// path`);
  }
  for (const [index, path] of paths.entries()) {
    if (!/^s3:\/\/[^/]+/.test(path)) {
      throw invalid(
        `${field}.s3_paths`,
        `${field}.s3_paths[${index}] must be an S3 path like s3://bucket/prefix (got ${JSON.stringify(path)})`,
      );
    }
  }
  const includes = stringList(lister["includes"], `${field}.includes`, false);
  const excludes = stringList(lister["excludes"], `${field}.excludes`, false);
  return {
    s3_paths: paths,
    ...(includes === undefined ? {} : { includes }),
    ...(excludes === undefined ? {} : { excludes }),
    batch_size: integerIn(lister["batch_size"], `${field}.batch_size`, 1, MAX_BATCH_SIZE, true),
  };
}

function stringList(value: unknown, field: string, required: boolean): string[] | undefined {
  if (value === undefined || value === null) {
    if (required) throw invalid(field, `${field} must be provided (a list of strings)`);
    return undefined;
  }
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== "string")) {
    throw invalid(field, `${field} must be a list of strings (got ${describe(value)})`);
  }
  if (value.length > MAX_S3_PATHS) {
    throw invalid(field, `${field} holds ${value.length} entries, more than ${MAX_S3_PATHS}`);
  }
  return value as string[];
}

function integerIn(
  value: unknown,
  field: string,
  min: number,
  max: number,
  required = false,
): number {
  if (value === undefined || value === null) {
    if (required) throw invalid(field, `${field} must be provided: an integer in [${min}, ${max}]`);
  }
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(
      field,
      `${field} must be an integer in [${min}, ${max}] (got ${describe(value)})`,
    );
  }
  return value;
}

function requireObject(value: unknown, field: string, example: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalid(field, `${field} must be a JSON object like ${example} (got ${describe(value)})`);
  }
  return value as Record<string, unknown>;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  // The body is parsed JSON, so only `undefined` (handled above) has no JSON text.
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function invalid(field: string, message: string): DomainError {
  return new DomainError(JOB_INVALID, `invalid job submission: ${message}`, {
    hint: `fix ${field} and submit again (docs/batch.md lists every field and bound)`,
  });
}
