/**
 * Batch jobs on the local engine (issue 32): a submitted job's batches go to the durable queue
 * (`job-store.ts`) in one transaction, then `workers` Python batch workers — started by the local
 * provider as a replica's workers are — drain it through the shared loop (`batch-worker.ts`) and
 * exit. The engine's verbs (`LocalEngine.submitJob` …) and the gateway's data plane (Cortex's
 * `POST <endpoint>`, `GET|DELETE <endpoint>/<job_id>`) both call this one object.
 *
 * Decisions recorded here:
 * - **A job survives the daemon.** Its batches and status are in the state database; at start,
 *   every job not over has its leases put back at once (no worker of a dead daemon is alive: the
 *   provider stopped them as orphans) and runs again with the API as it was when submitted.
 * - **A daemon that stops leaves its jobs running** (status unchanged) for the next start; a
 *   job ends only drained, stopped, or with no worker able to run.
 * - **Logs**: each job's workers write to a log of its own (`<api>.job-<id>.log`, `axon logs
 *   <api> <job>`); the API's log gets the job's lifecycle lines, each naming the job.
 */
import { appendFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import type {
  ApiPreview,
  BatchApiSummary,
  DeployResult,
  BatchJobList,
  BatchJobResponse,
  BatchJobSpec,
  BatchJobStatus,
  BatchJobStopped,
  BatchJobSubmission,
  BatchWorkerCounts,
} from "../contract/index.js";
import { API_NOT_FOUND, DomainError, JOB_INVALID, JOB_NOT_FOUND } from "../errors.js";
import { formatLogTime } from "../events/log-line.js";
import type { LogSource } from "../providers/provider.js";
import type { BatchWorkerLaunch } from "../providers/local/local-provider.js";
import {
  runBatchWorker,
  type BatchPredictor,
  type BatchWorkerEvent,
  type BatchWorkerSummary,
} from "./batch-worker.js";
import {
  DEFAULT_JOB_RETRIES,
  DEFAULT_JOB_TIMEOUT_SECONDS,
  jobBatches,
  validateSubmission,
} from "./job-submission.js";
import { jobQueueSource, type JobQueueEvent } from "./job-queue-source.js";
import {
  isTerminal,
  type BatchApiRecord,
  type BatchJobRecord,
  type BatchJobStore,
} from "./job-store.js";
import { PythonBatchWorker } from "./python-batch-worker.js";
import type { S3ItemsPort } from "../providers/aws/s3-items.js";
import { batchDataPlane } from "./batch-data-plane.js";
import type { BatchRouteHandler } from "../providers/local/gateway.js";
import { batchApiPreview, changedFields } from "../services/spec-changes.js";
import type { PlannedBatchApi } from "../services/deploy-plan.js";
import type { Artifact } from "../state/store.js";

/**
 * Bytes of `AXON_PREDICTOR_CONFIG=<merged config>`: Linux refuses a longer environment string
 * (execve(2), MAX_ARG_STRLEN: https://man7.org/linux/man-pages/man2/execve.2.html).
 */
const MAX_CONFIG_ENV_BYTES = 131_072;

/** Where a job's log lines go and are read from (the local provider's `ApiLogs`). */
export interface JobLogFiles extends LogSource {
  fileFor(name: string): string;
  remove(name: string): void;
}

export interface LocalBatchJobsDeps {
  store: BatchJobStore;
  /** How a job's worker is started (`LocalProvider.batchWorkerLaunch`). */
  launch(request: {
    apiName: string;
    workerId: string;
    spec: BatchApiRecord["spec"];
    bundle: string;
    artifact: BatchApiRecord["artifact"];
    secretEnv: Record<string, string>;
    logFile: string;
    outputDir: string;
  }): Promise<BatchWorkerLaunch>;
  /**
   * Keeps a bundle from the bundle store's garbage collection until the returned function is
   * called (`BundleStore.hold`): the store counts only realtime versions as references.
   */
  holdBundle?(sha256: string): () => void;
  /** A job's output folder (`$AXON_HOME/batch/<api>/<job_id>`), writable by its workers. */
  outputDir(apiName: string, jobId: string): string;
  logs: JobLogFiles;
  /** The API's forwarded credentials (`SecretStore.get`). */
  secretEnv(apiName: string): Record<string, string>;
  /**
   * The S3 client an API's jobs list `file_path_lister` / `delimited_files` with: the API's
   * forwarded AWS settings (`AWS_ENDPOINT_URL` included), else the daemon's default chain.
   * Without it those sources are refused (501).
   */
  s3?(apiName: string): Promise<S3ItemsPort>;
  /** The full URL of an endpoint path (`Provider.endpointUrl`). */
  endpointUrl(endpoint: string): string;
  /** Where the engine serves Cortex's job endpoints (the local gateway). */
  routes: {
    setBatchRoute(name: string, endpoint: string, handler: BatchRouteHandler): void;
    removeBatchRoute(name: string): void;
  };
  now?: () => Date;
}

/** What a deploy of batch APIs was made from (the deploy request and its prepared artifact). */
export interface BatchDeploySource {
  bundle: string;
  artifact: Artifact;
  configFileName: string;
  projectPath: string | null;
  /** Whether the forwarded credentials differ from those the API has (a new version then). */
  credentialsChanged?: (apiName: string) => boolean;
}

type WorkerState = "initializing" | "running" | "succeeded" | "failed";

/** A job whose workers run in this daemon now. */
interface RunningJob {
  abort: AbortController;
  workers: PythonBatchWorker[];
  states: WorkerState[];
  done: Promise<void>;
  /** Set when the kernel killed a worker for its memory (`compute.mem`): the job may end OOM. */
  outOfMemory?: string;
}

/** The local engine's batch jobs; one per daemon (see the module comment). */
export class LocalBatchJobs {
  readonly #deps: LocalBatchJobsDeps;
  readonly #running = new Map<string, RunningJob>();
  /** Jobs whose items are being listed from S3 now, to cut the listing short. */
  readonly #enqueuing = new Map<string, AbortController>();
  /** The bundle hold of each deployed BatchAPI's version (released when it changes or goes). */
  readonly #apiHolds = new Map<string, () => void>();
  #stopping = false;

  constructor(deps: LocalBatchJobsDeps) {
    this.#deps = deps;
  }

  /** Whether a BatchAPI of that name is deployed. */
  has(name: string): boolean {
    return this.#deps.store.getApi(name) !== undefined;
  }

  /** The deployed BatchAPIs (records as stored). */
  apis(): BatchApiRecord[] {
    return this.#deps.store.listApis();
  }

  /**
   * Records the config's BatchAPIs: a new version when the spec, the code or the environment
   * changed (running jobs keep the version they were submitted with), and serves their endpoints.
   */
  deploy(planned: readonly PlannedBatchApi[], source: BatchDeploySource): DeployResult[] {
    const { store } = this.#deps;
    return planned.map(({ spec, hash }) => {
      const existing = store.getApi(spec.name);
      const endpoint = this.#deps.endpointUrl(spec.networking.endpoint);
      const kind = "BatchAPI";
      const changed =
        existing === undefined ||
        existing.specHash !== hash ||
        existing.bundle !== source.bundle ||
        JSON.stringify(existing.artifact) !== JSON.stringify(source.artifact) ||
        source.credentialsChanged?.(spec.name) === true;
      if (!changed) {
        this.#route(existing);
        return {
          api: spec.name,
          kind,
          outcome: "unchanged",
          message: `${spec.name} (${kind}) is up to date`,
          endpoint,
        };
      }
      const now = this.#now().toISOString();
      const record: BatchApiRecord = {
        name: spec.name,
        versionId: `v-${Date.now().toString(36)}-${hash.slice(0, 6)}`,
        spec,
        specHash: hash,
        bundle: source.bundle,
        artifact: source.artifact,
        configFile: source.configFileName,
        projectPath: source.projectPath,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      store.putApi(record);
      this.#route(record);
      const outcome = existing === undefined ? "created" : "updated";
      return {
        api: spec.name,
        kind,
        outcome,
        message: `${outcome === "created" ? "created" : "updated"} ${spec.name} (${kind}); submit jobs with POST ${endpoint}`,
        endpoint,
      };
    });
  }

  /** What `deploy` would do to each planned BatchAPI (`deploy --plan`): reads only. */
  preview(
    planned: readonly PlannedBatchApi[],
    bundle: string,
    artifact: Artifact | undefined,
  ): ApiPreview[] {
    return planned.map(({ spec, hash }) => {
      const existing = this.#deps.store.getApi(spec.name);
      const codeChanged = existing !== undefined && existing.bundle !== bundle;
      const environmentChanged =
        existing !== undefined &&
        artifact !== undefined &&
        JSON.stringify(existing.artifact) !== JSON.stringify(artifact);
      return batchApiPreview(
        spec,
        existing === undefined
          ? undefined
          : {
              version: existing.versionId,
              changed: existing.specHash !== hash || codeChanged || environmentChanged,
              codeChanged,
              fields: changedFields(existing.spec, spec),
            },
        {
          idle: "a BatchAPI runs no replica: each job starts its own workers",
          applied: "jobs submitted from now on use the new version",
        },
      );
    });
  }

  /** Serves every deployed BatchAPI's job endpoints (at the daemon's start). */
  routeAll(): void {
    for (const api of this.#deps.store.listApis()) this.#route(api);
  }

  /**
   * The artifacts (Python environments) deployed BatchAPIs and unfinished jobs run with, for the
   * provider's garbage collection (which otherwise sees realtime versions only).
   */
  artifactsInUse(): Artifact[] {
    const { store } = this.#deps;
    return [
      ...store.listApis().map((api) => api.artifact),
      ...store.listUnfinishedJobs().map((job) => job.api.artifact),
    ];
  }

  #route(api: BatchApiRecord): void {
    const release = this.#deps.holdBundle?.(api.bundle);
    this.#apiHolds.get(api.name)?.();
    if (release === undefined) this.#apiHolds.delete(api.name);
    else this.#apiHolds.set(api.name, release);
    this.#deps.routes.setBatchRoute(
      api.name,
      api.spec.networking.endpoint,
      batchDataPlane(api.name, {
        submitJob: (name, submission) => this.submit(name, submission),
        listJobs: async (name) => this.list(name),
        getJob: async (name, jobId) => this.get(name, jobId),
        stopJob: (name, jobId) => this.stop(name, jobId),
      }),
    );
  }

  /** The deployed BatchAPIs as `axon get` lists them. */
  summaries(): BatchApiSummary[] {
    const { store } = this.#deps;
    return store.listApis().map((api) => {
      const jobs = store.listJobs(api.name);
      const latest = jobs[0];
      return {
        name: api.name,
        kind: "BatchAPI",
        endpoint: this.#deps.endpointUrl(api.spec.networking.endpoint),
        lastUpdated: api.updatedAt,
        runningJobs: jobs.filter((job) => !isTerminal(job.status)).length,
        ...(latest === undefined ? {} : { latestJobId: latest.spec.job_id }),
      };
    });
  }

  /**
   * Starts a job. An item list's batches are queued before this returns and its workers start
   * after. An S3 source is listed after this returns, as Cortex did: the job is recorded
   * `status_enqueuing` first (a listing of many objects takes a while, and a submitter should not
   * hold a request open for it), then gets its batches and runs, or ends `status_enqueue_failed`
   * with the reason (nothing matched, S3 refused, a bad line) in its `status_message`.
   */
  async submit(apiName: string, body: BatchJobSubmission): Promise<BatchJobSpec> {
    const api = this.#requireApi(apiName);
    const submission = validateSubmission(body);
    const config = { ...api.spec.predictor.config, ...submission.config };
    const configBytes = Buffer.byteLength(`AXON_PREDICTOR_CONFIG=${JSON.stringify(config)}`) + 1;
    if (configBytes > MAX_CONFIG_ENV_BYTES) {
      throw new DomainError(
        JOB_INVALID,
        `invalid job submission: config merged over ${api.name}'s predictor.config is ${configBytes} bytes as JSON, more than the ${MAX_CONFIG_ENV_BYTES} a worker's environment variable may hold`,
        { hint: "put large values in a file of the project and pass its path in config" },
      );
    }
    const now = this.#now();
    const spec: BatchJobRecord["spec"] = {
      job_id: randomBytes(8).toString("hex"),
      api_name: api.name,
      workers: submission.workers,
      config: submission.config ?? {},
      api_id: api.versionId,
      sqs_url: null,
      created_time: now.toISOString(),
      total_batch_count: 0,
      max_retries: submission.max_retries ?? DEFAULT_JOB_RETRIES,
      timeout: submission.timeout ?? DEFAULT_JOB_TIMEOUT_SECONDS,
    };
    if (submission.item_list === undefined) {
      const job: BatchJobRecord = {
        spec,
        api,
        status: "status_enqueuing",
        statusMessage: null,
        stopRequested: false,
        startTime: null,
        endTime: null,
        totalItems: 0,
      };
      this.#deps.store.createJob(job, []);
      const abort = new AbortController();
      this.#enqueuing.set(spec.job_id, abort);
      this.#logApi(job, `job ${spec.job_id} submitted: listing its items from S3`);
      void this.#enqueueFromS3(job, submission, abort.signal)
        .catch((error: unknown) => {
          // The store refused a write (a full disk): said on the job if it still can be.
          const message = error instanceof Error ? error.message : String(error);
          try {
            this.#deps.store.setStatus(
              spec.job_id,
              "status_unexpected_error",
              message,
              this.#now(),
            );
          } catch {
            // Nothing more to record it in; the next start fails the job as cut off.
          }
        })
        .finally(() => this.#enqueuing.delete(spec.job_id));
      // Cortex's answer to an S3 job: the batch count is not known yet.
      const { total_batch_count: _unknown, ...answer } = spec;
      return answer;
    }
    const batches: unknown[][] = [];
    for await (const batch of jobBatches(submission)) batches.push(batch);
    spec.total_batch_count = batches.length;
    const job: BatchJobRecord = {
      spec,
      api,
      status: "status_running",
      statusMessage: null,
      stopRequested: false,
      startTime: now.toISOString(),
      endTime: null,
      totalItems: batches.reduce((sum, batch) => sum + batch.length, 0),
    };
    this.#deps.store.createJob(job, batches);
    this.#logApi(
      job,
      `job ${spec.job_id} submitted: ${batches.length} batches of ${job.totalItems} items, ${spec.workers} workers`,
    );
    this.#start(job);
    return spec;
  }

  /** Lists an S3 job's items, then queues its batches and starts it (see `submit`). */
  async #enqueueFromS3(
    job: BatchJobRecord,
    submission: BatchJobSubmission,
    signal: AbortSignal,
  ): Promise<void> {
    const { store } = this.#deps;
    const jobId = job.spec.job_id;
    const batches: unknown[][] = [];
    try {
      if (this.#deps.s3 === undefined) {
        for await (const batch of jobBatches(submission)) batches.push(batch);
      } else {
        const s3 = await this.#deps.s3(job.api.name);
        for await (const batch of jobBatches(submission, s3, { signal })) batches.push(batch);
      }
    } catch (error) {
      if (signal.aborted) return; // stopped, deleted, or the daemon is stopping: said there
      const message = describeEnqueueError(error);
      store.setStatus(jobId, "status_enqueue_failed", message, this.#now());
      this.#logApi(job, `job ${jobId} could not be enqueued: ${message}`);
      return;
    }
    const started: BatchJobRecord = {
      ...job,
      spec: { ...job.spec, total_batch_count: batches.length },
      status: "status_running",
      startTime: this.#now().toISOString(),
      totalItems: batches.reduce((sum, batch) => sum + batch.length, 0),
    };
    if (signal.aborted || !store.finishEnqueue(started, batches)) return;
    this.#logApi(
      started,
      `job ${jobId} enqueued: ${batches.length} batches of ${started.totalItems} items, ${started.spec.workers} workers`,
    );
    this.#start(started);
  }

  list(apiName: string): BatchJobList {
    const api = this.#requireApi(apiName);
    return {
      api: api.name,
      endpoint: this.#deps.endpointUrl(api.spec.networking.endpoint),
      jobs: this.#deps.store.listJobs(api.name).map((job) => this.#status(job)),
    };
  }

  get(apiName: string, jobId: string): BatchJobResponse {
    const job = this.#requireJob(apiName, jobId);
    return {
      job_status: this.#status(job),
      endpoint: this.#deps.endpointUrl(job.api.spec.networking.endpoint),
    };
  }

  /** Stops a job: no batch is given out any more, and its workers are stopped now. */
  async stop(apiName: string, jobId: string): Promise<BatchJobStopped> {
    const job = this.#requireJob(apiName, jobId);
    if (!isTerminal(job.status)) {
      this.#deps.store.requestStop(jobId);
      this.#enqueuing.get(jobId)?.abort();
      const running = this.#running.get(jobId);
      if (running === undefined) {
        this.#deps.store.setStatus(jobId, "status_stopped", "stopped by a user", this.#now());
      } else {
        running.abort.abort();
        await Promise.all(running.workers.map((worker) => worker.close()));
        await running.done;
      }
    }
    return { message: `stopped job ${jobId}` };
  }

  /** The job's workers' log. */
  logSource(apiName: string, jobId: string): { name: string; source: LogSource } {
    const job = this.#requireJob(apiName, jobId);
    const logs = this.#deps.logs;
    const name = jobLogName(job.spec.api_name, jobId);
    logs.fileFor(name);
    return {
      name: job.spec.api_name,
      source: {
        tail: (_api, lines) => logs.tail(name, lines),
        follow: (_api, position, onData, signal) => logs.follow(name, position, onData, signal),
      },
    };
  }

  /** Stops every job of a BatchAPI being deleted and forgets them with it. */
  async deleteApi(apiName: string): Promise<boolean> {
    const { store, logs } = this.#deps;
    const jobs = store.listJobs(apiName);
    for (const job of jobs) {
      this.#enqueuing.get(job.spec.job_id)?.abort();
      const running = this.#running.get(job.spec.job_id);
      if (running === undefined) continue;
      store.requestStop(job.spec.job_id);
      running.abort.abort();
      await Promise.all(running.workers.map((worker) => worker.close()));
      await running.done;
    }
    for (const job of jobs) logs.remove(jobLogName(apiName, job.spec.job_id));
    this.#deps.routes.removeBatchRoute(apiName);
    this.#apiHolds.get(apiName)?.();
    this.#apiHolds.delete(apiName);
    return store.deleteApi(apiName);
  }

  /** After a (re)start: every job not over runs again, its leases put back at once. */
  resume(): void {
    for (const job of this.#deps.store.listUnfinishedJobs()) {
      if (job.status === "status_enqueuing") {
        // Its listing was cut off and the submission's source is not kept: it cannot go on.
        const message =
          "the control plane stopped while this job's items were being listed from S3; submit the job again";
        this.#deps.store.setStatus(job.spec.job_id, "status_enqueue_failed", message, this.#now());
        this.#logApi(job, `job ${job.spec.job_id} could not be enqueued: ${message}`);
        continue;
      }
      const released = this.#deps.store.releaseAllLeases(job.spec.job_id);
      this.#logApi(
        job,
        `job ${job.spec.job_id} resumed after the control plane restarted` +
          (released > 0 ? ` (${released} batches it had given out are queued again)` : ""),
      );
      this.#start(job);
    }
  }

  /** Stops every worker; jobs stay as they are, to resume at the next start. */
  async shutdown(): Promise<void> {
    this.#stopping = true;
    for (const abort of this.#enqueuing.values()) abort.abort();
    const running = [...this.#running.values()];
    for (const job of running) job.abort.abort();
    await Promise.all(running.flatMap((job) => job.workers.map((worker) => worker.close())));
    await Promise.all(running.map((job) => job.done));
  }

  #start(job: BatchJobRecord): void {
    const abort = new AbortController();
    const count = Math.max(1, Math.min(job.spec.workers, job.spec.total_batch_count));
    const running: RunningJob = {
      abort,
      workers: [],
      states: Array.from({ length: count }, () => "initializing"),
      done: Promise.resolve(),
    };
    this.#running.set(job.spec.job_id, running);
    // The job runs the API as submitted: its project stays while it runs, whatever deploys do.
    const release = this.#deps.holdBundle?.(job.api.bundle);
    running.done = Promise.all(
      Array.from({ length: count }, (_, index) => this.#runWorker(job, running, index)),
    )
      .then((summaries) => this.#finish(job, summaries))
      .catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        this.#deps.store.setStatus(
          job.spec.job_id,
          "status_unexpected_error",
          message,
          this.#now(),
        );
        this.#logApi(job, `job ${job.spec.job_id} failed: ${message}`);
      })
      .finally(() => {
        release?.();
        this.#running.delete(job.spec.job_id);
      });
  }

  /** One worker of a job: started as a replica's worker is, then the shared loop until drained. */
  async #runWorker(
    job: BatchJobRecord,
    running: RunningJob,
    index: number,
  ): Promise<BatchWorkerSummary> {
    const { spec, api } = job;
    const logName = jobLogName(api.name, spec.job_id);
    const logFile = this.#deps.logs.fileFor(logName);
    let launch: BatchWorkerLaunch | undefined;
    let worker: PythonBatchWorker | undefined;
    try {
      launch = await this.#deps.launch({
        apiName: api.name,
        workerId: `${spec.job_id.slice(0, 10)}-w${index}`,
        spec: api.spec,
        bundle: api.bundle,
        artifact: api.artifact,
        secretEnv: this.#deps.secretEnv(api.name),
        logFile,
        outputDir: this.#deps.outputDir(api.name, spec.job_id),
      });
      if (running.abort.signal.aborted) return noWork(running, index);
      const started = launch;
      worker = new PythonBatchWorker({
        ...started.pool,
        config: { ...api.spec.predictor.config, ...spec.config },
        jobSpec: { ...spec, start_time: job.startTime },
        batchTimeoutMs: spec.timeout * 1000,
      });
      running.workers.push(worker);
      worker.start();
      started.recordPids(worker.pids());
      worker.onWorkerReplaced((pids) => started.recordPids(pids));
      worker.ready().then(
        () => {
          if (running.states[index] === "initializing") running.states[index] = "running";
        },
        () => {},
      );
      const summary = await runBatchWorker({
        source: jobQueueSource(this.#deps.store, spec.job_id, {
          leaseSeconds: spec.timeout,
          onOutcome: (event) => this.#onQueueEvent(job, event),
        }),
        predictor: namingOutOfMemory(worker, started, api.spec.compute.mem, running),
        signal: running.abort.signal,
        onEvent: (event) => this.#onWorkerEvent(job, index, event),
      });
      running.states[index] = summary.error === undefined ? "succeeded" : "failed";
      if (summary.error !== undefined) {
        this.#logApi(job, `job ${spec.job_id}: worker ${index} cannot run: ${summary.error}`);
      }
      return summary;
    } catch (error) {
      running.states[index] = "failed";
      const message = error instanceof Error ? error.message : String(error);
      this.#logApi(job, `job ${spec.job_id}: worker ${index} could not be started: ${message}`);
      return { succeeded: 0, failed: 0, released: 0, ranJobComplete: false, error: message };
    } finally {
      await worker?.close();
      await launch?.release();
    }
  }

  /** Every worker of a job ended: records how the job ended (unless the daemon is stopping). */
  #finish(job: BatchJobRecord, summaries: BatchWorkerSummary[]): void {
    if (this.#stopping) return;
    const { store } = this.#deps;
    const jobId = job.spec.job_id;
    const now = this.#now();
    const counts = store.counts(jobId, now.getTime());
    const current = store.getJob(jobId);
    if (current === undefined) return; // deleted with its API
    if (current.stopRequested) {
      store.setStatus(jobId, "status_stopped", "stopped by a user", now);
      this.#logApi(job, `job ${jobId} stopped (${counts.succeeded} batches were done)`);
      return;
    }
    if (counts.queued + counts.leased === 0) {
      const total = job.spec.total_batch_count;
      const oom = this.#running.get(jobId)?.outOfMemory;
      if (counts.failed > 0 && oom !== undefined && counts.succeeded === 0) {
        // Nothing got through and workers were killed for their memory: Cortex's worker OOM.
        const message = `${counts.failed} of ${total} batches failed; ${oom}`;
        store.setStatus(jobId, "status_worker_oom", message, now);
        this.#logApi(job, `job ${jobId} ended out of memory: ${message}`);
      } else if (counts.failed > 0) {
        const message = `${counts.failed} of ${total} batches failed after their retries${oom === undefined ? "" : ` (${oom})`}`;
        store.setStatus(jobId, "status_completed_with_failures", message, now);
        this.#logApi(job, `job ${jobId} completed with failures: ${message}`);
      } else {
        store.setStatus(jobId, "status_succeeded", null, now);
        this.#logApi(job, `job ${jobId} succeeded: ${total} batches`);
      }
      return;
    }
    const why = summaries.find((summary) => summary.error !== undefined)?.error ?? "unknown";
    const message = `no worker of the job can run (${counts.queued + counts.leased} batches left): ${why}`;
    const oom = this.#running.get(jobId)?.outOfMemory;
    if (oom !== undefined) {
      store.setStatus(jobId, "status_worker_oom", `${message} (${oom})`, now);
      this.#logApi(job, `job ${jobId} ended out of memory: ${oom}`);
      return;
    }
    store.setStatus(jobId, "status_worker_error", message, now);
    this.#logApi(job, `job ${jobId} ended with a worker error: ${message}`);
  }

  #onQueueEvent(job: BatchJobRecord, event: JobQueueEvent): void {
    const id = event.batch.batchId;
    if (event.kind === "retried") {
      this.#logJob(job, `batch ${id} raised (${event.error}); queued again`);
    } else if (event.kind === "failed") {
      this.#logApi(
        job,
        `job ${job.spec.job_id}: batch ${id} failed after ${event.batch.attempt} attempts: ${event.error}`,
      );
    } else if (event.kind === "released") {
      this.#logApi(job, `job ${job.spec.job_id}: batch ${id} queued again: ${event.reason}`);
    }
  }

  #onWorkerEvent(job: BatchJobRecord, index: number, event: BatchWorkerEvent): void {
    if (event.kind === "job_complete.ran") {
      const outcome =
        event.result.kind === "succeeded"
          ? "returned"
          : `failed: ${event.result.kind === "raised" ? event.result.error : event.result.reason}`;
      this.#logApi(
        job,
        `job ${job.spec.job_id}: on_job_complete ran on worker ${index} and ${outcome}`,
      );
    } else if (event.result.kind === "succeeded") {
      this.#logJob(
        job,
        `batch ${event.batch.batchId} done by worker ${index} in ${event.seconds.toFixed(3)}s`,
      );
    }
  }

  #status(job: BatchJobRecord): BatchJobStatus {
    const jobId = job.spec.job_id;
    const now = this.#now();
    // An ended job's rate is measured at its end: read later, it would fall with the time since.
    const clockMs =
      isTerminal(job.status) && job.endTime !== null ? Date.parse(job.endTime) : now.getTime();
    const counts = this.#deps.store.counts(jobId, clockMs);
    const running = this.#running.get(jobId);
    const workerCounts: BatchWorkerCounts = {
      pending: 0,
      initializing: 0,
      running: 0,
      succeeded: 0,
      failed: 0,
      stalled: 0,
    };
    for (const state of running?.states ?? []) workerCounts[state] += 1;
    const started = job.startTime === null ? clockMs : Date.parse(job.startTime);
    const window = Math.min(60, Math.max(1, (clockMs - started) / 1000));
    const rate = counts.itemsLastMinute / window;
    const failures = this.#deps.store.failures(jobId);
    // While S3 is being listed the batch count is not known (Cortex's answer leaves it out too).
    const { total_batch_count: totalBatches, ...spec } = job.spec;
    return {
      ...spec,
      ...(job.status === "status_enqueuing" ? {} : { total_batch_count: totalBatches }),
      status: job.status,
      batches_in_queue: counts.queued,
      batch_metrics: {
        succeeded: counts.succeeded,
        failed: counts.failed,
        ...(counts.avgSeconds === undefined ? {} : { avg_time_per_batch: counts.avgSeconds }),
      },
      worker_counts: workerCounts,
      ...(job.startTime === null ? {} : { start_time: job.startTime }),
      ...(job.endTime === null ? {} : { end_time: job.endTime }),
      batches_in_progress: counts.leased,
      batches_retried: counts.retried,
      ...(counts.itemsLastMinute === 0 ? {} : { items_per_second: rate }),
      ...(counts.itemsLastMinute === 0 || isTerminal(job.status)
        ? {}
        : { eta_seconds: counts.remainingItems / rate }),
      ...(job.statusMessage === null ? {} : { status_message: job.statusMessage }),
      ...(failures.length === 0 ? {} : { failures }),
    };
  }

  #requireApi(apiName: string): BatchApiRecord {
    const api = this.#deps.store.getApi(apiName);
    if (api === undefined) {
      throw new DomainError(API_NOT_FOUND, `no batch api named ${apiName} is deployed`, {
        status: 404,
        hint: "`axon get` lists the batch apis (deploy one with kind: BatchAPI)",
      });
    }
    return api;
  }

  #requireJob(apiName: string, jobId: string): BatchJobRecord {
    const api = this.#requireApi(apiName);
    const job = this.#deps.store.getJob(jobId);
    if (job === undefined || job.spec.api_name !== api.name) {
      throw new DomainError(JOB_NOT_FOUND, `${api.name} has no job ${jobId}`, {
        status: 404,
        hint: `\`axon get ${api.name}\` lists its jobs`,
      });
    }
    return job;
  }

  #now(): Date {
    return this.#deps.now?.() ?? new Date();
  }

  /** A line in the job's own log. */
  #logJob(job: BatchJobRecord, message: string): void {
    const file = this.#deps.logs.fileFor(jobLogName(job.spec.api_name, job.spec.job_id));
    appendLine(
      file,
      `${formatLogTime(this.#now())} axon   [${job.spec.api_name} ${job.spec.job_id}] ${message}`,
    );
  }

  /** A line in the API's log (naming the job) and in the job's own. */
  #logApi(job: BatchJobRecord, message: string): void {
    const line = `${formatLogTime(this.#now())} axon   [${job.spec.api_name}] ${message}`;
    appendLine(this.#deps.logs.fileFor(job.spec.api_name), line);
    this.#logJob(job, message);
  }
}

