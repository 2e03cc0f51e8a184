/**
 * `axon-replica` in batch mode (issue 32): a BatchAPI's task definition sets `AXON_MODE=batch`, and
 * RunTask's override gives each of a job's workers its queue and the job's spec
 * (`providers/aws/batch-names.ts` names them). The container then runs the shared worker loop
 * (`batch/batch-worker.ts`, the same loop the local engine hosts) over an `SqsBatchSource` until the
 * queue is drained, and exits 0 — which is how the job's tasks stop when it is done.
 *
 * `runBatchJob` is the whole container run: the same project download and Python environment as
 * a realtime replica (`prepareProject`), one Python batch worker (`batch/python-batch-worker.ts`,
 * the local engine's), and the shared loop over the job's queue. SIGTERM (StopTask, or the job
 * stopped) takes no new batch; the one in flight finishes within the task's stop timeout, or is
 * killed with the task and comes back when its lease (the queue's visibility timeout) runs out.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { BatchJobSpec } from "../contract/batch.js";
import type { BatchSource } from "../batch/batch-source.js";
import { DEFAULT_JOB_TIMEOUT_SECONDS } from "../batch/job-submission.js";
import { runBatchWorker, type BatchWorkerEvent } from "../batch/batch-worker.js";
import { PythonBatchWorker } from "../batch/python-batch-worker.js";
import {
  BATCH_ENV,
  BATCH_MODE,
  MAX_FAILURE_ERROR_CHARS,
  jobCompleteKey,
} from "../providers/aws/batch-names.js";
import { REPLICA_ENV } from "../providers/aws/replica-env.js";
import type { S3Port } from "../providers/aws/sdk.js";
import {
  prepareProject,
  ReplicaInputError,
  workerLogs,
  type ReplicaInputs,
} from "./replica-entrypoint.js";
import { MAX_WAIT_SECONDS, SqsBatchSource, type WorkerSqsPort } from "./sqs-batch-source.js";

/**
 * Seconds each ReceiveMessage long-polls (default 20, SQS's most): a worker whose queue is empty
 * waits that long before it checks whether the job is drained and exits. Tests shorten it. SQS
 * takes 1 to 20 s: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/best-practices-setting-up-long-polling.html
 */
export const BATCH_WAIT_SECONDS_ENV = "AXON_BATCH_WAIT_SECONDS";

/** What a batch worker container needs, from its environment. */
export interface BatchInputs {
  /** ReceiveMessage's long poll, 1–20 s (absent: 20). */
  waitSeconds?: number;
  queueUrl: string;
  job: BatchJobSpec;
  /** The queue's maxReceiveCount: the attempt whose failure is final. */
  maxReceives: number;
  /** Where a final failure is written: the cluster bucket and the job's failures prefix. */
  failures: { bucket: string; prefix: string };
}

/** True when the task definition started this container in batch mode. */
export function isBatchMode(env: NodeJS.ProcessEnv): boolean {
  return env[BATCH_ENV.mode] === BATCH_MODE;
}

/** Reads and checks the batch inputs; every problem names its variable and who sets it. */
export function readBatchInputs(env: NodeJS.ProcessEnv): BatchInputs {
  const required = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === "") {
      throw new ReplicaInputError(
        `${name} is not set: a batch worker is started by axon's RunTask, which sets it (submit a job instead of starting the task by hand)`,
      );
    }
    return value;
  };
  const queueUrl = required(BATCH_ENV.queueUrl);
  let job: BatchJobSpec;
  try {
    job = JSON.parse(required(BATCH_ENV.job)) as BatchJobSpec;
  } catch (error) {
    if (error instanceof ReplicaInputError) throw error;
    throw new ReplicaInputError(`${BATCH_ENV.job} is not JSON: ${(error as Error).message}`);
  }
  if (typeof job !== "object" || job === null || typeof job.job_id !== "string") {
    throw new ReplicaInputError(`${BATCH_ENV.job} has no job_id: it is not a job's spec`);
  }
  const maxReceives = Number(required(BATCH_ENV.maxReceives));
  if (!Number.isInteger(maxReceives) || maxReceives < 1) {
    throw new ReplicaInputError(
      `${BATCH_ENV.maxReceives} is ${env[BATCH_ENV.maxReceives] ?? ""}: a whole number of 1 or more`,
    );
  }
  const failures = {
    bucket: required(REPLICA_ENV.bucket),
    prefix: required(BATCH_ENV.failurePrefix),
  };
  const waitSetting = env[BATCH_WAIT_SECONDS_ENV];
  const waitSeconds = waitSetting === undefined ? undefined : Number(waitSetting);
  if (
    waitSeconds !== undefined &&
    !(Number.isInteger(waitSeconds) && waitSeconds >= 1 && waitSeconds <= MAX_WAIT_SECONDS)
  ) {
    throw new ReplicaInputError(
      `${BATCH_WAIT_SECONDS_ENV} is ${waitSetting ?? ""}: a whole number of seconds from 1 to ${MAX_WAIT_SECONDS}`,
    );
  }
  return {
    queueUrl,
    job,
    maxReceives,
    failures,
    ...(waitSeconds === undefined ? {} : { waitSeconds }),
  };
}

