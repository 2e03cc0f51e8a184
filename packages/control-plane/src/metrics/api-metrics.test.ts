import { describe, expect, it } from "vitest";
import type { RouteContext } from "../http/context.js";
import { buildApiServer } from "../http/server.js";
import { emptyStats, mergeStats, RequestRecorder, type RequestStats } from "../replica/metrics.js";
import {
  type MetricsSource,
  type ReplicaMetricsView,
  renderPrometheus,
  summarizeMetrics,
} from "./api-metrics.js";

function statsOf(samples: Array<[status: number, ms: number]>): RequestStats {
  const recorder = new RequestRecorder();
  for (const [status, ms] of samples) recorder.record(status, ms);
  return recorder.stats();
}

function sourceOf(
  replicas: ReplicaMetricsView[],
  retired: Record<string, RequestStats> = {},
): MetricsSource {
  return {
    replicaMetrics: () => replicas,
    apiRequestStats: (apiName) => {
      const total = emptyStats();
      for (const r of replicas) if (r.apiName === apiName) mergeStats(total, r.stats);
      const gone = retired[apiName];
      return gone === undefined ? total : mergeStats(total, gone);
    },
    metricApiNames: () => Object.keys(retired),
    inFlightSamples: () => [],
  };
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict parser for the subset of the Prometheus text format that renderPrometheus emits. */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  expect(text.endsWith("\n")).toBe(true);
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("# HELP ")) continue;
    const type = /^# TYPE ([a-z_]+) (counter|gauge|histogram)$/.exec(line);
    if (type !== null) {
      types.set(type[1] ?? "", type[2] ?? "");
      continue;
    }
    const match = /^([a-z_]+)\{((?:[a-z_]+="(?:[^"\\]|\\.)*",?)*)\} (\S+)$/.exec(line);
    if (match === null) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? "").matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key ?? ""] = value ?? "";
    }
    const value = Number(match[3]);
    expect(Number.isFinite(value)).toBe(true);
    samples.push({ name: match[1] ?? "", labels, value });
  }
  return { samples, types };
}

describe("summarizeMetrics", () => {
  it("counts by status class and reports mean and p99 latency", () => {
    // Given 98 fast successes, one 404 and one slow 500
    const stats = statsOf([
      ...Array.from({ length: 98 }, (): [number, number] => [200, 2]),
      [404, 2],
      [500, 400],
    ]);

    // When summarised
    const summary = summarizeMetrics(stats, 3);

    // Then the counts are by class, the mean is exact and p99 falls in the 1–2.5 ms bucket
    expect(summary.requests).toEqual({ "2XX": 98, "4XX": 1, "5XX": 1 });
    expect(summary.avgLatencyMs).toBe(5.98);
    expect(summary.p99LatencyMs).toBeGreaterThan(1);
    expect(summary.p99LatencyMs).toBeLessThanOrEqual(2.5);
    expect(summary.inFlight).toBe(3);
  });

  it("never reports a p99 above the slowest request, also past the last bucket", () => {
    // Given two requests of 1.0 s (inside the 1–2.5 s bucket) and eight fast 503s
    const slow = statsOf([
      [200, 1_000.4],
      [200, 1_003],
      ...Array.from({ length: 8 }, (): [number, number] => [503, 1]),
    ]);
    // And requests slower than the last bucket's bound (60 s)
    const hung = statsOf([
      [504, 75_000],
      [504, 90_000],
    ]);

    // When summarised, Then p99 is at most the slowest request, not the bucket's bound
    expect(summarizeMetrics(slow, 0).p99LatencyMs).toBeLessThanOrEqual(1_003);
    expect(summarizeMetrics(slow, 0).p99LatencyMs).toBeGreaterThan(1_000);
    expect(summarizeMetrics(hung, 0).p99LatencyMs).toBeGreaterThan(60_000);
    expect(summarizeMetrics(hung, 0).p99LatencyMs).toBeLessThanOrEqual(90_000);
  });

  it("reports the slowest request as p99 when there are fewer than 100 (never below the mean of one)", () => {
    expect(summarizeMetrics(statsOf([[200, 2.7182]]), 0)).toMatchObject({
      avgLatencyMs: 2.72,
      p99LatencyMs: 2.72,
    });
    expect(
      summarizeMetrics(
        statsOf([
          [200, 1],
          [200, 3],
          [200, 40],
        ]),
        0,
      ).p99LatencyMs,
    ).toBe(40);
  });

  it("has no latency before the first request", () => {
    expect(summarizeMetrics(statsOf([]), 0)).toEqual({
      requests: { "2XX": 0, "4XX": 0, "5XX": 0 },
      avgLatencyMs: null,
      p99LatencyMs: null,
      inFlight: 0,
    });
  });
});

