/**
 * The effect behind `axon get --watch`: look at the control plane every interval, keep the trends,
 * and (for one API) follow its live events. Everything it does comes in through `WatchSource`, so
 * the view stays props-in/view-out and tests can drive the hook with plain functions.
 */
import { useEffect, useState } from "react";
import {
  addSnapshot,
  redrawInterval,
  type ApiTrends,
  type WatchSnapshot,
} from "../services/watch.js";
import type { WatchEvent } from "./ApiWatch.js";

/** Where the watch gets its data. */
export interface WatchSource {
  look: () => Promise<WatchSnapshot>;
  /** Follows live events until `stop` aborts; absent when watching every API. */
  follow?: (onEvent: (event: WatchEvent) => void, stop: AbortSignal) => Promise<void>;
  intervalMs: number;
  now: () => Date;
  /** A look or the event stream failed: the watch ends with this error. */
  onError: (error: unknown) => void;
}

/** What the view needs, updated after each look and each event. */
export interface WatchState {
  snapshot: WatchSnapshot | undefined;
  trends: ApiTrends;
  events: WatchEvent[];
  now: Date;
}

/** How many events the hook keeps (the view shows the last few). */
const KEPT_EVENTS = 50;

export function useApiWatch(source: WatchSource): WatchState {
  const [state, setState] = useState<WatchState>({
    snapshot: undefined,
    trends: new Map(),
    events: [],
    now: source.now(),
  });

  useEffect(() => {
    const stop = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let first = true;
    // Without a live stream (none asked, or the engine has none) each look's stored events are
    // the events; with one, they seed the list once and the stream adds the rest.
    let live = source.follow !== undefined;
    const tick = async (): Promise<void> => {
      try {
        const snapshot = await source.look();
        if (stop.signal.aborted) return;
        // The stored events seed the list once; the live stream adds the rest. (Decided here:
        // the updater below runs later, during React's render.)
        const stored = snapshot.detail?.events.map(({ time, type, message }) => ({
          time,
          level: type,
          message,
        }));
        const seed = first || !live ? stored : undefined;
        const replace = !live;
        first = false;
        setState((previous) => ({
          snapshot,
          trends: addSnapshot(previous.trends, snapshot),
          events:
            seed === undefined
              ? previous.events
              : replace
                ? seed.slice(-KEPT_EVENTS)
                : [...seed, ...previous.events],
          now: source.now(),
        }));
        timer = setTimeout(() => void tick(), redrawInterval(snapshot, source.intervalMs));
      } catch (error) {
        if (!stop.signal.aborted) source.onError(error);
      }
    };
    void tick();
    source
      .follow?.((event) => {
        setState((previous) => ({
          ...previous,
          events: [...previous.events, event].slice(-KEPT_EVENTS),
        }));
      }, stop.signal)
      .then(() => {
        live = false;
      })
      .catch((error: unknown) => {
        if (!stop.signal.aborted) source.onError(error);
      });
    return () => {
      stop.abort();
      clearTimeout(timer);
    };
  }, [source]);

  return state;
}
