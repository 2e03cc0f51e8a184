/**
 * A batch job's items from S3 (issue 32, Cortex 0.20's `file_path_lister` and `delimited_files`):
 * both engines call this while they enqueue a job — the local engine with the default AWS chain
 * (or `AWS_ENDPOINT_URL`), the ECS engine with the request's settings — so it knows nothing of
 * either: it takes an S3 port and yields batches.
 *
 * - `file_path_lister {s3_paths, includes, excludes, batch_size}`: every object under each path
 *   (a key or a prefix), kept when it matches one of `includes` (all when none) and none of
 *   `excludes`, yielded as batches of `batch_size` `s3://bucket/key` paths.
 * - `delimited_files {…}`: the same objects, each read as newline-delimited JSON; each line is one
 *   item (a JSON object, Cortex's rule), yielded as batches of `batch_size` items. Batches span
 *   files: a batch is full before the next one starts, whatever file its items come from.
 *
 * Globs are matched against the whole `s3://bucket/key` path, as Cortex did: its documented
 * `"includes": ["**.jpg"]` selects `s3://bucket/images/img_2.jpg`
 * (cortexlabs/cortex:docs/workloads/batch/jobs.md, "Filtering files"). Cortex's globs let `**`
 * run into a name (`**_3.jpg`); picomatch only treats `**` as "any folders" as a whole segment, so
 * such a `**` is given a `/*` after it first (`**_3.jpg` is read as any folder, then `*_3.jpg`). A listing that matches nothing is an error naming the paths
 * and filters: a job with no batches would "succeed" having done nothing.
 */
import picomatch from "picomatch";
import type { ListObjectsV2CommandOutput } from "@aws-sdk/client-s3";
import { DomainError } from "../../errors.js";
import type { BatchFilePathLister } from "../../contract/batch.js";
import type { S3Port } from "./sdk.js";

/** An S3 path is not `s3://bucket[/prefix]` (400). */
export const BATCH_S3_PATH_INVALID = "batch.s3_path_invalid";
/** The listing matched no object (400): the job is not started. */
export const BATCH_S3_NOTHING_MATCHED = "batch.s3_nothing_matched";
/** A line of a delimited file is not a JSON object (400). */
export const BATCH_DELIMITED_LINE_INVALID = "batch.delimited_line_invalid";
/** A delimited file is larger than this process reads whole (400). */
export const BATCH_DELIMITED_FILE_TOO_LARGE = "batch.delimited_file_too_large";
/** S3 refused a listing or a read (no such bucket, access denied, …): 400, naming the path. */
export const BATCH_S3_READ_FAILED = "batch.s3_read_failed";

/**
 * ListObjectsV2 answers at most 1,000 keys per call, and `NextContinuationToken` when there are
 * more (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html: "MaxKeys … By
 * default, the action returns up to 1,000 key names"; "IsTruncated … NextContinuationToken is sent
 * when isTruncated is true"). Asked for explicitly so a test can page through moto.
 */
export const LIST_PAGE_KEYS = 1000;

/** A delimited file is read whole; larger ones are refused with what to do (split it). */
export const MAX_DELIMITED_FILE_BYTES = 256 * 1024 * 1024;

/** The S3 calls this module makes. */
export type S3ItemsPort = Pick<S3Port, "listObjectsV2" | "getObjectBytes">;

/** Which objects to read: Cortex's `s3_paths` with its glob filters. */
export type S3Selection = Pick<BatchFilePathLister, "s3_paths" | "includes" | "excludes">;

/** One object a selection matched. */
export interface S3ObjectRef {
  /** `s3://bucket/key` */
  path: string;
  bucket: string;
  key: string;
  size: number;
}

export interface S3ItemsOptions {
  signal?: AbortSignal;
  /** Keys per ListObjectsV2 call (default 1000, S3's most). */
  pageKeys?: number;
}

