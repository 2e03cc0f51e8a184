/**
 * `axon logs` as data: the API's log text (the daemon's `GET /v1/apis/:name/logs`) cut into lines,
 * each parsed into a `LogRecord` (time, replica, worker, level, request ids), filtered here on the
 * client (`--since`, `--replica`, `--grep`, `--request-id`, `--tail`). Nothing prints: records go
 * to a callback and `ui/logs.ts` renders them.
 *
 * The lines come in three shapes (see `packages/runtime-python/axon_runtime/log.py`,
 * `replica/replica-log.ts` and `providers/local/api-logs.ts` in the control plane):
 *
 *   2026-11-23 16:50:01.123 INFO [iris r-3fa2c1 w0] loaded predictor in 412 ms     (Python runtime)
 *   2026-11-23 16:50:01.123 WARNING [iris r-3fa2c1 front] request req-7: ...       (replica front)
 *   2026-11-23 16:50:01.123 axon   [iris] replica r-3fa2c1 is ready (0.4s)         (control plane)
 *
 * and anything else: what the predictor prints itself, and the lines of a traceback. Those carry no
 * header, so they take the time, replica and request ids of the line before them (a traceback
 * belongs to its ERROR line; a `print()` usually follows its replica's own lines).
 */
import type { ApiClient } from "../client/api-client.js";

/** One log line, parsed. */
export interface LogRecord {
  /** The line as the API's log file has it (without the newline). */
  line: string;
  /** When it was written, ISO 8601 (the file has local time); undefined before any header. */
  time: string | undefined;
  /** `INFO`, `WARNING`, `ERROR`, or `axon` for the control plane's own lines. */
  level: string | undefined;
  /** Who wrote it: a Python worker, a replica front, the control plane, or the predictor itself. */
  source: "worker" | "front" | "control-plane" | "output";
  /** e.g. `r-3fa2c1`. */
  replica: string | undefined;
  /** `w0`, `w1`, … for a worker; undefined otherwise. */
  worker: string | undefined;
  /** The request ids the line is about (`request req-7`, `requests a, b`). */
  requestIds: string[];
  /** The text after the header (the whole line when there is none). */
  message: string;
  /** True for a line without a header, which belongs to the line before it. */
  continuation: boolean;
}

/** The client-side filters of `axon logs`; every one given must match. */
export interface LogFilter {
  /** Only lines written at or after this time. */
  since?: Date;
  /** Only lines of this replica (`r-3fa2c1`, or a prefix such as `3fa2`). */
  replica?: string;
  /** Only lines matching this expression. */
  grep?: RegExp;
  /** Only lines about this request. */
  requestId?: string;
}

const HEADER =
  /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))? +([A-Za-z]+) +\[([^\]]*)\] ?(.*)$/;
const REQUEST_IDS = /\brequests? ([A-Za-z0-9_.:-]+(?:, [A-Za-z0-9_.:-]+)*)/;
const REPLICA_IN_MESSAGE = /\breplica (r-[0-9a-f]+)\b/;

/** Parses one line; `previous` lends its context to a line without a header. */
export function parseLogLine(line: string, previous: LogRecord | undefined): LogRecord {
  const match = HEADER.exec(line);
  if (match === null) {
    return {
      line,
      time: previous?.time,
      level: previous?.level,
      source: "output",
      replica: previous?.replica,
      worker: previous?.worker,
      requestIds: previous?.requestIds ?? [],
      message: line,
      continuation: true,
    };
  }
  const [, year, month, day, hour, minute, second, millis, level = "", tag = "", message = ""] =
    match;
  const time = new Date(
    Number(year),
    Number(month) - 1,
    Number(day),
    Number(hour),
    Number(minute),
    Number(second),
    Number((millis ?? "0").padEnd(3, "0")),
  );
  const [, replicaTag, process] = tag.split(" ");
  const controlPlane = level === "axon";
  const replica = controlPlane ? REPLICA_IN_MESSAGE.exec(message)?.[1] : replicaTag;
  const ids = REQUEST_IDS.exec(message)?.[1];
  return {
    line,
    time: Number.isNaN(time.getTime()) ? previous?.time : time.toISOString(),
    level,
    source: controlPlane ? "control-plane" : process === "front" ? "front" : "worker",
    replica,
    worker: process !== undefined && process !== "front" ? process : undefined,
    // An id may contain ':' (`X-Request-ID` allows it), but the one before the message does not.
    requestIds: ids === undefined ? [] : ids.replace(/:$/, "").split(", "),
    message,
    continuation: false,
  };
}

