/**
 * `axon-replica`: the ECS container's entrypoint (decision 4: the same replica front that serves
 * locally, placed in a container). It reads its inputs from the environment (`replica-env.ts`),
 * listens on the task's port at once, downloads the API's bundle from the cluster bucket by hash
 * (verified), unpacks it with the bundle store's checks, gets the project's Python environment
 * (from the cluster bucket when a task built it before, else built and stored there:
 * `python-environment.ts`), and serves the API's endpoint: `POST <endpoint>` → the replica;
 * `GET /healthz` → 200 once ready, 503 while starting or draining (readiness: the target group's
 * health check); `GET /livez` → 200 while the process is up, starting included (liveness: the
 * container's health check, which must not kill a task that is still downloading its environment). SIGTERM drains: health says 503,
 * requests in flight finish within `predictor.timeout`, then it exits 0. On ECS it also writes the
 * in-flight metric as EMF lines (`replica/emf-metrics.ts`) that the API's scaling policy reads.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { canonicalizeEndpoint, type ApiSpec } from "@axon/config";
import {
  DEFAULT_ARCHIVE_LIMITS,
  extractArchive,
  inspectArchive,
} from "../bundles/archive-check.js";
import type { S3Port } from "../providers/aws/sdk.js";
import {
  InFlightPublisher,
  resolveMetricIdentity,
  type MetricIdentity,
} from "../replica/emf-metrics.js";
import { PredictionPublisher } from "../replica/prediction-lines.js";
import { FrontServer, Replica, type FrontRequest, type Responder } from "../replica/index.js";
import { replicaOptionsFromSpec } from "../replica/spec-options.js";
import { ApiKeyGuard, RefreshingKeySource } from "../replica/api-keys.js";
import { readApiKeys } from "../providers/aws/api-keys.js";
import { KeyUsageReporter, resolveTaskId } from "./key-usage-reporter.js";
import { prepareEnvironment } from "./python-environment.js";
import { bundleKey, ECS_METADATA_ENV, REPLICA_ENV } from "../providers/aws/replica-env.js";

/** What the entrypoint reports while it starts and stops (its owner prints it). */
export type ReplicaEntrypointLog = (message: string) => void;

/** The inputs, parsed from the environment. */
export interface ReplicaInputs {
  apiName: string;
  spec: ApiSpec;
  bucket: string;
  bundleSha256: string;
  port: number;
  workDir: string;
  python: string;
  /** Absent: the workers' output is copied to this process's stdout. */
  logFile?: string;
  /** Present when the in-flight metric is published (on ECS, or `AXON_IN_FLIGHT_METRIC=on`). */
  inFlightMetric?: { metadataUri?: string; clusterName?: string };
  /** How often the key hashes are re-read when the API requires keys (default 30 s). */
  keyRefreshMs?: number;
  /** How often the per-key counts are written to the bucket, at most (default 60 s). */
  keyUsageReportMs?: number;
  /** `ECS_CONTAINER_METADATA_URI_V4`: where the task id is read (usage reports are named by it). */
  taskMetadataUri?: string;
}

/** A problem with the container's inputs: names the variable and what to set. */
export class ReplicaInputError extends Error {
  override readonly name = "ReplicaInputError";
}

