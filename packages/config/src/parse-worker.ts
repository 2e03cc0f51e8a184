/**
 * Entry point of the worker thread `parseApiConfigOffThread` starts: parses one config and posts
 * the outcome back. Running here is its whole purpose, so it acts on load (the one module of this
 * package that does). Questions about project files go to the starting thread, which owns the
 * project; this thread sleeps on a shared flag until the answer is written.
 */

import { parentPort, workerData } from "node:worker_threads";
import { ConfigError } from "./diagnostics.js";
import { parseApiConfig } from "./parse-config.js";
import type { WorkerInput, WorkerOutput } from "./parse-off-thread.js";

const input = workerData as WorkerInput;
const port = parentPort;
if (port === null) throw new Error("parse-worker.js runs only as a worker thread");
const post = (message: WorkerOutput): void => port.postMessage(message);

const flags = new Int32Array(input.answers);
const fileExists = (relativePath: string): boolean => {
  Atomics.store(flags, 0, 0);
  post({ type: "exists", path: relativePath });
  Atomics.wait(flags, 0, 0);
  return Atomics.load(flags, 1) === 1;
};

try {
  const parsed = parseApiConfig(input.text, input.fileName, {
    ...(input.checkFiles ? { fileExists } : {}),
    ...(input.projectFiles === undefined ? {} : { projectFiles: input.projectFiles }),
  });
  post({ type: "parsed", parsed });
} catch (error) {
  if (error instanceof ConfigError) post({ type: "invalid", diagnostics: error.diagnostics });
  else
    post({
      type: "failed",
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
}
