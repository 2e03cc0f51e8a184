/**
 * How the control plane's own lines look in the daemon log and the API log files: a local
 * timestamp in the shape the Python runtime prints, then the event in words.
 */
import { describeEvent, eventApi, type ControlPlaneEvent } from "../contract/index.js";

/** `2026-11-23 16:50:01.123`, local time, the same shape the Python runtime prints. */
export function formatLogTime(date: Date): string {
  const pad = (n: number, w = 2): string => String(n).padStart(w, "0");
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`
  );
}

/** One daemon-log line for an event: `<time> [api] message` (no api for daemon-wide events). */
export function formatEventLine(event: ControlPlaneEvent, time: Date): string {
  const api = eventApi(event);
  const { message } = describeEvent(event);
  return `${formatLogTime(time)} ${api === undefined ? "" : `[${api}] `}${message}`;
}