/** Reads and checks the inputs; every problem names its variable. */
export function readReplicaInputs(env: NodeJS.ProcessEnv): ReplicaInputs {
  const required = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === "") {
      throw new ReplicaInputError(`${name} is not set: the task definition must set it`);
    }
    return value;
  };
  let spec: ApiSpec;
  try {
    spec = JSON.parse(required(REPLICA_ENV.spec)) as ApiSpec;
  } catch (error) {
    if (error instanceof ReplicaInputError) throw error;
    throw new ReplicaInputError(`${REPLICA_ENV.spec} is not JSON: ${(error as Error).message}`);
  }
  if (typeof spec.predictor?.path !== "string") {
    throw new ReplicaInputError(
      `${REPLICA_ENV.spec} has no predictor.path: it must be a resolved ApiSpec`,
    );
  }
  const sha = required(REPLICA_ENV.bundle);
  if (!/^[0-9a-f]{64}$/.test(sha)) {
    throw new ReplicaInputError(`${REPLICA_ENV.bundle} must be a sha256 hex digest (got "${sha}")`);
  }
  const port = Number(env[REPLICA_ENV.port] ?? "8080");
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ReplicaInputError(
      `${REPLICA_ENV.port} must be a TCP port (got "${env[REPLICA_ENV.port] ?? ""}")`,
    );
  }
  const metricSetting = env[REPLICA_ENV.inFlightMetric];
  if (metricSetting !== undefined && metricSetting !== "on" && metricSetting !== "off") {
    throw new ReplicaInputError(
      `${REPLICA_ENV.inFlightMetric} must be on or off (got "${metricSetting}")`,
    );
  }
  const refreshSetting = env[REPLICA_ENV.keyRefreshMs];
  const keyRefreshMs = refreshSetting === undefined ? undefined : Number(refreshSetting);
  if (keyRefreshMs !== undefined && !(Number.isInteger(keyRefreshMs) && keyRefreshMs >= 100)) {
    throw new ReplicaInputError(
      `${REPLICA_ENV.keyRefreshMs} must be a number of milliseconds, at least 100 (got "${refreshSetting ?? ""}")`,
    );
  }
  const usageSetting = env[REPLICA_ENV.keyUsageReportMs];
  const keyUsageReportMs = usageSetting === undefined ? undefined : Number(usageSetting);
  if (
    keyUsageReportMs !== undefined &&
    !(Number.isInteger(keyUsageReportMs) && keyUsageReportMs >= 100)
  ) {
    throw new ReplicaInputError(
      `${REPLICA_ENV.keyUsageReportMs} must be a number of milliseconds, at least 100 (got "${usageSetting ?? ""}")`,
    );
  }
  const metadataUri = env[ECS_METADATA_ENV] || undefined;
  const clusterName = env[REPLICA_ENV.clusterName] || undefined;
  const publishes =
    metricSetting === "on" || (metricSetting === undefined && metadataUri !== undefined);
  return {
    apiName: required(REPLICA_ENV.apiName),
    spec,
    bucket: required(REPLICA_ENV.bucket),
    bundleSha256: sha,
    port,
    workDir: env[REPLICA_ENV.workDir] ?? "/var/lib/axon",
    python: env[REPLICA_ENV.python] ?? "python3",
    ...(env[REPLICA_ENV.logFile] === undefined ? {} : { logFile: env[REPLICA_ENV.logFile] }),
    ...(keyRefreshMs === undefined ? {} : { keyRefreshMs }),
    ...(keyUsageReportMs === undefined ? {} : { keyUsageReportMs }),
    ...(metadataUri === undefined ? {} : { taskMetadataUri: metadataUri }),
    ...(publishes
      ? {
          inFlightMetric: {
            ...(metadataUri === undefined ? {} : { metadataUri }),
            ...(clusterName === undefined ? {} : { clusterName }),
          },
        }
      : {}),
  };
}

/** A running replica container: its port, and how to drain it. */
export interface RunningReplica {
  port: number;
  /** Drains (health 503, in-flight requests finish) and stops; resolves when everything is closed. */
  drain(): Promise<void>;
  /** Resolves if the replica fails after it was ready (a worker died and was not replaced). */
  failed: Promise<string>;
}

