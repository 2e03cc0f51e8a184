/**
 * An AWS API's logs, from CloudWatch Logs, in the shape `axon logs` parses (ecs.md §3): each
 * replica task writes to `<logStreamPrefix(api)>/replica/<task id>` in the cluster's log group.
 *
 * - `tail` reads history with FilterLogEvents over the stream prefix (all pages), searching back in
 *   widening windows (1 minute, 10 minutes, 1 hour, … 30 days) until it has the lines asked for,
 *   instead of listing every stream as Copilot does.
 * - `follow` streams with Live Tail (a push every second, no polling cost) and falls back to polling
 *   FilterLogEvents every `pollMs` when Live Tail is unavailable: refused (no `logs:StartLiveTail`,
 *   a partition without it, the session quota), unimplemented (moto), or ended (sessions end after
 *   3 hours). The gap between the tail's last event and the session's start is filled by one poll.
 *   Polls re-read the last LOOKBACK of time, since CloudWatch ingests events seconds late and out of
 *   order across streams.
 * - An event is written once: polled events are told apart by `eventId`; Live Tail has no event id,
 *   so events from both sources are matched by stream, timestamp and message (counted, so a line
 *   printed twice in one millisecond is still written twice). Both sets are bounded.
 *
 * Before the first task: on a service whose tasks never started (no image, no capacity, moto) the
 * log group has no stream of the API, and silence would read as "it works but says nothing". A tail
 * that finds no line then checks for the API's streams (one DescribeLogStreams) and, when there is
 * none, says so in one control-plane line (`<time> axon   [<api>] no task of <api> has started
 * yet: … — axon get <api> --env <env> shows why`), which `axon logs` prints like any line of the
 * control plane. A follow says it once (unless its tail already did) and keeps waiting.
 *
 * Line shape: a line with the runtime's header (`<time> INFO [iris r-3fa2c1 w0] message`) keeps it
 * with the replica token replaced by the task's short id (`[iris 3fa2c1d0 w0]`, the first 8 hex
 * digits of the task id, as `copilot svc status` shows tasks); any other line (the container's
 * `axon-replica: …`, a predictor's `print()`) gets `<time> INFO [<api> <task8> front] <message>`.
 * The time is CloudWatch's event time in this machine's local time zone, also for lines that
 * carried their own: the container prints its local time (UTC on Fargate), while `axon logs` reads
 * header times as local.
 */
import { PREDICTION_LINE_KEY } from "../../replica/prediction-lines.js";
import type { FilteredLogEvent, LiveTailSessionLogEvent } from "@aws-sdk/client-cloudwatch-logs";
import { formatLogTime } from "../../events/log-line.js";
import type { LogSource } from "../provider.js";
import {
  REPLICA_CONTAINER,
  logStreamPrefix,
  taskIdOfStream,
  type AwsClusterRefs,
} from "./api-names.js";
import { callAws, type AwsCallDeps } from "./cluster-stack.js";
import type { AwsPorts, AwsTarget } from "./sdk.js";

export interface AwsLogSourceDeps {
  ports: AwsPorts;
  refs: AwsClusterRefs;
  target: AwsTarget;
  /** Pause between polls when following without Live Tail (default 2000 ms). */
  pollMs?: number;
  /** Injectable clock (where the tail's search windows end). */
  now?: () => number;
  /** Follow with Live Tail first (default true); false polls only. */
  liveTail?: boolean;
}

const DEFAULT_POLL_MS = 2000;
/** How far back each poll re-reads: CloudWatch makes events searchable seconds after their time. */
const LOOKBACK_MS = 15_000;
/** The tail's search windows, back from now, widened until enough lines are found. */
const TAIL_WINDOWS_MS = [
  60_000,
  10 * 60_000,
  60 * 60_000,
  6 * 60 * 60_000,
  24 * 60 * 60_000,
  7 * 24 * 60 * 60_000,
  30 * 24 * 60 * 60_000,
];
/** Remembered event ids and message keys, per follow. */
const MAX_REMEMBERED = 20_000;

/** One log event from either source. */
interface LogEvent {
  /** FilterLogEvents' id; Live Tail has none. */
  id?: string;
  stream: string;
  timestamp: number;
  message: string;
}

