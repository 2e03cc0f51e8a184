import type { ApiSummary } from "@axon/control-plane/api";
import { render } from "ink-testing-library";
import { describe, expect, it } from "vitest";
import { addSnapshot, type ApiTrends, type WatchSnapshot } from "../services/watch.js";
import { makeApiDetail } from "../testing/fake-control-plane.js";
import { ApiWatch, type ApiWatchProps } from "./ApiWatch.js";
import { ColorProvider } from "./Tint.js";

// Local time, so the clock in the header reads 17:25:03 in any time zone.
const NOW = new Date(2026, 11, 3, 17, 25, 3);

function summary(name: string, served: number, overrides: Partial<ApiSummary> = {}): ApiSummary {
  return {
    ...makeApiDetail(name, `http://localhost:8888/${name}`, "live"),
    lastUpdated: new Date(NOW.getTime() - 17 * 60_000).toISOString(),
    metrics: {
      requests: { "2XX": served, "4XX": 0, "5XX": 2 },
      avgLatencyMs: 2.31,
      p99LatencyMs: 5.12,
      inFlight: 1,
    },
    ...overrides,
  };
}

/** Trends after looks one second apart, with these 2XX totals for iris. */
function trendsFrom(
  totals: number[],
  others: ApiSummary[] = [],
): { trends: ApiTrends; last: WatchSnapshot } {
  let trends: ApiTrends = new Map();
  let last: WatchSnapshot = { at: NOW.toISOString(), apis: [] };
  totals.forEach((total, i) => {
    last = {
      at: new Date(NOW.getTime() - (totals.length - 1 - i) * 1000).toISOString(),
      apis: [summary("iris-classifier", total), ...others],
    };
    trends = addSnapshot(trends, last);
  });
  return { trends, last };
}

/** The screen at `width` columns (100 unless said), colours off, at NOW. */
function frame(props: Pick<ApiWatchProps, "snapshot" | "trends" | "events">, width = 100): string {
  const { lastFrame } = render(
    <ColorProvider enabled={false}>
      <ApiWatch {...props} now={NOW} width={width} intervalMs={1000} />
    </ColorProvider>,
  );
  return lastFrame() ?? "";
}

describe("ApiWatch (every api)", () => {
  it("shows a row per api with replicas by state, requests/s and a sparkline, at 100 columns", () => {
    // Given iris serving more and more, and an api still starting a replica
    const starting = summary("text-generator", 0, {
      status: "updating",
      replicas: { requested: 2, upToDate: 1, stale: 0, initializing: 1, failed: 0 },
      metrics: {
        requests: { "2XX": 0, "4XX": 0, "5XX": 0 },
        avgLatencyMs: null,
        p99LatencyMs: null,
        inFlight: 0,
      },
    });
    const { trends, last } = trendsFrom([0, 10, 30, 60, 100], [starting]);

    // When rendering the screen with colours off
    const screen = frame({ snapshot: last, trends, events: [] });

    // Then the rows line up and the sparkline rises
    expect(screen).toMatchInlineSnapshot(`
      "axon get --watch  17:25:03 · every 1s · Ctrl-C to stop

      api              status    replicas         req/s   avg      p99      2XX  4XX  5XX  req/s, last 2m
      iris-classifier  live      1/1              40.0/s  2.31 ms  5.12 ms  100  -    2     ▃▅▆█
      text-generator   updating  1/2 +1 starting  0.0/s   -        -        -    -    -     ▁▁▁▁"
    `);
  });

  it("says it is looking before the first answer, and when nothing is deployed", () => {
    expect(frame({ snapshot: undefined, trends: new Map(), events: [] })).toContain(
      "looking at the cluster...",
    );
    expect(
      frame({ snapshot: { at: NOW.toISOString(), apis: [] }, trends: new Map(), events: [] }),
    ).toContain("no apis are deployed");
  });

  it("lists BatchAPIs in their own table under the APIs, and alone when there is no other API", () => {
    // Given a look with one BatchAPI, with and without a realtime API
    const batchApis = [
      {
        name: "scorer",
        kind: "BatchAPI" as const,
        endpoint: "http://localhost:8888/scorer",
        lastUpdated: new Date(NOW.getTime() - 3 * 60_000).toISOString(),
        runningJobs: 1,
        latestJobId: "69d6faf8a4",
      },
    ];
    const at = NOW.toISOString();
    const both = frame({
      snapshot: { at, apis: [summary("iris-classifier", 10)], batchApis },
      trends: new Map(),
      events: [],
    });
    const alone = frame({ snapshot: { at, apis: [], batchApis }, trends: new Map(), events: [] });

    // Then the batch table follows the API rows after a blank line, with Cortex's columns
    expect(both).toMatch(/iris-classifier[^\n]*\n\nbatch api   running jobs   latest job id/);
    expect(both).toContain("scorer      1              69d6faf8a4      3m");
    // And alone, without "no apis are deployed"
    expect(alone).toContain("batch api   running jobs");
    expect(alone).not.toContain("no apis are deployed");
  });
});