/** Fetches the bundle, builds the environment, starts the replica and serves it. */
export async function startReplicaContainer(
  inputs: ReplicaInputs,
  deps: {
    s3: S3Port;
    log: ReplicaEntrypointLog;
    host?: string;
    /** Writes one in-flight metric line (EMF, no newline); the owner puts it on stdout. */
    writeMetricLine?: (line: string) => void;
    /** Aborted when the container is stopped while it starts: build steps are ended. */
    signal?: AbortSignal;
  },
): Promise<RunningReplica> {
  // Read while the project downloads: the metadata answers long before the replica is ready.
  const identity =
    inputs.inFlightMetric === undefined || deps.writeMetricLine === undefined
      ? undefined
      : resolveMetricIdentity({ ...inputs.inFlightMetric, hostname: os.hostname() }).catch(
          (error: unknown) => (error instanceof Error ? error.message : String(error)),
        );
  const spec = inputs.spec;
  const endpoint = canonicalizeEndpoint(spec.networking.endpoint ?? `/${inputs.apiName}`);
  // The replica exists once the project and its environment are in place; until then the front
  // already listens, so the container's liveness check (/livez) sees a task making progress.
  let replica: Replica | undefined;
  let phase: "downloading" | "environment" | "starting" | "ready" | "draining" = "downloading";
  // Request ids: unique per container and cheap (as the local gateway makes them).
  const idPrefix = randomBytes(6).toString("hex");
  let requests = 0;
  const nextRequestId = (): string => `${idPrefix}-${(++requests).toString(36)}`;
  // `networking.auth: api_key`: the same guard as the local gateway's, fed from the bucket every
  // 30 s. Until the first read is in, every request is refused (the replica is not ready then
  // anyway); a failed read keeps the last set.
  const keys = spec.networking.auth === "api_key" ? startKeySource(inputs, deps) : undefined;
  // The name of this task's key usage report, read while the project downloads.
  const taskId = keys === undefined ? undefined : resolveTaskId(inputs.taskMetadataUri);
  /** Answers what is not a prediction from the request's head; false for a POST to the endpoint. */
  const answeredFromHead = (
    method: string,
    url: string,
    rawHeaders: readonly string[],
    responder: Responder,
  ): boolean => {
    const pathname = url.split("?")[0] ?? "";
    const json = (status: number, body: unknown): true => {
      responder.send(status, ["content-type", "application/json"], JSON.stringify(body));
      return true;
    };
    // Readiness, the load balancer's health check: 200 only when predictions can be served.
    if (pathname === "/healthz") {
      if (phase === "draining") return json(503, { status: "draining" });
      const state = replica?.state ?? phase;
      return json(state === "ready" ? 200 : 503, { status: state });
    }
    // Liveness, the container's health check: this process answers, whatever it is doing. A long
    // environment download or predictor load is progress, not a reason to replace the task
    // (finding 8); a failed start ends the process, which ECS sees without a health check.
    if (pathname === "/livez") return json(200, { status: replica?.state ?? phase });
    if (pathname !== endpoint) return json(404, { message: `no api at ${pathname}` });
    if (
      keys !== undefined &&
      keys.guard.admit(rawHeaders, responder, nextRequestId()) === undefined
    ) {
      return true;
    }
    if (method === "POST") {
      if (replica !== undefined) return false;
      return json(503, { message: `the replica is not ready yet (${phase})` });
    }
    return json(method === "GET" || method === "HEAD" ? 200 : 405, {
      message: "make a prediction by sending a POST request to this endpoint with a JSON payload",
    });
  };
  const server = new FrontServer({
    handler: (request: FrontRequest, responder: Responder) => {
      if (!answeredFromHead(request.method, request.url, request.rawHeaders, responder))
        replica?.serve(request, responder, nextRequestId());
    },
    // A body still to arrive is read only once the replica has room for it (admission first).
    admitBody: (head, responder) =>
      answeredFromHead(head.method, head.url, head.rawHeaders, responder) || replica === undefined
        ? null
        : replica.admitBody(responder, nextRequestId()),
  });
  const port = await server.listen(inputs.port, deps.host ?? "0.0.0.0");
  deps.log(`listening on port ${port}`);

  const fromSpec = replicaOptionsFromSpec(spec);
  const timeoutMs = fromSpec.timeoutMs;
  let logs: { file: string; stop: () => void } | undefined;
  try {
    const environment = await prepareProject(inputs, deps, () => {
      phase = "environment";
    });
    phase = "starting";
    logs = await workerLogs(inputs);
    replica = Replica.start({
      ...fromSpec,
      id: "r-0",
      apiName: inputs.apiName,
      projectDir: environment.projectDir,
      env: spec.predictor.env,
      python: environment.python,
      runDir: environment.runDir,
      logFile: logs.file,
    });
    deps.log(`starting ${spec.predictor.processes_per_replica} worker process(es)`);
    await replica.ready;
    phase = "ready";
  } catch (error) {
    // Nothing may be left running: the process exits and ECS replaces the task.
    keys?.source.stop();
    await replica?.stop(0).catch(() => undefined);
    await server.close().catch(() => undefined);
    logs?.stop();
    throw error;
  }
  const started = replica;
  const workerLog = logs;
  deps.log(`ready: POST ${endpoint}`);
  const publisher = await startInFlightMetric(inputs, started, identity, deps);
  // Per-key counts for `axon keys list --env` (key-usage-reporter.ts).
  const usage =
    keys === undefined || taskId === undefined
      ? undefined
      : new KeyUsageReporter({
          guard: keys.guard,
          s3: deps.s3,
          bucket: inputs.bucket,
          api: inputs.apiName,
          taskId: await taskId,
          log: deps.log,
          ...(inputs.keyUsageReportMs === undefined ? {} : { intervalMs: inputs.keyUsageReportMs }),
        });
  usage?.start();
  const predictions = await startPredictionLines(inputs, spec, started, identity, deps);
  const failed = new Promise<string>((resolve) => {
    started.onExit((info) => {
      if (phase !== "draining") resolve(info.message);
    });
  });
  return {
    port,
    failed,
    drain: async () => {
      phase = "draining";
      // A draining task is leaving: its falling count must not pull the API's average down.
      publisher?.stop();
      deps.log(`draining: requests in flight get up to ${Math.round(timeoutMs / 1000)}s`);
      await started.stop(timeoutMs);
      // The last answers' tally, before the task is gone.
      predictions?.stop();
      await server.close();
      keys?.source.stop();
      // The counts of the last requests, so a task's total is not lost with it.
      await usage?.stop();
      deps.log("stopped");
      workerLog.stop();
    },
  };
}