/** Runs a job's batches from its queue with `runLoop` until the queue has none left. */
export async function runBatchContainer(
  inputs: BatchInputs,
  deps: {
    sqs: WorkerSqsPort;
    /** Writes a batch's last failure and the job-complete claim (all the task role may put). */
    s3: Pick<S3Port, "putObject">;
    log: (message: string) => void;
    /** The shared worker loop: leases until the source answers null, then returns. */
    runLoop: (source: BatchSource, job: BatchJobSpec, signal: AbortSignal) => Promise<void>;
    signal: AbortSignal;
  },
): Promise<void> {
  const source = new SqsBatchSource({
    sqs: deps.sqs,
    queueUrl: inputs.queueUrl,
    ...(inputs.waitSeconds === undefined ? {} : { waitSeconds: inputs.waitSeconds }),
    finalFailure: {
      maxReceives: inputs.maxReceives,
      record: async (failure) => {
        await deps.s3.putObject({
          Bucket: inputs.failures.bucket,
          Key: `${inputs.failures.prefix}${failure.batch_id}.json`,
          Body: JSON.stringify({
            ...failure,
            error: failure.error.slice(0, MAX_FAILURE_ERROR_CHARS),
          }),
          ContentType: "application/json",
        });
      },
    },
    // S3 creates the object only when it does not exist yet ("If-None-Match: *"), answering 412
    // to every later writer: https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
    claimJobComplete: async () => {
      try {
        await deps.s3.putObject({
          Bucket: inputs.failures.bucket,
          Key: jobCompleteKey(inputs.job.api_name, inputs.job.job_id),
          Body: new Date().toISOString(),
          IfNoneMatch: "*",
        });
        return true;
      } catch (error) {
        if (error instanceof Error && error.name === "PreconditionFailed") return false;
        throw error;
      }
    },
    onBadMessage: (id, reason) => {
      deps.log(
        `message ${id} of job ${inputs.job.job_id} is not a batch (${reason}): left for the dead-letter queue`,
      );
    },
  });
  deps.log(`job ${inputs.job.job_id}: taking batches from ${inputs.queueUrl}`);
  await deps.runLoop(source, inputs.job, deps.signal);
  deps.log(`job ${inputs.job.job_id}: no batch left, exiting`);
}

/** The predictor of a batch container could not run (its `__init__` raised, its worker kept dying). */
export class BatchPredictorError extends Error {
  override readonly name = "BatchPredictorError";
}

/**
 * A batch container's whole run: project and environment as a replica's, one Python batch worker
 * given the job's spec and the job's config over the API's, the shared loop until the queue is
 * drained (or `signal` aborts). Throws `BatchPredictorError` when the predictor cannot run; its
 * batches stay in the queue for the other workers or a later retry.
 */
export async function runBatchJob(
  batch: BatchInputs,
  replica: Pick<
    ReplicaInputs,
    "apiName" | "spec" | "bucket" | "bundleSha256" | "workDir" | "python" | "logFile"
  >,
  deps: {
    s3: S3Port;
    sqs: WorkerSqsPort;
    log: (message: string) => void;
    signal: AbortSignal;
  },
): Promise<void> {
  const { job } = batch;
  const project = await prepareProject(replica, deps);
  const logs = await workerLogs(replica);
  // Cortex's predictors wrote their results where they liked (usually S3); a local folder is
  // what the local engine gives them as AXON_JOB_OUTPUT_DIR, so a predictor runs on both.
  const outputDir = path.join(replica.workDir, "output", job.job_id);
  await mkdir(outputDir, { recursive: true });
  const { predictor } = replica.spec;
  const worker = new PythonBatchWorker({
    id: "b-0",
    apiName: replica.apiName,
    projectDir: project.projectDir,
    predictorPath: predictor.path,
    ...(predictor.python_path === undefined || predictor.python_path === null
      ? {}
      : { pythonPath: predictor.python_path }),
    env: { ...predictor.env, AXON_JOB_OUTPUT_DIR: outputDir },
    python: project.python,
    runDir: project.runDir,
    logFile: logs.file,
    config: { ...predictor.config, ...job.config },
    jobSpec: { ...job },
    batchTimeoutMs: (job.timeout ?? DEFAULT_JOB_TIMEOUT_SECONDS) * 1000,
  });
  try {
    worker.start();
    await runBatchContainer(batch, {
      ...deps,
      runLoop: async (source, _job, signal) => {
        const summary = await runBatchWorker({
          source,
          predictor: worker,
          signal,
          onEvent: (event) => logEvent(event, job.job_id, deps.log),
        });
        deps.log(
          `job ${job.job_id}: ${summary.succeeded} batch(es) succeeded, ${summary.failed} failed, ${summary.released} handed back by this worker`,
        );
        if (summary.error !== undefined) {
          throw new BatchPredictorError(
            `the predictor cannot run (its __init__ raised, or its worker kept dying): ${summary.error}`,
          );
        }
      },
    });
  } finally {
    await worker.close();
    logs.stop();
  }
}

/** What CloudWatch keeps of a worker's batches: failures and hand-backs (successes are counted). */
function logEvent(event: BatchWorkerEvent, jobId: string, log: (message: string) => void): void {
  if (event.kind === "job_complete.ran") {
    log(
      event.result.kind === "succeeded"
        ? `job ${jobId}: on_job_complete ran`
        : `job ${jobId}: on_job_complete failed: ${"error" in event.result ? event.result.error : event.result.reason}`,
    );
    return;
  }
  const { batch, result } = event;
  if (result.kind === "raised") {
    log(`job ${jobId}: batch ${batch.batchId} raised (attempt ${batch.attempt}): ${result.error}`);
  } else if (result.kind === "worker_gone") {
    log(`job ${jobId}: batch ${batch.batchId} handed back: ${result.reason}`);
  }
}