/** Where a tail ended, so that a follow from its position repeats none of it. */
interface TailMark {
  position: number;
  /** Follow polls from here (ms). */
  since: number;
  /** The tail's events at or after `since`: id and time. */
  ids: Array<[string, number]>;
  /** The tail said that no task has started yet (a follow from it does not say it again). */
  announced: boolean;
}

/** The AWS provider's `LogSource`: an API's replica streams in the cluster's log group. */
export class AwsLogSource implements LogSource {
  readonly #deps: AwsLogSourceDeps;
  readonly #pollMs: number;
  readonly #now: () => number;
  /** The last tail of each API read through this source (one entry per API). */
  readonly #tails = new Map<string, TailMark>();

  constructor(deps: AwsLogSourceDeps) {
    this.#deps = deps;
    this.#pollMs = deps.pollMs ?? DEFAULT_POLL_MS;
    this.#now = deps.now ?? Date.now;
  }

  async tail(apiName: string, lines: number): Promise<{ text: string; position: number }> {
    const now = this.#now();
    if (lines <= 0) {
      this.#tails.set(apiName, { position: now, since: now, ids: [], announced: false });
      return { text: "", position: now };
    }
    const call = this.#callDeps(new AbortController().signal);
    let kept: LogEvent[] = [];
    let end: number | undefined;
    for (const window of TAIL_WINDOWS_MS) {
      const start = now - window;
      const older = await this.#filter(call, apiName, start, end, lines - kept.length);
      kept = [...older, ...kept];
      if (kept.length >= lines) break;
      end = start - 1;
    }
    const last = kept.at(-1);
    const position = last?.timestamp ?? now;
    const notice =
      kept.length === 0 && !(await this.#hasStreams(call, apiName))
        ? noTaskYetLine(apiName, this.#deps.refs, now)
        : "";
    const first = kept[0];
    // With every line found, older ones than the first kept may share its window: start there.
    const since =
      kept.length >= lines && first !== undefined
        ? Math.max(first.timestamp, position - LOOKBACK_MS)
        : position - LOOKBACK_MS;
    this.#tails.set(apiName, {
      position,
      since,
      ids: kept.flatMap((event): Array<[string, number]> =>
        event.timestamp >= since && event.id !== undefined ? [[event.id, event.timestamp]] : [],
      ),
      announced: notice !== "",
    });
    if (notice !== "") return { text: notice, position };
    return { text: kept.map((event) => formatLogEvent(apiName, event)).join(""), position };
  }