/** The API's key guard and the source that re-reads its hashes from the cluster bucket. */
function startKeySource(
  inputs: ReplicaInputs,
  deps: { s3: S3Port; log: ReplicaEntrypointLog },
): { guard: ApiKeyGuard; source: RefreshingKeySource } {
  let source: RefreshingKeySource | undefined;
  const guard = new ApiKeyGuard({
    apiName: inputs.apiName,
    log: deps.log,
    // A key made a moment ago: read again now rather than at the next 30 s tick.
    onUnknownKey: () => void source?.refresh(),
  });
  let lastError = "";
  source = new RefreshingKeySource({
    guard,
    // The task role may not list the bucket: a missing key set answers AccessDenied (no keys yet).
    load: () => readApiKeys(deps.s3, inputs.bucket, inputs.apiName, { missingAsDenied: true }),
    ...(inputs.keyRefreshMs === undefined ? {} : { intervalMs: inputs.keyRefreshMs }),
    onError: (error) => {
      const message = error instanceof Error ? error.message : String(error);
      // Once per distinct failure, not every 30 s.
      if (message === lastError) return;
      lastError = message;
      deps.log(`reading the API keys failed (the last ones read stay in force): ${message}`);
    },
  });
  void source.start();
  return { guard, source };
}

/**
 * Prints the replica's prediction tally every minute (prediction monitoring, `replica/
 * prediction-lines.ts`) when the API has `monitoring` and the container writes metric lines.
 */
async function startPredictionLines(
  inputs: ReplicaInputs,
  spec: ApiSpec,
  replica: Replica,
  identity: Promise<MetricIdentity | string> | undefined,
  deps: { writeMetricLine?: (line: string) => void },
): Promise<PredictionPublisher | undefined> {
  const write = deps.writeMetricLine;
  if (write === undefined || spec.monitoring === null || spec.monitoring.model_type === null)
    return undefined;
  const resolved = identity === undefined ? undefined : await identity;
  const publisher = new PredictionPublisher({
    drain: () => replica.drainPredictions(),
    api: inputs.apiName,
    task: typeof resolved === "object" ? resolved.taskId : os.hostname(),
    ...(typeof resolved === "object" && resolved.revision !== undefined
      ? { revision: resolved.revision }
      : {}),
    write,
  });
  publisher.start();
  return publisher;
}