/**
 * `worker`, with a death the kernel's OOM killer caused (the worker's cgroup counted a kill
 * meanwhile) said as such — as Fargate would stop the task — and recorded on the job.
 */
function namingOutOfMemory(
  worker: PythonBatchWorker,
  launch: BatchWorkerLaunch,
  mem: string | null,
  running: RunningJob,
): BatchPredictor {
  const explain = (what: string): string => {
    const message = `killed: out of memory (compute.mem ${mem ?? "unset"}): ${what}; raise compute.mem or use less memory in the predictor`;
    running.outOfMemory ??= message;
    return message;
  };
  return {
    ready: async () => {
      const before = launch.oomKills();
      try {
        await worker.ready();
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        throw launch.oomKills() > before ? new Error(explain(text), { cause: error }) : error;
      }
    },
    predict: async (batchId, payload) => {
      const before = launch.oomKills();
      const result = await worker.predict(batchId, payload);
      if (result.kind !== "worker_gone" || launch.oomKills() === before) return result;
      return { kind: "worker_gone", reason: explain(result.reason) };
    },
    jobComplete: () => worker.jobComplete(),
  };
}

/** An enqueue failure as a status message: the error and what to do. */
function describeEnqueueError(error: unknown): string {
  if (error instanceof DomainError) {
    return error.hint === undefined ? error.message : `${error.message} (${error.hint})`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** A job's log, beside its API's (an API name has no `.`, so the two never collide). */
export function jobLogName(apiName: string, jobId: string): string {
  return `${apiName}.job-${jobId}`;
}

function noWork(running: RunningJob, index: number): BatchWorkerSummary {
  running.states[index] = "succeeded";
  return { succeeded: 0, failed: 0, released: 0, ranJobComplete: false };
}

function appendLine(file: string, line: string): void {
  try {
    appendFileSync(file, `${line}\n`, { mode: 0o600 });
  } catch {
    // A full disk under the logs must not fail the job; the store has its outcome.
  }
}
