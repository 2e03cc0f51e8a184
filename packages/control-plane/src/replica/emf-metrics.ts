/**
 * The in-flight metric of a replica on ECS, as CloudWatch Embedded Metric Format (EMF) lines on
 * stdout: the awslogs driver ships stdout to CloudWatch Logs, which extracts the metric
 * `Axon/InFlightRequests{Cluster, Api}` from each line, and Application Auto Scaling's target
 * tracking reads its per-replica average (providers/aws/api-scaling.ts). The same signal the local
 * autoscaler reads: the front's once-a-second in-flight samples, averaged per interval, as Cortex's
 * request monitor published them.
 *
 * Why EMF rather than PutMetricData: no SDK call, credentials or IAM permission in the container,
 * no per-request API cost, nothing that can block or fail on the request path; the lines are logs
 * the task writes anyway (docs/aws-autoscaling.md has the cost).
 *
 * Off the hot path: a timer reads the sampler's ring (at most 600 numbers) once per interval;
 * requests never touch this module. The data plane imports nothing of the control plane, so the
 * metric's names are repeated here; a test pins them equal to `providers/aws/api-names.ts`.
 */
import type { InFlightSample } from "./metrics.js";

/** = `METRIC_NAMESPACE` in providers/aws/api-names.ts. */
export const EMF_NAMESPACE = "Axon";
/** = `IN_FLIGHT_METRIC` in providers/aws/api-names.ts. */
export const EMF_IN_FLIGHT_METRIC = "InFlightRequests";
/** = `METRIC_DIMENSIONS` in providers/aws/api-names.ts. */
export const EMF_DIMENSIONS = ["Cluster", "Api"] as const;

/**
 * Default publishing interval: Cortex's (10 s). CloudWatch stores the metric at 1-minute resolution
 * (Application Auto Scaling reads no finer for a custom metric), and the minute's Average over
 * every task's lines is the per-replica average either way; 10 s rather than 60 s loses at most
 * 10 s of samples when a task stops, lets a new task count within its first minute, and keeps the
 * lines within the minute they describe. It costs 6 lines a minute per task (≈ $0.04 a month).
 */
export const DEFAULT_EMF_INTERVAL_MS = 10_000;

/** What one line reports. */
export interface InFlightEmfInput {
  /** The ECS cluster's name (the `Cluster` dimension). */
  cluster: string;
  /** The API's name (the `Api` dimension). */
  api: string;
  /** The task's id: a property for Logs Insights, not a dimension (that would be a metric per task). */
  taskId: string;
  /** The start of the interval the values describe, epoch milliseconds. */
  timestampMs: number;
  /** The average of the interval's in-flight samples. */
  inFlight: number;
  /** The highest sample of the interval (a property, not a metric: it costs nothing extra). */
  maxInFlight: number;
}

/**
 * One EMF log line (JSON, no newline): `_aws.Timestamp` and one metric directive — namespace
 * `Axon`, dimension set `[Cluster, Api]`, metric `InFlightRequests` (Count, 1-minute storage) —
 * with the dimension values and the metric value as root members, as the EMF specification requires.
 *
 * @throws RangeError when a value is not a finite number (JSON would carry `null`, which CloudWatch rejects)
 */
export function inFlightEmfLine(input: InFlightEmfInput): string {
  for (const [name, value] of [
    ["timestampMs", input.timestampMs],
    ["inFlight", input.inFlight],
    ["maxInFlight", input.maxInFlight],
  ] as const) {
    if (!Number.isFinite(value))
      throw new RangeError(`${name} must be a finite number, got ${value}`);
  }
  return JSON.stringify({
    _aws: {
      Timestamp: Math.round(input.timestampMs),
      CloudWatchMetrics: [
        {
          Namespace: EMF_NAMESPACE,
          Dimensions: [[...EMF_DIMENSIONS]],
          Metrics: [{ Name: EMF_IN_FLIGHT_METRIC, Unit: "Count", StorageResolution: 60 }],
        },
      ],
    },
    Cluster: input.cluster,
    Api: input.api,
    TaskId: input.taskId,
    // Three decimals are plenty for a target such as 2.5 and keep the line short.
    [EMF_IN_FLIGHT_METRIC]: Math.round(input.inFlight * 1000) / 1000,
    MaxInFlight: input.maxInFlight,
  });
}

/** Where the samples come from: the replica front, or a function with its `inFlightSamples` shape. */
export type InFlightSource =
  | { inFlightSamples(sinceEpochMs?: number): readonly InFlightSample[] }
  | ((sinceEpochMs: number) => readonly InFlightSample[]);

export interface InFlightPublisherOptions {
  replica: InFlightSource;
  cluster: string;
  api: string;
  taskId: string;
  /** Milliseconds between lines (default 10 s); a whole number of seconds dividing a minute. */
  intervalMs?: number;
  /** Writes one line (no newline): the entrypoint writes it to stdout. */
  write: (line: string) => void;
  /** Epoch milliseconds (default `Date.now`); tests pass a fake clock. */
  now?: () => number;
}