/** Starts the in-flight metric once the replica is ready; undefined when it is off. */
async function startInFlightMetric(
  inputs: ReplicaInputs,
  replica: Replica,
  identity: Promise<MetricIdentity | string> | undefined,
  deps: { log: ReplicaEntrypointLog; writeMetricLine?: (line: string) => void },
): Promise<InFlightPublisher | undefined> {
  const write = deps.writeMetricLine;
  if (identity === undefined || write === undefined) return undefined;
  const resolved = await identity;
  if (typeof resolved === "string") {
    deps.log(
      `in-flight metric off: ${resolved}; the API does not autoscale from this task (set ${REPLICA_ENV.clusterName})`,
    );
    return undefined;
  }
  const publisher = new InFlightPublisher({
    replica,
    cluster: resolved.cluster,
    api: inputs.apiName,
    taskId: resolved.taskId,
    write,
  });
  publisher.start();
  deps.log(
    `in-flight metric on: Axon/InFlightRequests, Cluster ${resolved.cluster}, Api ${inputs.apiName}`,
  );
  return publisher;
}

/** Where a container's project and run folder are, and the interpreter that runs its workers. */
export interface PreparedProject {
  projectDir: string;
  runDir: string;
  python: string;
}

/**
 * The steps a container of either mode takes before its workers start: the bundle downloaded by
 * hash and unpacked, the project's Python environment fetched or built, the run folder made.
 */
export async function prepareProject(
  inputs: Pick<ReplicaInputs, "bucket" | "bundleSha256" | "workDir" | "python">,
  deps: { s3: S3Port; log: ReplicaEntrypointLog; signal?: AbortSignal },
  onEnvironment: () => void = () => undefined,
): Promise<PreparedProject> {
  const projectDir = path.join(inputs.workDir, "project");
  const runDir = path.join(inputs.workDir, "run");
  await fetchProject(inputs, deps, projectDir);
  onEnvironment();
  const environment = await prepareEnvironment(
    { projectDir, workDir: inputs.workDir, basePython: inputs.python, bucket: inputs.bucket },
    deps,
  );
  deps.signal?.throwIfAborted();
  await mkdir(runDir, { recursive: true });
  return { projectDir, runDir, python: environment.python };
}

async function fetchProject(
  inputs: Pick<ReplicaInputs, "bucket" | "bundleSha256" | "workDir">,
  deps: { s3: S3Port; log: ReplicaEntrypointLog },
  projectDir: string,
): Promise<void> {
  const key = bundleKey(inputs.bundleSha256);
  deps.log(`downloading s3://${inputs.bucket}/${key}`);
  const bytes = await deps.s3.getObjectBytes({ Bucket: inputs.bucket, Key: key });
  const actual = createHash("sha256").update(bytes).digest("hex");
  if (actual !== inputs.bundleSha256) {
    throw new ReplicaInputError(
      `s3://${inputs.bucket}/${key} hashes to ${actual}, not ${inputs.bundleSha256}: the bundle was changed or corrupted; deploy again`,
    );
  }
  await mkdir(inputs.workDir, { recursive: true });
  const archive = path.join(inputs.workDir, "bundle.tar.gz");
  await writeFile(archive, bytes);
  await rm(projectDir, { recursive: true, force: true });
  await mkdir(projectDir, { recursive: true });
  await inspectArchive(archive, DEFAULT_ARCHIVE_LIMITS);
  await extractArchive(archive, projectDir, DEFAULT_ARCHIVE_LIMITS);
  deps.log(`project unpacked (${bytes.length} bytes)`);
}

/**
 * Where the workers write. Given `AXON_LOG_FILE`, that file; else a file in the work folder that
 * `tail -F` copies to this process's stdout (which awslogs ships): the worker pool appends to a
 * path, and `/dev/stdout` cannot be opened when stdout is a socket.
 */
export async function workerLogs(
  inputs: Pick<ReplicaInputs, "logFile" | "workDir">,
): Promise<{ file: string; stop: () => void }> {
  if (inputs.logFile !== undefined) return { file: inputs.logFile, stop: () => undefined };
  const file = path.join(inputs.workDir, "workers.log");
  await writeFile(file, "");
  // --pid: tail copies what is left and exits once this process is gone, however it ends.
  const tail = spawn("tail", ["-n", "+1", "-F", `--pid=${process.pid}`, file], {
    stdio: ["ignore", "inherit", "ignore"],
  });
  tail.once("error", () => undefined);
  return {
    file,
    stop: () => {
      // A drained replica is followed by its process's exit, which ends tail (see --pid).
      tail.unref();
    },
  };
}