/** `s3://bucket/prefix` → bucket and prefix; anything else is a 400 naming the path. */
export function parseS3Path(path: string, field = "s3_paths"): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(path);
  const bucket = match?.[1];
  if (match === null || bucket === undefined || bucket === "") {
    throw new DomainError(
      BATCH_S3_PATH_INVALID,
      `${field} has ${JSON.stringify(path)}, which is not an S3 path`,
      { status: 400, hint: "write each path as s3://bucket/key or s3://bucket/prefix" },
    );
  }
  return { bucket, prefix: match[2] ?? "" };
}

/**
 * Every object the selection matches, in `s3_paths` order, each listing in S3's key order. An object
 * two paths both cover is given once.
 *
 * @throws DomainError `batch.s3_nothing_matched` when nothing matches (paths and filters named).
 */
export async function* listS3Objects(
  s3: S3ItemsPort,
  selection: S3Selection,
  options: S3ItemsOptions = {},
): AsyncGenerator<S3ObjectRef> {
  const keep = globFilter(selection);
  const seen = new Set<string>();
  let listed = 0;
  // Every path is checked before the first call: a typo in the last one fails at once.
  const roots = selection.s3_paths.map((path, index) => ({
    path,
    ...parseS3Path(path, `s3_paths[${index}]`),
  }));
  for (const { path, bucket, prefix } of roots) {
    let continuationToken: string | undefined;
    do {
      options.signal?.throwIfAborted();
      const page: ListObjectsV2CommandOutput = await readS3(path, () =>
        s3.listObjectsV2({
          Bucket: bucket,
          Prefix: prefix,
          MaxKeys: options.pageKeys ?? LIST_PAGE_KEYS,
          ...(continuationToken === undefined ? {} : { ContinuationToken: continuationToken }),
        }),
      );
      for (const object of page.Contents ?? []) {
        const key = object.Key;
        // A "folder" placeholder (an empty key ending in /) is not an item.
        if (key === undefined || key.endsWith("/")) continue;
        listed += 1;
        const objectPath = `s3://${bucket}/${key}`;
        if (seen.has(objectPath) || !keep(objectPath)) continue;
        seen.add(objectPath);
        yield { path: objectPath, bucket, key, size: object.Size ?? 0 };
      }
      continuationToken =
        page.IsTruncated === true && page.NextContinuationToken !== undefined
          ? page.NextContinuationToken
          : undefined;
    } while (continuationToken !== undefined);
  }
  if (seen.size === 0) throw nothingMatched(selection, listed);
}

