/**
 * `axon get --watch` as data: what each look at the control plane returned (`WatchSnapshot`), and
 * the per-API trends computed from consecutive looks (requests per second from the request
 * counters, p99 and average latency as reported), kept for the last `TREND_SAMPLES` looks; and a
 * TrafficSplitter's looks. Pure except `pollApis` and `pollSplitter`, which only call the client
 * they are given.
 */
import type {
  ApiDetail,
  ApiSummary,
  BatchApiSummary,
  TrafficSplitterSummary,
} from "@axon/control-plane/api";
import type { ApiClient } from "../client/api-client.js";
import { sleep } from "../context.js";
import { UserError } from "../errors.js";

/** One look: every API (or the one asked for, with its detail). */
export interface WatchSnapshot {
  /** ISO time of the look. */
  at: string;
  apis: ApiSummary[];
  /** Present when one API is watched. */
  detail?: ApiDetail;
  /** The BatchAPIs, when every API is watched and the engine has some. */
  batchApis?: BatchApiSummary[];
  /** How often the engine asks to be looked at (ECS: its answers cost AWS calls). */
  redrawMs?: number;
}

/** How many looks the trends keep: two minutes at one look a second. */
export const TREND_SAMPLES = 120;

/** One API's recent history, oldest first; `null` where there was nothing to measure. */
export interface ApiTrend {
  /** Requests answered per second between consecutive looks. */
  requestsPerSecond: (number | null)[];
  p99LatencyMs: (number | null)[];
  /** The counters of the last look, to compute the next rate. */
  last: { at: number; total: number } | undefined;
}

/** Trends by API name. */
export type ApiTrends = ReadonlyMap<string, ApiTrend>;

/** The trends after one more look; APIs that are gone are dropped. A new map: fit for React state. */
export function addSnapshot(trends: ApiTrends, snapshot: WatchSnapshot): ApiTrends {
  const at = new Date(snapshot.at).getTime();
  const next = new Map<string, ApiTrend>();
  for (const api of snapshot.apis) {
    const previous = trends.get(api.name);
    const total = requestTotal(api);
    let rate: number | null = null;
    if (previous?.last !== undefined && total !== undefined && at > previous.last.at) {
      // A counter that went down means the control plane restarted: no rate for that step.
      const delta = total - previous.last.total;
      rate = delta >= 0 ? delta / ((at - previous.last.at) / 1000) : null;
    }
    next.set(api.name, {
      requestsPerSecond: keepLast([...(previous?.requestsPerSecond ?? []), rate]),
      p99LatencyMs: keepLast([
        ...(previous?.p99LatencyMs ?? []),
        api.metrics?.p99LatencyMs ?? null,
      ]),
      last: total === undefined ? undefined : { at, total },
    });
  }
  return next;
}

/** The latest requests-per-second of an API, undefined before two looks. */
export function currentRate(trend: ApiTrend | undefined): number | undefined {
  const rate = trend?.requestsPerSecond.at(-1);
  return rate === null || rate === undefined ? undefined : rate;
}

function requestTotal(api: ApiSummary): number | undefined {
  if (api.metrics === undefined) return undefined;
  const { requests } = api.metrics;
  return requests["2XX"] + requests["4XX"] + requests["5XX"];
}

function keepLast<T>(values: T[]): T[] {
  return values.length > TREND_SAMPLES ? values.slice(values.length - TREND_SAMPLES) : values;
}

/** What to watch and how often. */
export interface PollOptions {
  /** One API (its detail), or every API when undefined. */
  name: string | undefined;
  intervalMs: number;
  signal: AbortSignal;
  now: () => Date;
}

/**
 * Looks at the control plane every `intervalMs` and hands each snapshot to `onSnapshot`, until
 * `signal` aborts (throws `InterruptedError`) or a look fails (throws its `UserError`).
 */
export async function pollApis(
  client: ApiClient,
  options: PollOptions,
  onSnapshot: (snapshot: WatchSnapshot) => void | Promise<void>,
): Promise<never> {
  for (;;) {
    const started = Date.now();
    const snapshot = await lookOnce(client, options.name, options.now);
    await onSnapshot(snapshot);
    const interval = redrawInterval(snapshot, options.intervalMs);
    await sleep(Math.max(0, interval - (Date.now() - started)), options.signal);
  }
}

/** Minutes of load balancer traffic a look at one API asks for (drawn a minute per bar). */
export const TRAFFIC_MINUTES = 30;

/**
 * How long until the next look: what the engine asks for when its answers cost calls (ECS's
 * `redrawMs` on the list, `traffic.redrawMs` on one API), else `intervalMs`.
 */
export function redrawInterval(snapshot: WatchSnapshot, intervalMs: number): number {
  return snapshot.redrawMs ?? intervalMs;
}

/** One snapshot. */
export async function lookOnce(
  client: ApiClient,
  name: string | undefined,
  now: () => Date,
): Promise<WatchSnapshot> {
  if (name === undefined) {
    const { apis, batchApis, redrawMs } = await client.listApis();
    return {
      at: now().toISOString(),
      apis,
      ...(batchApis === undefined || batchApis.length === 0 ? {} : { batchApis }),
      ...(redrawMs === undefined ? {} : { redrawMs }),
    };
  }
  const detail = await client.getApi(name, { trafficMinutes: TRAFFIC_MINUTES });
  const redrawMs = detail.traffic?.redrawMs;
  return {
    at: now().toISOString(),
    apis: [detail],
    detail,
    ...(redrawMs === undefined ? {} : { redrawMs }),
  };
}

/** One look at a TrafficSplitter (`get <splitter> --watch`). */
export interface SplitterLook {
  /** ISO time of the look. */
  at: string;
  splitter: TrafficSplitterSummary;
  /** How often the engine asks to be looked at (ECS: the list's answers cost AWS calls). */
  redrawMs?: number;
}

/**
 * Looks at the splitter `name` every `intervalMs` (or the engine's `redrawMs`) and hands each look
 * to `onLook`, until `signal` aborts (throws `InterruptedError`), a look fails, or the splitter is
 * no longer deployed (throws a `UserError` saying so). A splitter has no detail route: its summary
 * in the list is what `get <splitter>` shows.
 */
export async function pollSplitter(
  client: Pick<ApiClient, "listApis">,
  name: string,
  options: Omit<PollOptions, "name">,
  onLook: (look: SplitterLook) => void | Promise<void>,
): Promise<never> {
  for (;;) {
    const started = Date.now();
    const list = await client.listApis();
    const splitter = list.trafficSplitters?.find((candidate) => candidate.name === name);
    if (splitter === undefined) {
      throw new UserError(`traffic splitter ${name} is no longer deployed`, {
        hint: "`axon get` lists what is deployed",
      });
    }
    const look: SplitterLook = {
      at: options.now().toISOString(),
      splitter,
      ...(list.redrawMs === undefined ? {} : { redrawMs: list.redrawMs }),
    };
    await onLook(look);
    const interval = look.redrawMs ?? options.intervalMs;
    await sleep(Math.max(0, interval - (Date.now() - started)), options.signal);
  }
}