  async follow(
    apiName: string,
    position: number,
    onData: (chunk: Buffer) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const mark = this.#tails.get(apiName);
    // A position this source's tail returned: poll from just before it, minus what it showed.
    // Any other position: strictly after it.
    const seen =
      mark !== undefined && mark.position === position
        ? new SeenEvents(mark.since, mark.ids)
        : new SeenEvents(position + 1, []);
    const write = (events: LogEvent[], source: "poll" | "live"): void => {
      const fresh = seen.accept(events, source).filter((event) => !isMetricLine(event.message));
      if (fresh.length > 0)
        onData(Buffer.from(fresh.map((event) => formatLogEvent(apiName, event)).join("")));
    };
    const call = this.#callDeps(signal);
    try {
      // Said once per follow, and not at all when its tail said it: the user waits for the first
      // task's lines knowing why nothing comes yet.
      const announced = mark !== undefined && mark.position === position && mark.announced;
      if (!announced && !(await this.#hasStreams(call, apiName)))
        onData(Buffer.from(noTaskYetLine(apiName, this.#deps.refs, this.#now())));
      if (this.#deps.liveTail !== false) await this.#liveTail(call, apiName, seen, write);
      while (!signal.aborted) {
        write(await this.#filter(call, apiName, seen.pollFrom(), undefined, Infinity), "poll");
        await sleep(this.#pollMs, signal);
      }
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    }
  }

  /**
   * Streams Live Tail updates to `write` until the session ends or fails; returns (without error)
   * when the caller should poll instead.
   */
  async #liveTail(
    call: AwsCallDeps,
    apiName: string,
    seen: SeenEvents,
    write: (events: LogEvent[], source: "poll" | "live") => void,
  ): Promise<void> {
    const logGroupArn = logGroupArnOf(this.#deps.refs);
    if (logGroupArn === undefined) return;
    let response;
    try {
      response = await this.#deps.ports.logs.startLiveTail(
        { logGroupIdentifiers: [logGroupArn], logStreamNamePrefixes: [streamPrefix(apiName)] },
        { abortSignal: call.signal },
      );
    } catch (error) {
      if (call.signal.aborted) throw error;
      return;
    }
    // What was written between the tail and the session's start: Live Tail only sends what
    // arrives after it began.
    write(await this.#filter(call, apiName, seen.pollFrom(), undefined, Infinity), "poll");
    try {
      for await (const update of response.responseStream ?? []) {
        if (update.sessionUpdate !== undefined) {
          const events = (update.sessionUpdate.sessionResults ?? [])
            .map(liveEvent)
            .sort((a, b) => a.timestamp - b.timestamp);
          write(events, "live");
        } else if (
          update.SessionTimeoutException !== undefined ||
          update.SessionStreamingException !== undefined
        ) {
          return;
        }
      }
    } catch (error) {
      if (call.signal.aborted) throw error;
    }
  }

  /** The API's events from `start` to `end` (ms, inclusive), every page, oldest first, the newest `keep`. */
  async #filter(
    call: AwsCallDeps,
    apiName: string,
    start: number,
    end: number | undefined,
    keep: number,
  ): Promise<LogEvent[]> {
    const events: LogEvent[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await callAws(call, "logs:FilterLogEvents", () =>
        this.#deps.ports.logs.filterLogEvents({
          logGroupName: this.#deps.refs.logGroupName,
          logStreamNamePrefix: streamPrefix(apiName),
          startTime: start,
          ...(end === undefined ? {} : { endTime: end }),
          ...(token === undefined ? {} : { nextToken: token }),
        }),
      );
      // The prefix is also checked here: AWS applies it, moto ignores it, and it costs nothing.
      const prefix = streamPrefix(apiName);
      events.push(
        ...(page.events ?? [])
          .filter(
            (event) =>
              (event.logStreamName ?? "").startsWith(prefix) && !isMetricLine(event.message ?? ""),
          )
          .map(filteredEvent),
      );
      // A page can be empty with more to come: only the token says when it ends.
      if (events.length > keep) {
        events.sort((a, b) => a.timestamp - b.timestamp);
        events.splice(0, events.length - keep);
      }
      nextToken = page.nextToken;
    } while (nextToken !== undefined && nextToken !== "" && !call.signal.aborted);
    return events.sort((a, b) => a.timestamp - b.timestamp);
  }

  /**
   * Whether any task of the API has created its log stream (awslogs makes one per task when the
   * container starts). Unknown counts as yes: this only decides whether to add a hint, and a
   * refused DescribeLogStreams must not break logs that FilterLogEvents can read.
   */
  async #hasStreams(call: AwsCallDeps, apiName: string): Promise<boolean> {
    try {
      const output = await callAws(call, "logs:DescribeLogStreams", () =>
        this.#deps.ports.logs.describeLogStreams({
          logGroupName: this.#deps.refs.logGroupName,
          logStreamNamePrefix: streamPrefix(apiName),
          limit: 1,
        }),
      );
      return (output.logStreams ?? []).length > 0;
    } catch (error) {
      if (call.signal.aborted) throw error;
      return true;
    }
  }

  #callDeps(signal: AbortSignal): AwsCallDeps {
    return { target: this.#deps.target, signal, pollMs: Math.min(this.#pollMs, 1000) };
  }
}

/**
 * The replica front's in-flight metric (CloudWatch Embedded Metric Format, `replica/emf-metrics.ts`)
 * and its prediction tallies (`replica/prediction-lines.ts`) share the replica's stdout with its
 * log: CloudWatch and `axon get` read them, `axon logs` leaves them out.
 */
function isMetricLine(message: string): boolean {
  return message.startsWith('{"_aws"') || message.startsWith(`{"${PREDICTION_LINE_KEY}"`);
}

/**
 * The control-plane line (`axon logs` reads the `axon` level as the control plane's) saying that
 * the API has no log stream yet, and where to look instead.
 */
function noTaskYetLine(apiName: string, refs: AwsClusterRefs, now: number): string {
  return `${formatLogTime(new Date(now))} axon   [${apiName}] no task of ${apiName} has started yet: its log streams appear in ${refs.logGroupName} when a replica's container starts — axon get ${apiName} --env ${refs.envName} shows why\n`;
}

/** The stream name prefix of an API's replica streams (the trailing `/` keeps `iris-v2` out). */
function streamPrefix(apiName: string): string {
  return `${logStreamPrefix(apiName)}/${REPLICA_CONTAINER}/`;
}

/**
 * The log group's ARN, which Live Tail needs: the account and partition are the cluster's
 * execution role's (same stack, same account), so no call is made for them.
 */
function logGroupArnOf(refs: AwsClusterRefs): string | undefined {
  const match = /^arn:([^:]+):iam::(\d{12}):/.exec(refs.executionRoleArn);
  if (match === null) return undefined;
  return `arn:${match[1]}:logs:${refs.region}:${match[2]}:log-group:${refs.logGroupName}`;
}

const RUNTIME_HEADER =
  /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,3})?( +[A-Za-z]+ +)\[([^\]]*)\]/;