/**
 * Writes one EMF line per interval with the average and the maximum of the in-flight samples taken
 * in it. Intervals end on wall-clock multiples of the interval (…:00, :10, :20 …), so none
 * straddles a minute. An interval without samples (the replica not ready yet) writes nothing:
 * a starting task is not a replica at 0 in flight, and counting it as one would pull the average
 * down. Best effort: a failing read or write skips that interval and never reaches a request.
 */
export class InFlightPublisher {
  readonly #options: InFlightPublisherOptions;
  readonly #intervalMs: number;
  readonly #now: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #from = 0;
  #running = false;

  constructor(options: InFlightPublisherOptions) {
    const intervalMs = options.intervalMs ?? DEFAULT_EMF_INTERVAL_MS;
    if (!Number.isInteger(intervalMs / 1000) || intervalMs <= 0 || 60_000 % intervalMs !== 0) {
      throw new RangeError(
        `intervalMs must be a whole number of seconds dividing a minute (1000, 2000, 5000, 10000, … 60000), got ${intervalMs}`,
      );
    }
    this.#options = options;
    this.#intervalMs = intervalMs;
    this.#now = options.now ?? Date.now;
  }

  /** Starts publishing (again, after `stop`); a second call while running does nothing. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#from = this.#now();
    this.#schedule();
  }

  /** Stops: no line is written after it returns (the interval in progress is dropped). */
  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    const now = this.#now();
    const end = now - (now % this.#intervalMs) + this.#intervalMs;
    this.#timer = setTimeout(() => this.#publish(end), end - now);
    // The publisher never keeps a draining process alive.
    this.#timer.unref?.();
  }

  #publish(end: number): void {
    if (!this.#running) return;
    const from = this.#from;
    this.#from = end;
    try {
      const line = this.#line(from, end);
      if (line !== undefined) this.#options.write(line);
    } catch {
      // Best effort (see the class comment): the next interval tries again.
    }
    this.#schedule();
  }

  #line(from: number, end: number): string | undefined {
    const source = this.#options.replica;
    const samples = typeof source === "function" ? source(from) : source.inFlightSamples(from);
    let sum = 0;
    let max = 0;
    let count = 0;
    for (const sample of samples) {
      // [from, end): a sample taken exactly at a boundary counts once, whichever timer ran first.
      if (sample.at < from || sample.at >= end) continue;
      sum += sample.value;
      if (sample.value > max) max = sample.value;
      count++;
    }
    if (count === 0) return undefined;
    return inFlightEmfLine({
      cluster: this.#options.cluster,
      api: this.#options.api,
      taskId: this.#options.taskId,
      timestampMs: from,
      inFlight: sum / count,
      maxInFlight: max,
    });
  }
}

/** Who publishes: the metric's `Cluster` dimension and the `TaskId` property. */
export interface MetricIdentity {
  cluster: string;
  taskId: string;
  /** The task definition revision the task runs (from the task metadata), when known. */
  revision?: number;
}

/**
 * The task's identity for the metric, read once at start (never per request): the ECS task
 * metadata endpoint's `/task` document (`Cluster`, `TaskARN`; its last segment is the task id, as
 * in the awslogs stream name) when `metadataUri` is set; `clusterName` overrides the cluster, and
 * the hostname stands in for a task id the metadata did not give.
 *
 * @throws Error saying why no cluster name is known (no metadata answer and no `clusterName`)
 */
export async function resolveMetricIdentity(options: {
  /** `ECS_CONTAINER_METADATA_URI_V4`, set by the ECS agent in every container. */
  metadataUri?: string;
  clusterName?: string;
  hostname: string;
  fetch?: typeof fetch;
  /** How long the metadata may take (default 2 s; it answers in milliseconds). */
  timeoutMs?: number;
}): Promise<MetricIdentity> {
  let cluster = options.clusterName;
  let taskId: string | undefined;
  let revision: number | undefined;
  let problem = "";
  if (options.metadataUri !== undefined) {
    try {
      const response = await (options.fetch ?? fetch)(`${options.metadataUri}/task`, {
        signal: AbortSignal.timeout(options.timeoutMs ?? 2_000),
      });
      if (!response.ok) throw new Error(`it answered HTTP ${response.status}`);
      const task = (await response.json()) as {
        Cluster?: unknown;
        TaskARN?: unknown;
        Revision?: unknown;
      };
      const number = Number(task.Revision);
      if (Number.isInteger(number) && number > 0) revision = number;
      if (typeof task.TaskARN === "string" && task.TaskARN !== "")
        taskId = lastSegment(task.TaskARN);
      if (cluster === undefined && typeof task.Cluster === "string" && task.Cluster !== "")
        cluster = lastSegment(task.Cluster);
    } catch (error) {
      problem = `: the task metadata (${options.metadataUri}/task) could not be read (${error instanceof Error ? error.message : String(error)})`;
    }
  }
  if (cluster === undefined) {
    throw new Error(`no cluster name for the metric's Cluster dimension${problem}`);
  }
  return {
    cluster,
    taskId: taskId ?? options.hostname,
    ...(revision === undefined ? {} : { revision }),
  };
}

/** `arn:aws:ecs:…:cluster/axon-demo` → `axon-demo`; a plain name stays itself. */
function lastSegment(arnOrName: string): string {
  return arnOrName.slice(arnOrName.lastIndexOf("/") + 1);
}
