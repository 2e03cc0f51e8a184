/**
 * Text for `axon logs` on a terminal: a short local time, who wrote the line (the replica in a
 * colour of its own, its worker or front; `axon` for the control plane), the level when it is not
 * INFO, then the message with its request ids picked out. Lines without a header (tracebacks,
 * what the predictor prints) are indented under the message. Pure: a record and a painter in.
 */
import type { LogRecord } from "../services/logs.js";
import { distinctStyle, type Painter } from "../terminal.js";

/** Width of the `who` column: `r-3fa2c1 front` is the longest. */
const WHO_WIDTH = 14;
const TIME_WIDTH = 12;

/** One record as a terminal line (no newline). */
export function renderLogRecord(record: LogRecord, paint: Painter): string {
  if (record.continuation) {
    return `${" ".repeat(TIME_WIDTH + 1 + WHO_WIDTH + 1)}${highlight(record, record.message, paint)}`;
  }
  const time = record.time === undefined ? "" : formatClock(new Date(record.time));
  const who = describeWriter(record);
  const whoText =
    record.source === "control-plane"
      ? paint("dim", who.padEnd(WHO_WIDTH))
      : record.replica === undefined
        ? who.padEnd(WHO_WIDTH)
        : paint(distinctStyle(record.replica), who.padEnd(WHO_WIDTH));
  const level = levelLabel(record.level, paint);
  return `${paint("dim", time.padEnd(TIME_WIDTH))} ${whoText} ${level}${highlight(record, record.message, paint)}`;
}

/** `r-3fa2c1 w0`, `r-3fa2c1 front`, or `axon`. */
function describeWriter(record: LogRecord): string {
  if (record.source === "control-plane") return "axon";
  const process = record.source === "front" ? "front" : (record.worker ?? "");
  return `${record.replica ?? ""} ${process}`.trim();
}

function levelLabel(level: string | undefined, paint: Painter): string {
  if (level === "ERROR" || level === "CRITICAL") return `${paint("red", level)} `;
  if (level === "WARNING") return `${paint("yellow", level)} `;
  return "";
}

/** The message with each of its request ids in bold, so a person can follow one request. */
function highlight(record: LogRecord, message: string, paint: Painter): string {
  let text = message;
  for (const id of record.requestIds) text = text.split(id).join(paint("bold", id));
  return text;
}

/** `16:50:01.123`, local time like the log file. */
function formatClock(date: Date): string {
  const pad = (n: number, width = 2): string => String(n).padStart(width, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}