describe("renderPrometheus", () => {
  it("emits parseable counters, cumulative histograms and gauges per replica, plus API totals", () => {
    // Given two replicas of one API and the totals of a replica that is gone
    const source = sourceOf(
      [
        {
          apiName: "iris",
          replicaId: "r-1",
          inFlight: 2,
          stats: statsOf([
            [200, 0.5],
            [200, 30],
            [503, 0.1],
          ]),
        },
        { apiName: "iris", replicaId: "r-2", inFlight: 0, stats: statsOf([[400, 7]]) },
      ],
      { iris: statsOf([[200, 1]]) },
    );

    // When rendered and parsed
    const { samples, types } = parsePrometheus(renderPrometheus(source));

    // Then every family is typed
    expect(Object.fromEntries(types)).toEqual({
      axon_in_flight_requests: "gauge",
      axon_requests_total: "counter",
      axon_request_duration_seconds: "histogram",
      axon_api_requests_total: "counter",
    });
    const find = (name: string, labels: Record<string, string>): number | undefined =>
      samples.find(
        (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
      )?.value;
    // And the gauge and counters are per replica and class
    expect(find("axon_in_flight_requests", { replica: "r-1" })).toBe(2);
    expect(find("axon_requests_total", { replica: "r-1", code: "2XX" })).toBe(2);
    expect(find("axon_requests_total", { replica: "r-1", code: "5XX" })).toBe(1);
    expect(find("axon_requests_total", { replica: "r-2", code: "4XX" })).toBe(1);
    // And the histogram buckets are cumulative, ending in +Inf = count
    const buckets = samples.filter(
      (s) => s.name === "axon_request_duration_seconds_bucket" && s.labels["replica"] === "r-1",
    );
    const values = buckets.map((b) => b.value);
    expect(values).toEqual(values.toSorted((a, b) => a - b));
    expect(find("axon_request_duration_seconds_bucket", { replica: "r-1", le: "0.001" })).toBe(2);
    expect(find("axon_request_duration_seconds_bucket", { replica: "r-1", le: "+Inf" })).toBe(3);
    expect(find("axon_request_duration_seconds_count", { replica: "r-1" })).toBe(3);
    expect(find("axon_request_duration_seconds_sum", { replica: "r-1" })).toBeCloseTo(0.0306, 6);
    // And the API totals include the replica that is gone
    expect(find("axon_api_requests_total", { api: "iris", code: "2XX" })).toBe(3);
    expect(find("axon_api_requests_total", { api: "iris", code: "4XX" })).toBe(1);
  });

  it("escapes label values", () => {
    const text = renderPrometheus(
      sourceOf([{ apiName: 'a"b\\c', replicaId: "r-1", inFlight: 0, stats: statsOf([]) }]),
    );
    expect(text).toContain('axon_in_flight_requests{api="a\\"b\\\\c",replica="r-1"} 0');
    expect(() => parsePrometheus(text)).not.toThrow();
  });
});

describe("GET /metrics", () => {
  it("serves the Prometheus text behind the bearer token", async () => {
    // Given an API server whose provider reports one replica
    const metrics = sourceOf([
      { apiName: "iris", replicaId: "r-1", inFlight: 1, stats: statsOf([[200, 3]]) },
    ]);
    const app = buildApiServer(
      { provider: { metrics } } as unknown as RouteContext,
      "secret-token",
    );

    // When scraped without the token
    const anonymous = await app.inject({ method: "GET", url: "/metrics" });
    // Then it is refused
    expect(anonymous.statusCode).toBe(401);

    // When scraped with the token
    const res = await app.inject({
      method: "GET",
      url: "/metrics",
      headers: { authorization: "Bearer secret-token" },
    });
    // Then it is Prometheus text with the replica's numbers
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    const { samples } = parsePrometheus(res.body);
    expect(samples).toContainEqual({
      name: "axon_requests_total",
      labels: { api: "iris", replica: "r-1", code: "2XX" },
      value: 1,
    });
    await app.close();
  });
});