/** One event as `axon logs` lines (see the header comment), ending in a newline. */
function formatLogEvent(apiName: string, event: LogEvent): string {
  const task = taskIdOfStream(event.stream).slice(0, 8);
  const time = formatLogTime(new Date(event.timestamp));
  const text = event.message.replace(/\r?\n$/, "");
  const match = RUNTIME_HEADER.exec(text);
  if (match === null) return `${time} INFO [${apiName} ${task} front] ${text}\n`;
  const tokens = (match[2] ?? "").split(" ");
  if (tokens.length >= 2) tokens[1] = task;
  return `${time}${match[1] ?? " "}[${tokens.join(" ")}]${text.slice(match[0].length)}\n`;
}

function filteredEvent(event: FilteredLogEvent): LogEvent {
  return {
    ...(event.eventId === undefined ? {} : { id: event.eventId }),
    stream: event.logStreamName ?? "",
    timestamp: event.timestamp ?? 0,
    message: event.message ?? "",
  };
}

function liveEvent(event: LiveTailSessionLogEvent): LogEvent {
  return {
    stream: event.logStreamName ?? "",
    timestamp: event.timestamp ?? 0,
    message: event.message ?? "",
  };
}

/** What a follow has written, so that each event is written once across polls and Live Tail. */
class SeenEvents {
  #since: number;
  #latest = 0;
  /** Polled event ids (with their time, to forget them once polls no longer reach back to them). */
  readonly #ids = new Map<string, number>();
  /** How often each source reported a stream/time/message, and how often it was written. */
  readonly #counts = { poll: new Map<string, number>(), live: new Map<string, number>() };
  readonly #written = new Map<string, number>();

  constructor(since: number, ids: Array<[string, number]>) {
    this.#since = since;
    for (const [id, timestamp] of ids) this.#ids.set(id, timestamp);
  }

  /** Where the next poll starts. */
  pollFrom(): number {
    return Math.max(this.#since, this.#latest - LOOKBACK_MS);
  }

  /** The events not written yet, in the order given; remembers them. */
  accept(events: LogEvent[], source: "poll" | "live"): LogEvent[] {
    const fresh: LogEvent[] = [];
    for (const event of events) {
      if (event.id !== undefined) {
        if (this.#ids.has(event.id)) continue;
        this.#ids.set(event.id, event.timestamp);
      }
      const key = `${event.stream}\u0000${event.timestamp}\u0000${event.message}`;
      const counts = this.#counts[source];
      const count = (counts.get(key) ?? 0) + 1;
      counts.set(key, count);
      if (count <= (this.#written.get(key) ?? 0)) continue;
      this.#written.set(key, count);
      this.#latest = Math.max(this.#latest, event.timestamp);
      fresh.push(event);
    }
    this.#forget();
    return fresh;
  }

  /** Keeps the memory bounded: ids polls no longer reach, and the oldest keys past the cap. */
  #forget(): void {
    const from = this.pollFrom();
    for (const [id, timestamp] of this.#ids) {
      if (timestamp < from || this.#ids.size > MAX_REMEMBERED) this.#ids.delete(id);
    }
    for (const map of [this.#written, this.#counts.poll, this.#counts.live]) {
      for (const key of map.keys()) {
        if (map.size <= MAX_REMEMBERED) break;
        map.delete(key);
      }
    }
  }
}

/** Waits `ms`, or less when `signal` aborts (never rejects). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
