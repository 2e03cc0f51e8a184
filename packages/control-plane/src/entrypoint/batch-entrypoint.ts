/**
 * `axon-replica` in batch mode (issue 32): a BatchAPI's task definition sets `AXON_MODE=batch`, and
 * RunTask's override gives each of a job's workers its queue and the job's spec
 * (`providers/aws/batch-names.ts` names them). The container then runs the shared worker loop
 * (`batch/batch-worker.ts`, the same loop the local engine hosts) over an `SqsBatchSource` until the
 * queue is drained, and exits 0 — which is how the job's tasks stop when it is done.
 *
 * The worker loop is injected (`runLoop`): it lands from the local-engine branch, and `main.ts`
 * wires it there. Everything this side owns — reading and checking the inputs, the source — is here.
 */
import type { BatchJobSpec } from "../contract/batch.js";
import type { BatchSource } from "../batch/batch-source.js";
import {
  BATCH_ENV,
  BATCH_MODE,
  MAX_FAILURE_ERROR_CHARS,
  jobCompleteKey,
} from "../providers/aws/batch-names.js";
import { REPLICA_ENV } from "../providers/aws/replica-env.js";
import type { S3Port } from "../providers/aws/sdk.js";
import { ReplicaInputError } from "./replica-entrypoint.js";
import { SqsBatchSource, type WorkerSqsPort } from "./sqs-batch-source.js";

/** What a batch worker container needs, from its environment. */
export interface BatchInputs {
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
  return { queueUrl, job, maxReceives, failures };
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
