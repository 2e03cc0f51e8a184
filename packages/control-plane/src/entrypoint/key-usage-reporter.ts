/**
 * Per-key counts from an ECS task to `axon keys list --env` / `get --env` (issue 29): the task's
 * front counts requests per key (ApiKeyGuard); this writes those counters, as they stand, to
 * `api-keys/<api>/usage/<task-id>.json` in the cluster bucket (providers/aws/api-keys.ts reads
 * and sums them) — at most every KEY_USAGE_REPORT_MS, only when a count changed since the last
 * write, and once more when the task drains.
 *
 * What it costs: a busy task writes 1,440 objects a day (one a minute), an idle one none. At S3
 * Standard's $0.005 per 1,000 PUT requests (https://aws.amazon.com/s3/pricing/, us-east-1) that
 * is $0.0072 per busy task per day, about $0.22 a month; the objects are a few hundred bytes.
 * The task role may put objects under `api-keys/*\/usage/` only (cluster-template.ts); the key
 * hashes next to them stay read-only to it.
 */
import { randomBytes } from "node:crypto";
import os from "node:os";
import type { ApiKeyGuard } from "../replica/api-keys.js";
import { keyUsageObjectKey, type KeyUsageReport } from "../providers/aws/api-keys.js";
import type { S3Port } from "../providers/aws/sdk.js";

/** How often a task writes its counters, at most (REPLICA_ENV.keyUsageReportMs overrides). */
export const KEY_USAGE_REPORT_MS = 60_000;

export interface KeyUsageReporterOptions {
  guard: ApiKeyGuard;
  s3: Pick<S3Port, "putObject">;
  bucket: string;
  api: string;
  /** The ECS task id (the last part of its ARN); unique per task. */
  taskId: string;
  intervalMs?: number;
  log: (message: string) => void;
  now?: () => Date;
}

/**
 * The ECS task id (the last part of the task ARN, from the task metadata endpoint), which names
 * the task's usage object and matches what `aws ecs list-tasks` shows; outside ECS, or when the
 * metadata cannot be read, the host name and a random suffix (unique per process).
 */
export async function resolveTaskId(
  metadataUri: string | undefined,
  fetchTask: typeof fetch = fetch,
): Promise<string> {
  if (metadataUri !== undefined) {
    try {
      const response = await fetchTask(`${metadataUri}/task`, {
        signal: AbortSignal.timeout(2_000),
      });
      const task = (await response.json()) as { TaskARN?: unknown };
      const id = typeof task.TaskARN === "string" ? task.TaskARN.split("/").pop() : undefined;
      if (id !== undefined && /^[\w.-]{1,128}$/.test(id)) return id;
    } catch {
      // Named by host below: the counts still reach `keys list`, under another name.
    }
  }
  const host = os
    .hostname()
    .replaceAll(/[^\w.-]/g, "-")
    .slice(0, 64);
  return `${host}-${randomBytes(4).toString("hex")}`;
}

/** Writes one task's key counters to the bucket while the task serves. */
export class KeyUsageReporter {
  readonly #options: KeyUsageReporterOptions;
  readonly #startedAt: string;
  #timer: NodeJS.Timeout | undefined;
  /** The counters as last written (a signature of them): nothing changed, nothing is written. */
  #written = "";
  #writing: Promise<void> | undefined;
  #failing = false;

  constructor(options: KeyUsageReporterOptions) {
    this.#options = options;
    this.#startedAt = (options.now?.() ?? new Date()).toISOString();
  }

  start(): void {
    this.#timer = setInterval(
      () => void this.flush(),
      this.#options.intervalMs ?? KEY_USAGE_REPORT_MS,
    );
    this.#timer.unref();
  }

  /** Stops the timer and writes what changed since the last write (the task is draining). */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#writing;
    await this.flush();
  }

  /** Writes the counters now if they changed; never throws (a failed write is logged once). */
  flush(): Promise<void> {
    if (this.#writing !== undefined) return this.#writing;
    const { guard, api, taskId } = this.#options;
    const keys = guard
      .usage()
      .filter((key) => key.requests !== 0 || key.refused !== 0)
      .map((key) => ({
        id: key.id,
        requests: key.requests,
        refused: key.refused,
        lastUsedAt: key.lastUsedAt === null ? null : new Date(key.lastUsedAt).toISOString(),
      }));
    const signature = JSON.stringify([guard.unauthorized, keys]);
    if (signature === this.#written || (keys.length === 0 && guard.unauthorized === 0)) {
      return Promise.resolve();
    }
    const report: KeyUsageReport = {
      api,
      taskId,
      startedAt: this.#startedAt,
      reportedAt: (this.#options.now?.() ?? new Date()).toISOString(),
      unauthorized: guard.unauthorized,
      keys,
    };
    this.#writing = this.#options.s3
      .putObject({
        Bucket: this.#options.bucket,
        Key: keyUsageObjectKey(api, taskId),
        Body: JSON.stringify(report),
        ContentType: "application/json",
      })
      .then(
        () => {
          this.#written = signature;
          if (this.#failing) this.#options.log("key usage written again");
          this.#failing = false;
        },
        (error: unknown) => {
          // Counting is not serving: requests go on, the next tick tries again.
          if (!this.#failing) {
            const message = error instanceof Error ? error.message : String(error);
            this.#options.log(
              `writing the key usage to s3://${this.#options.bucket}/${keyUsageObjectKey(api, taskId)} failed (retried every tick): ${message}`,
            );
          }
          this.#failing = true;
        },
      )
      .finally(() => {
        this.#writing = undefined;
      });
    return this.#writing;
  }
}