/** `file_path_lister`: batches of `batch_size` `s3://` paths. */
export async function* filePathBatches(
  s3: S3ItemsPort,
  lister: BatchFilePathLister,
  options: S3ItemsOptions = {},
): AsyncGenerator<string[]> {
  let batch: string[] = [];
  for await (const object of listS3Objects(s3, lister, options)) {
    batch.push(object.path);
    if (batch.length === lister.batch_size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * `delimited_files`: every line of every matched file, parsed, in batches of `batch_size` objects.
 * Blank lines (a trailing newline, a gap) are skipped.
 *
 * @throws DomainError `batch.delimited_line_invalid` naming the file and line of a line that is not
 *   a JSON object; `batch.delimited_file_too_large` for a file over 256 MiB.
 */
export async function* delimitedFileBatches(
  s3: S3ItemsPort,
  files: BatchFilePathLister,
  options: S3ItemsOptions = {},
): AsyncGenerator<Record<string, unknown>[]> {
  let batch: Record<string, unknown>[] = [];
  for await (const object of listS3Objects(s3, files, options)) {
    if (object.size > MAX_DELIMITED_FILE_BYTES) {
      throw new DomainError(
        BATCH_DELIMITED_FILE_TOO_LARGE,
        `${object.path} is ${object.size} bytes: delimited_files reads each file whole, up to ${MAX_DELIMITED_FILE_BYTES} bytes`,
        { status: 400, hint: "split it into smaller files under the same prefix" },
      );
    }
    options.signal?.throwIfAborted();
    const bytes = await readS3(object.path, () =>
      s3.getObjectBytes({ Bucket: object.bucket, Key: object.key }),
    );
    const lines = new TextDecoder().decode(bytes).split("\n");
    for (const [index, raw] of lines.entries()) {
      const line = raw.trim();
      if (line === "") continue;
      batch.push(parseLine(line, object.path, index + 1));
      if (batch.length === files.batch_size) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield batch;
}

/** The job's S3 source as batches, or undefined when its items are inline (`item_list`). */
export function s3ItemBatches(
  s3: S3ItemsPort,
  submission: { file_path_lister?: BatchFilePathLister; delimited_files?: BatchFilePathLister },
  options: S3ItemsOptions = {},
): AsyncGenerator<unknown[]> | undefined {
  if (submission.file_path_lister !== undefined) {
    return filePathBatches(s3, submission.file_path_lister, options);
  }
  if (submission.delimited_files !== undefined) {
    return delimitedFileBatches(s3, submission.delimited_files, options);
  }
  return undefined;
}

function parseLine(line: string, path: string, lineNumber: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw lineError(path, lineNumber, `is not JSON (${(error as Error).message})`, error);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const what = Array.isArray(value) ? "an array" : value === null ? "null" : typeof value;
    throw lineError(path, lineNumber, `is ${what}, not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function lineError(path: string, line: number, what: string, cause?: unknown): DomainError {
  return new DomainError(BATCH_DELIMITED_LINE_INVALID, `${path} line ${line} ${what}`, {
    status: 400,
    hint: "delimited_files takes newline-delimited JSON: one JSON object per line; fix that line, or use file_path_lister to hand the files' paths to predict()",
    cause,
  });
}

/** A glob in Cortex's dialect, for picomatch: a `**` running into a name is given a `/*` after it. */
export function toPicomatchGlob(pattern: string): string {
  return pattern.replace(/\*\*(?=[^/*])/g, "**/*");
}

function globFilter(selection: S3Selection): (path: string) => boolean {
  // `dot`: S3 keys such as `logs/.2026.jsonl` are ordinary objects, not hidden files.
  const compile = (patterns: string[] | undefined): ((path: string) => boolean) | undefined =>
    patterns === undefined || patterns.length === 0
      ? undefined
      : picomatch(patterns.map(toPicomatchGlob), { dot: true });
  const includes = compile(selection.includes);
  const excludes = compile(selection.excludes);
  return (path) =>
    (includes === undefined || includes(path)) && (excludes === undefined || !excludes(path));
}

function nothingMatched(selection: S3Selection, listed: number): DomainError {
  const filters = [
    selection.includes?.length ? `includes ${JSON.stringify(selection.includes)}` : "",
    selection.excludes?.length ? `excludes ${JSON.stringify(selection.excludes)}` : "",
  ].filter((part) => part !== "");
  const where = `s3_paths ${JSON.stringify(selection.s3_paths)}`;
  const message =
    listed === 0
      ? `no S3 object found under ${where}`
      : `none of the ${listed} S3 objects under ${where} matched ${filters.join(" and ")}`;
  return new DomainError(BATCH_S3_NOTHING_MATCHED, message, {
    status: 400,
    hint:
      listed === 0
        ? "check the bucket and prefix (aws s3 ls <path>); a prefix is matched as is, so s3://bucket/images/ lists that folder"
        : "globs are matched against the whole s3://bucket/key path: write **.jpg or s3://bucket/images/*.jpg, not *.jpg",
  });
}

/** One S3 call, its refusal turned into a 400 naming the path (NoSuchBucket, AccessDenied, …). */
async function readS3<T>(path: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof DomainError) throw error;
    const name = error instanceof Error ? error.name : "Error";
    const detail = error instanceof Error ? error.message : String(error);
    throw new DomainError(BATCH_S3_READ_FAILED, `S3 refused to read ${path}: ${name}: ${detail}`, {
      status: 400,
      hint: "check that the bucket exists in this region and that the credentials may list and read it (s3:ListBucket, s3:GetObject)",
      cause: error,
    });
  }
}
