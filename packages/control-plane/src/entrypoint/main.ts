/**
 * The `axon-replica` process: wires `startReplicaContainer` to the environment, stdout and
 * signals, and maps the outcome to an exit code: 0 drained after SIGTERM/SIGINT, 1 failed to
 * start or failed later (`bin/axon-replica.js` exits with it). Each line it prints is
 * `axon-replica: …`, which CloudWatch Logs keeps.
 */
import { isBatchMode, readBatchInputs } from "./batch-entrypoint.js";
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
 * Batch mode (issue 32). Its inputs are checked here, so a task started by hand says what it lacks;
 * the shared worker loop (`batch/batch-worker.ts`, with the Python batch worker) is not in this
 * build yet: once it is, this runs `runBatchContainer` (batch-entrypoint.ts) with it and exits 0 when
 * the queue is drained. Until then the worker exits 1 at once, so its job ends as a worker error
 * (its batches stay in the queue until the job is stopped) rather than hanging.
 */
function batchMain(log: (message: string) => void): Promise<number> {
  try {
    const inputs = readBatchInputs(process.env);
    log(
      `batch mode: job ${inputs.job.job_id} cannot run: this image has no batch worker loop yet (batch/batch-worker.ts)`,
    );
  } catch (error) {
    log(`cannot start: ${error instanceof Error ? error.message : String(error)}`);
  }
  return Promise.resolve(1);
}