describe("ApiWatch (one api)", () => {
  it("shows replicas by state, requests/s and p99 with sparklines, and the recent events", () => {
    // Given iris watched for five looks, with a failure among its events
    const { trends } = trendsFrom([0, 10, 30, 60, 100]);
    const detail = {
      ...makeApiDetail("iris-classifier", "http://localhost:8888/iris-classifier", "live"),
      ...summary("iris-classifier", 100),
      autoscaling: {
        avgInFlight: 2.4,
        recommendation: 3,
        lastScaled: {
          at: new Date(NOW.getTime() - 30_000).toISOString(),
          message: "scaled up 1 → 3: avg in-flight 2.4 over 1m0s, target 1 per replica",
        },
      },
    };
    const snapshot: WatchSnapshot = { at: NOW.toISOString(), apis: [detail], detail };
    const events = [
      {
        time: new Date(NOW.getTime() - 120_000).toISOString(),
        level: "info" as const,
        message: "created version v-1",
      },
      {
        time: new Date(NOW.getTime() - 65_000).toISOString(),
        level: "error" as const,
        message: "replica r-aaa111 failed: predictor raised ImportError",
      },
      {
        time: new Date(NOW.getTime() - 4_000).toISOString(),
        level: "info" as const,
        message: "replica r-bbb222 is ready (0.9s)",
      },
    ];

    // When rendering it at 100 columns
    const screen = frame({ snapshot, trends, events });

    // Then every part is there
    expect(screen).toMatchInlineSnapshot(`
      "axon get --watch  17:25:03 · every 1s · Ctrl-C to stop

      iris-classifier   live   http://localhost:8888/iris-classifier

      replicas    1 ready of 1 requested · 0 starting · 0 on the old version · 0 failed
      requests    40.0/s    ▃▅▆█
      p99         5.12 ms   ▄▄▄▄
      avg         2.31 ms
      responses   100 ok (2XX) · 2 server errors (5XX)
      in flight   1

      autoscaling
        avg in-flight 2.4 over the window: 3 replicas recommended, 1 requested
        scaled up 1 → 3: avg in-flight 2.4 over 1m0s, target 1 per replica (30s ago)

      events
        2m ago   info    created version v-1
        1m ago   error   replica r-aaa111 failed: predictor raised ImportError
        4s ago   info    replica r-bbb222 is ready (0.9s)"
    `);
  });

  it("starts both sparklines in one column at 40 columns, however wide the values", () => {
    // Given iris after a burst (a wide rate) with a p99 of seconds and no errors
    const { trends } = trendsFrom([0, 5000, 25_000, 60_000]);
    const base = summary("iris-classifier", 60_000);
    const detail = {
      ...makeApiDetail("iris-classifier", "http://localhost:8888/iris-classifier", "live"),
      ...base,
      metrics: {
        ...base.metrics,
        requests: { "2XX": 60_000, "4XX": 0, "5XX": 0 },
        p99LatencyMs: 1234.5,
        avgLatencyMs: 800,
        inFlight: 3,
      },
    };
    const snapshot: WatchSnapshot = { at: NOW.toISOString(), apis: [detail], detail };

    // When rendering it at 40 columns
    const screen = frame({ snapshot, trends, events: [] }, 40);

    // Then the requests and p99 sparklines begin in the same column, and responses read plainly
    const lines = screen.split("\n");
    const requests = lines.find((line) => line.startsWith("requests")) ?? "";
    const p99 = lines.find((line) => line.startsWith("p99")) ?? "";
    expect(requests.search(/[▁-█]/)).toBe(p99.search(/[▁-█]/));
    expect(screen).toMatchInlineSnapshot(`
      "axon get --watch  17:25:03 · every 1s · Ctrl-C to stop

      iris-classifier   live   http://localhost:8888/iris-classifier

      replicas    1 ready of 1 requested · 0 starting · 0 on the old version · 0 failed
      requests    35000/s   ▂▅█
      p99         1.23 s    ▄▄▄
      avg         800 ms
      responses   60000 ok (2XX)
      in flight   3

      events
        none yet"
    `);
  });

  it("draws an ECS API's load balancer minutes (requests/s, 5xx, p99), its task counts and the engine's redraw interval, at 80 columns", () => {
    // Given iris on ECS: six minutes of traffic with a burst of 5xx, 2 of 3 tasks running
    const minute = (i: number, requests: number, errors5xx: number, p99Ms: number | null) => ({
      at: new Date(NOW.getTime() - (6 - i) * 60_000).toISOString(),
      requests,
      requestsPerSecond: requests / 60,
      errors5xx,
      errorRate: requests === 0 ? null : errors5xx / requests,
      p99Ms,
    });
    const detail = {
      ...makeApiDetail("iris", "http://axon-demo.elb.amazonaws.com/iris", "updating"),
      events: [
        {
          time: new Date(NOW.getTime() - 30_000).toISOString(),
          type: "info" as const,
          message: "(service axon-iris) has started 1 tasks",
        },
      ],
      traffic: {
        redrawMs: 10_000,
        minutes: [
          minute(0, 0, 0, null),
          minute(1, 600, 0, 40),
          minute(2, 1200, 0, 42),
          minute(3, 1800, 90, 250),
          minute(4, 1800, 0, 45),
          minute(5, 2400, 12, 48.5),
        ],
        replicas: { desired: 3, running: 2, pending: 1 },
        scaling: { min: 1, max: 5 },
      },
    };
    const snapshot: WatchSnapshot = {
      at: NOW.toISOString(),
      apis: [detail],
      detail,
      redrawMs: detail.traffic.redrawMs,
    };

    // When rendering it at 80 columns, the events as the look listed them
    const events = detail.events.map(({ time, type, message }) => ({ time, level: type, message }));
    const screen = frame({ snapshot, trends: addSnapshot(new Map(), snapshot), events }, 80);

    // Then the rows are the load balancer's per minute, not the local counters, every 10s
    expect(screen).toMatchInlineSnapshot(`
      "axon get --watch  17:25:03 · every 10s · Ctrl-C to stop

      iris   updating   http://axon-demo.elb.amazonaws.com/iris

      replicas    2 running of 3 desired · 1 pending · autoscaling 1–5
      requests    40.0/s    ▁▃▅▆▆█
      5xx         0.5%       ▁▁█▁▂
      p99         48.5 ms    ▁▁█▁▁
                  per minute, last 6m, from the load balancer

      events
        30s ago  info    (service axon-iris) has started 1 tasks"
    `);
  });
});
