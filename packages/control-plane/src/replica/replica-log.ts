/**
 * The replica's own lines in its API's log, beside what the workers print there: the only place
 * an operator reading the log learns that a worker was replaced or that requests timed out. The
 * front and the worker pool both write them, so they share one format, like the runtime's.
 */
import { appendFileSync } from "node:fs";
import type { Call } from "./worker-link.js";

/** Appends a line of the front's own to the API log, formatted like the runtime's. */
export function appendReplicaLogLine(
  replica: { readonly id: string; readonly apiName: string; readonly logFile: string },
  level: string,
  message: string,
): void {
  const now = new Date();
  const pad = (n: number, width = 2): string => String(n).padStart(width, "0");
  const stamp =
    `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ` +
    `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}.${pad(now.getMilliseconds(), 3)}`;
  try {
    appendFileSync(
      replica.logFile,
      `${stamp} ${level} [${replica.apiName} ${replica.id} front] ${message}\n`,
    );
  } catch {
    // the log file is gone; serving matters more than logging
  }
}

/** `request a1` or `requests a1, a2, a3` (the first 10, then a count), for log lines. */
export function describeRequests(calls: readonly Call[]): string {
  const ids = calls.slice(0, 10).map((call) => call.requestId);
  const more = calls.length > ids.length ? ` and ${calls.length - ids.length} more` : "";
  return `${calls.length === 1 ? "request" : "requests"} ${ids.join(", ")}${more}`;
}
