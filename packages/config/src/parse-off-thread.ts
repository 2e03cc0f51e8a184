/**
 * `parseApiConfig` on a worker thread, for the daemon: whatever a config costs to read, the
 * thread that serves every endpoint keeps serving, and a config that takes longer than a timeout
 * or more memory than a cap is refused instead of holding the daemon. The limits of
 * `CONFIG_LIMITS` make such a config unlikely; this makes it harmless.
 *
 * The worker is started per call (a deploy is rare; starting one costs tens of milliseconds, and
 * loading the YAML reader and the schema there costs nothing on this thread).
 */

import { Worker } from "node:worker_threads";
import { ConfigError, type Diagnostic } from "./diagnostics.js";
import type { ParseApiConfigOptions, ParsedApiConfig } from "./parse-config.js";

/** What the worker is started with (structured-cloned). */
export interface WorkerInput {
  text: string;
  fileName: string;
  checkFiles: boolean;
  /** Int32 [answered, exists]: how a `fileExists` answer reaches the sleeping worker. */
  answers: SharedArrayBuffer;
  /** The project's files, for "did you mean" suggestions on a missing path. */
  projectFiles?: readonly string[];
}

/** What the worker posts back. */
export type WorkerOutput =
  | { type: "exists"; path: string }
  | { type: "parsed"; parsed: ParsedApiConfig }
  | { type: "invalid"; diagnostics: Diagnostic[] }
  | { type: "failed"; message: string };

/** Options for `parseApiConfigOffThread`. */
export interface ParseOffThreadOptions extends ParseApiConfigOptions {
  /** Refused as too slow to check after this long (default 10 s). */
  timeoutMs?: number;
  /** Heap the worker may use (default 256 MB); more is refused as too large to check. */
  maxHeapMb?: number;
}

// src/ and dist/ sit at the same depth, so this names the built worker from both (vitest runs
// the sources, but a worker thread needs JavaScript: build first).
const WORKER_URL = new URL("../dist/parse-worker.js", import.meta.url);

/**
 * Parses and validates `text` like `parseApiConfig`, on a worker thread.
 *
 * @throws ConfigError with every problem, or one saying the config took too long or too much
 *   memory to check
 */
export function parseApiConfigOffThread(
  text: string,
  fileName: string,
  options: ParseOffThreadOptions = {},
): Promise<ParsedApiConfig> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxHeapMb = options.maxHeapMb ?? 256;
  const answers = new SharedArrayBuffer(8);
  const flags = new Int32Array(answers);
  const input: WorkerInput = {
    text,
    fileName,
    checkFiles: options.fileExists !== undefined,
    answers,
    ...(options.projectFiles === undefined ? {} : { projectFiles: options.projectFiles }),
  };
  const refuse = (message: string): ConfigError =>
    new ConfigError([{ file: fileName, path: "", message }]);

  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_URL, {
      workerData: input,
      resourceLimits: { maxOldGenerationSizeMb: maxHeapMb },
    });
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      outcome();
    };
    const timer = setTimeout(() => {
      settle(() =>
        reject(
          refuse(
            `took more than ${timeoutMs / 1000} s to check, so it was not deployed; make it smaller (docs/limits.md)`,
          ),
        ),
      );
    }, timeoutMs);
    worker.on("message", (message: WorkerOutput) => {
      switch (message.type) {
        case "exists": {
          let exists = false;
          let failure: unknown;
          try {
            exists = options.fileExists?.(message.path) ?? false;
          } catch (error) {
            failure = error;
          }
          // Always answered, or the worker would sleep until it is terminated.
          Atomics.store(flags, 1, exists ? 1 : 0);
          Atomics.store(flags, 0, 1);
          Atomics.notify(flags, 0);
          if (failure !== undefined) settle(() => reject(failure));
          return;
        }
        case "parsed":
          settle(() => resolve(message.parsed));
          return;
        case "invalid":
          settle(() => reject(new ConfigError(message.diagnostics)));
          return;
        case "failed":
          settle(() => reject(new Error(`checking ${fileName} failed: ${message.message}`)));
          return;
      }
    });
    worker.on("error", (error: Error & { code?: string }) => {
      settle(() =>
        reject(
          error.code === "ERR_WORKER_OUT_OF_MEMORY"
            ? refuse(
                `needs more than ${maxHeapMb} MB to check, so it was not deployed; make it smaller (docs/limits.md)`,
              )
            : error,
        ),
      );
    });
    worker.on("exit", (code) => {
      settle(() => reject(new Error(`checking ${fileName} stopped (worker exit code ${code})`)));
    });
  });
}
