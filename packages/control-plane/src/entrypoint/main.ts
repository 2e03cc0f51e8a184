/**
 * The `axon-replica` process: wires `startReplicaContainer` to the environment, stdout and
 * signals, and maps the outcome to an exit code: 0 drained after SIGTERM/SIGINT, 1 failed to
 * start or failed later (`bin/axon-replica.js` exits with it). Each line it prints is
 * `axon-replica: …`, which CloudWatch Logs keeps. In batch mode (`AXON_MODE=batch`): 0 once the
 * job's queue is drained or after SIGTERM, 1 when the predictor cannot run.
 */
import {
  BatchPredictorError,
  isBatchMode,
  readBatchInputs,
  runBatchJob,
} from "./batch-entrypoint.js";
import { readReplicaInputs, startReplicaContainer } from "./replica-entrypoint.js";

/** Runs one replica container until it is stopped or fails; resolves with the exit code. */
export async function main(): Promise<number> {
  const log = (message: string): void => {
    process.stdout.write(`axon-replica: ${message}\n`);
  };
  if (isBatchMode(process.env)) return batchMain(log);
  let replica;
  try {
    const inputs = readReplicaInputs(process.env);
    const region = process.env["AWS_REGION"] ?? process.env["AWS_DEFAULT_REGION"] ?? "us-east-1";
    const { connectAws } = await import("../providers/aws/sdk.js");
    const { s3 } = await connectAws(region);
    const stopping = new AbortController();
    const stop = new Promise<void>((resolve) => {
      process.once("SIGTERM", () => resolve());
      process.once("SIGINT", () => resolve());
    });
    const starting = startReplicaContainer(inputs, {
      s3,
      log,
      // One write per line, well under PIPE_BUF: never interleaved with the workers' copied lines.
      writeMetricLine: (line) => {
        process.stdout.write(`${line}\n`);
      },
      signal: stopping.signal,
    });
    // Stopped while still starting (a long environment build, a deploy replacing the task): leave
    // now rather than when ECS's stopTimeout runs out; nothing is served yet, so nothing is lost.
    const started = await Promise.race([
      starting.then((running) => ({ running })),
      stop.then(() => undefined),
    ]);
    if (started === undefined) {
      stopping.abort();
      await starting.then((running) => running.drain()).catch(() => undefined);
      log("stopped before it was ready");
      return 0;
    }
    replica = started.running;
    const outcome = await Promise.race([
      stop.then(() => "stop" as const),
      replica.failed.then((message) => message),
    ]);
    if (outcome !== "stop") {
      log(`failed: ${outcome}`);
      await replica.drain();
      return 1;
    }
    await replica.drain();
    return 0;
  } catch (error) {
    log(`cannot start: ${error instanceof Error ? error.message : String(error)}`);
    await replica?.drain().catch(() => undefined);
    return 1;
  }
}

/**
 * Batch mode (issue 32): runs the job's batches from its queue (`runBatchJob`) and exits 0 once
 * the queue is drained, which is how a job's tasks end; 1, with a line saying why, when the
 * inputs are wrong or the predictor cannot run. SIGTERM (StopTask: the job was stopped or the task
 * is being replaced) takes no new batch and lets the one in flight finish; exit 0. ECS sends SIGKILL
 * once the container's stopTimeout has run out
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html): a batch cut off
 * then is not deleted, so it comes back when its visibility timeout runs out.
 */
async function batchMain(log: (message: string) => void): Promise<number> {
  const stopping = new AbortController();
  const onStop = (): void => {
    if (!stopping.signal.aborted) log("stopping: no new batch; the one in flight may finish");
    stopping.abort();
  };
  process.once("SIGTERM", onStop);
  process.once("SIGINT", onStop);
  try {
    const batch = readBatchInputs(process.env);
    const replica = readReplicaInputs(process.env);
    const region = process.env["AWS_REGION"] ?? process.env["AWS_DEFAULT_REGION"] ?? "us-east-1";
    const { connectAws } = await import("../providers/aws/sdk.js");
    const { s3, sqs } = await connectAws(region);
    await runBatchJob(batch, replica, { s3, sqs, log, signal: stopping.signal });
    return 0;
  } catch (error) {
    if (stopping.signal.aborted && !(error instanceof BatchPredictorError)) {
      log("stopped before the job's batches could be taken");
      return 0;
    }
    log(`cannot run: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