/** True when `record` passes every filter in `filter`. */
export function matchesLogFilter(record: LogRecord, filter: LogFilter): boolean {
  if (filter.since !== undefined) {
    if (record.time === undefined || new Date(record.time) < filter.since) return false;
  }
  if (filter.replica !== undefined) {
    const wanted = filter.replica.replace(/^r-/, "");
    if (record.replica === undefined || !record.replica.slice(2).startsWith(wanted)) return false;
  }
  if (filter.requestId !== undefined) {
    if (!record.requestIds.includes(filter.requestId) && !record.line.includes(filter.requestId))
      return false;
  }
  if (filter.grep !== undefined && !filter.grep.test(record.line)) return false;
  return true;
}

/** True when some filter is set (the tail then has to be taken after filtering). */
export function hasLogFilter(filter: LogFilter): boolean {
  return (
    filter.since !== undefined ||
    filter.replica !== undefined ||
    filter.grep !== undefined ||
    filter.requestId !== undefined
  );
}

/** Turns text chunks into parsed records, holding back a line until its newline arrives. */
export class LogLineReader {
  #buffered = "";
  #previous: LogRecord | undefined;

  /** The records completed by `chunk`. */
  push(chunk: string): LogRecord[] {
    this.#buffered += chunk;
    const lines = this.#buffered.split("\n");
    this.#buffered = lines.pop() ?? "";
    return lines.map((line) => this.#parse(line));
  }

  /** The last line, when the text did not end with a newline. */
  end(): LogRecord[] {
    const rest = this.#buffered;
    this.#buffered = "";
    return rest === "" ? [] : [this.#parse(rest)];
  }

  #parse(line: string): LogRecord {
    const record = parseLogLine(line.replace(/\r$/, ""), this.#previous);
    this.#previous = record;
    return record;
  }
}

/** The most the daemon gives as a tail; with filters we read this much and filter it here. */
export const MAX_DAEMON_TAIL = 100_000;

/** What `axon logs` was asked for, free of flags. */
export interface ReadLogsOptions {
  follow: boolean;
  /** Keep the last this many matching lines of the history (undefined: all of it with `since`). */
  tail: number | undefined;
  filter: LogFilter;
}

/** The default history when neither `--tail` nor `--since` says otherwise. */
export const DEFAULT_TAIL = 100;

/** Lines re-read when following after a filtered history, to find where the history ended. */
const FOLLOW_OVERLAP = 1000;

/**
 * Reads the API's log history (and, with `follow`, what comes after), calling `onRecord` with each
 * record that passes the filters. With filters, `tail` counts matching lines (`--grep error
 * --tail 5` is the last five errors), so the daemon is asked for its whole tail and it is filtered
 * here; following then starts a second stream a little before the end of that history and skips
 * to its last line, so nothing written in between is lost or shown twice.
 */
export async function readApiLogs(
  client: Pick<ApiClient, "streamLogs">,
  name: string,
  options: ReadLogsOptions,
  onRecord: (record: LogRecord) => void,
): Promise<void> {
  const { filter } = options;
  const tail = options.tail ?? (filter.since === undefined ? DEFAULT_TAIL : undefined);
  // With --grep, a Python traceback is one entry with the line that announced it: a match on any
  // of its lines (`--grep KeyError` matches the last) shows all of them, and --tail counts it once.
  const grouped = filter.grep !== undefined;
  const matches = (entry: LogRecord[]): boolean =>
    entry.some((record) => matchesLogFilter(record, filter));
  const show = (entries: LogRecord[][]): void => {
    for (const entry of entries) for (const record of entry) onRecord(record);
  };
  const emit = (entries: LogRecord[][]): void => show(entries.filter(matches));
  if (!hasLogFilter(filter) && tail !== undefined) {
    // One stream: the daemon's tail is exactly what is wanted.
    const reader = new LogLineReader();
    await client.streamLogs(name, { follow: options.follow, tail }, (text) =>
      emit(reader.push(text).map((record) => [record])),
    );
    emit(reader.end().map((record) => [record]));
    return;
  }
  const history: LogRecord[][] = [];
  let lastLine: string | undefined;
  const reader = new LogLineReader();
  const grouper = new TracebackGrouper(grouped);
  const collect = (entries: LogRecord[][]): void => {
    for (const entry of entries) {
      lastLine = entry.at(-1)?.line ?? lastLine;
      if (matches(entry)) history.push(entry);
    }
  };
  await client.streamLogs(name, { follow: false, tail: MAX_DAEMON_TAIL }, (text) =>
    collect(grouper.push(reader.push(text))),
  );
  collect(grouper.push(reader.end()));
  collect(grouper.flush());
  show(tail === undefined ? history : tail === 0 ? [] : history.slice(-tail));
  if (!options.follow) return;

  const follower = new LogLineReader();
  const live = new TracebackGrouper(grouped);
  // A live entry is shown once its chunk has been read: the runtime writes a traceback with the
  // line announcing it in one write, so waiting longer would only delay the last line.
  const emitLive = (records: LogRecord[]): void => emit([...live.push(records), ...live.flush()]);
  // Skip the overlap: everything up to and including the history's last line.
  let skipping = lastLine !== undefined;
  let skipped: LogRecord[] = [];
  await client.streamLogs(
    name,
    { follow: true, tail: lastLine === undefined ? 0 : FOLLOW_OVERLAP },
    (text) => {
      const records = follower.push(text);
      if (!skipping) return emitLive(records);
      const after: LogRecord[] = [];
      for (const record of records) {
        if (!skipping) after.push(record);
        else if (record.line === lastLine) {
          skipping = false;
          skipped = [];
        } else {
          skipped.push(record);
          // The history's last line is gone (the file was truncated): show what came instead.
          if (skipped.length >= FOLLOW_OVERLAP) {
            skipping = false;
            after.push(...skipped);
          }
        }
      }
      emitLive(after);
    },
  );
  emitLive(follower.end());
}

const TRACEBACK_START = /^Traceback \(most recent call last\):\s*$/;
/** Lines inside a traceback that do not end it: frames (indented), blanks, chaining notes. */
const TRACEBACK_BODY =
  /^(\s|$|Traceback \(most recent call last\):|During handling of the above exception|The above exception was the direct cause|\+ Exception Group Traceback)/;

/**
 * Cuts records into entries for filtering: a Python traceback, with the line that announced it
 * (the runtime's `ERROR … raised an exception` line, which it writes together with the
 * traceback), is one entry; every other line is an entry of its own. A traceback ends at its
 * first line that is not a frame, a blank or a chaining note: the exception's own line.
 * With `enabled` false, every line is its own entry.
 */
export class TracebackGrouper {
  readonly #enabled: boolean;
  /** A header line held back until the next line says whether a traceback follows it. */
  #held: LogRecord | undefined;
  /** The traceback being read (its announcing line first), until its exception line. */
  #open: LogRecord[] | undefined;

  constructor(enabled: boolean) {
    this.#enabled = enabled;
  }

  /** The entries `records` complete; a header line and an open traceback wait for what follows. */
  push(records: readonly LogRecord[]): LogRecord[][] {
    if (!this.#enabled) return records.map((record) => [record]);
    const done: LogRecord[][] = [];
    for (const record of records) {
      if (this.#open !== undefined) {
        if (record.continuation) {
          this.#open.push(record);
          if (!TRACEBACK_BODY.test(record.line)) {
            done.push(this.#open);
            this.#open = undefined;
          }
          continue;
        }
        done.push(this.#open);
        this.#open = undefined;
      }
      if (record.continuation && TRACEBACK_START.test(record.line)) {
        this.#open = this.#held === undefined ? [record] : [this.#held, record];
        this.#held = undefined;
        continue;
      }
      if (this.#held !== undefined) done.push([this.#held]);
      this.#held = undefined;
      if (record.continuation) done.push([record]);
      else this.#held = record;
    }
    return done;
  }

  /** Everything held back, as entries (at the end of the text, or of a live chunk). */
  flush(): LogRecord[][] {
    const done: LogRecord[][] = [];
    if (this.#held !== undefined) done.push([this.#held]);
    if (this.#open !== undefined) done.push(this.#open);
    this.#held = undefined;
    this.#open = undefined;
    return done;
  }
}
