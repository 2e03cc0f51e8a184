/**
 * The in-flight metric's EMF lines, the publisher that writes them (on a fake clock), and the
 * task identity read from a stand-in ECS task metadata endpoint on 127.0.0.1.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, onTestFinished, vi } from "vitest";
import {
  IN_FLIGHT_METRIC,
  METRIC_DIMENSIONS,
  METRIC_NAMESPACE,
} from "../providers/aws/api-names.js";
import {
  EMF_DIMENSIONS,
  EMF_IN_FLIGHT_METRIC,
  EMF_NAMESPACE,
  InFlightPublisher,
  inFlightEmfLine,
  resolveMetricIdentity,
} from "./emf-metrics.js";
import type { InFlightSample } from "./metrics.js";

afterEach(() => {
  vi.useRealTimers();
});

const LINE_INPUT = {
  cluster: "axon-demo",
  api: "iris",
  taskId: "0123456789abcdef0123456789abcdef",
  timestampMs: 1_700_000_000_000,
  inFlight: 2.5,
  maxInFlight: 4,
};

describe("inFlightEmfLine", () => {
  it("Given an interval's values, When made into a line, Then it is one JSON object with every member the EMF specification requires", () => {
    const line = inFlightEmfLine(LINE_INPUT);

    expect(line).not.toContain("\n");
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(parsed).toEqual({
      _aws: {
        Timestamp: 1_700_000_000_000,
        CloudWatchMetrics: [
          {
            Namespace: "Axon",
            Dimensions: [["Cluster", "Api"]],
            Metrics: [{ Name: "InFlightRequests", Unit: "Count", StorageResolution: 60 }],
          },
        ],
      },
      Cluster: "axon-demo",
      Api: "iris",
      TaskId: "0123456789abcdef0123456789abcdef",
      InFlightRequests: 2.5,
      MaxInFlight: 4,
    });
    // Every dimension of every set, and every metric, is a root member; values have the right types.
    const directive = (
      parsed["_aws"] as {
        CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[];
      }
    ).CloudWatchMetrics[0];
    for (const name of directive?.Dimensions.flat() ?? [])
      expect(typeof parsed[name]).toBe("string");
    for (const metric of directive?.Metrics ?? [])
      expect(typeof parsed[metric.Name]).toBe("number");
    expect(typeof (parsed["_aws"] as { Timestamp: unknown }).Timestamp).toBe("number");
  });

  it("Given a long fraction, When made into a line, Then the value keeps three decimals and stays a number", () => {
    const parsed = JSON.parse(inFlightEmfLine({ ...LINE_INPUT, inFlight: 1 / 3 })) as {
      InFlightRequests: unknown;
    };
    expect(parsed.InFlightRequests).toBe(0.333);
  });

  it("Given a value that is not a finite number, When made into a line, Then it is refused naming the field", () => {
    expect(() => inFlightEmfLine({ ...LINE_INPUT, inFlight: Number.NaN })).toThrow(
      /inFlight must be a finite number/,
    );
  });

  it("Given the control plane's metric names, When compared, Then the data plane's copies are equal", () => {
    expect(EMF_NAMESPACE).toBe(METRIC_NAMESPACE);
    expect(EMF_IN_FLIGHT_METRIC).toBe(IN_FLIGHT_METRIC);
    expect(EMF_DIMENSIONS).toEqual(METRIC_DIMENSIONS);
  });
});

/** A sampler like the replica front's: one sample a second, value from `valueAt(whole seconds)`. */
function fakeSampler(valueAt: (second: number) => number): {
  tick: () => void;
  source: (since: number) => InFlightSample[];
} {
  const samples: InFlightSample[] = [];
  return {
    tick: () => {
      const at = Date.now();
      samples.push({ at, value: valueAt(Math.floor(at / 1000)) });
    },
    source: (since) => samples.filter((sample) => sample.at >= since),
  };
}

describe("InFlightPublisher", () => {
  it("Given one sample a second, When intervals pass on a fake clock, Then each writes one line with the average and maximum of its own samples, stamped at its start", () => {
    const start = 1_700_000_003_000; // 3 s past a 10 s boundary
    vi.useFakeTimers({ now: start });
    const sampler = fakeSampler((second) => second % 4); // 0,1,2,3,0,1,…
    // Half a second off the boundaries, as a replica's sampler is (it starts when it is ready).
    let timer: ReturnType<typeof setInterval> | undefined;
    setTimeout(() => {
      sampler.tick();
      timer = setInterval(sampler.tick, 1000);
    }, 500);
    const lines: string[] = [];
    const publisher = new InFlightPublisher({
      replica: sampler.source,
      cluster: "axon-demo",
      api: "iris",
      taskId: "t1",
      write: (line) => lines.push(line),
      now: () => Date.now(),
    });

    publisher.start();
    vi.advanceTimersByTime(7_000 + 20_000); // to the first boundary, then two full intervals
    clearInterval(timer);
    publisher.stop();

    const parsed = lines.map(
      (line) =>
        JSON.parse(line) as {
          _aws: { Timestamp: number };
          InFlightRequests: number;
          MaxInFlight: number;
        },
    );
    // First interval [start, …010): samples at seconds 3.5 … 9.5 → 3,0,1,2,3,0,1 (second % 4);
    // second […010, …020): 10.5 … 19.5; third […020, …030): 20.5 … 29.5.
    const expected = (from: number, to: number): { avg: number; max: number } => {
      const values = Array.from({ length: to - from + 1 }, (_, i) => (from + i) % 4);
      return {
        avg: Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 1000) / 1000,
        max: Math.max(...values),
      };
    };
    const base = start / 1000 - 3; // the 10 s boundary before the start, in seconds
    expect(parsed.map((line) => line._aws.Timestamp)).toEqual([
      start,
      (base + 10) * 1000,
      (base + 20) * 1000,
    ]);
    expect(parsed.map((line) => [line.InFlightRequests, line.MaxInFlight])).toEqual([
      [expected(base + 3, base + 9).avg, expected(base + 3, base + 9).max],
      [expected(base + 10, base + 19).avg, expected(base + 10, base + 19).max],
      [expected(base + 20, base + 29).avg, expected(base + 20, base + 29).max],
    ]);
  });

  it("Given a publisher running, When stopped, Then it writes nothing more however long the clock runs", () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const sampler = fakeSampler(() => 1);
    const timer = setInterval(sampler.tick, 1000);
    const lines: string[] = [];
    const publisher = new InFlightPublisher({
      replica: { inFlightSamples: (since = 0) => sampler.source(since) },
      cluster: "axon-demo",
      api: "iris",
      taskId: "t1",
      write: (line) => lines.push(line),
      now: () => Date.now(),
    });
    publisher.start();
    vi.advanceTimersByTime(25_000);
    expect(lines).toHaveLength(2);

    publisher.stop();
    vi.advanceTimersByTime(120_000);
    clearInterval(timer);

    expect(lines).toHaveLength(2);
  });

  it("Given no samples (a replica not ready yet), When an interval passes, Then no line is written rather than a zero", () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const lines: string[] = [];
    const publisher = new InFlightPublisher({
      replica: () => [],
      cluster: "axon-demo",
      api: "iris",
      taskId: "t1",
      write: (line) => lines.push(line),
      now: () => Date.now(),
    });
    publisher.start();
    vi.advanceTimersByTime(60_000);
    publisher.stop();
    expect(lines).toEqual([]);
  });

  it("Given a write that throws, When intervals pass, Then the publisher keeps going (best effort)", () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    let calls = 0;
    const publisher = new InFlightPublisher({
      replica: () => [{ at: Date.now() - 1, value: 1 }],
      cluster: "axon-demo",
      api: "iris",
      taskId: "t1",
      write: () => {
        calls++;
        throw new Error("EPIPE");
      },
      now: () => Date.now(),
    });
    publisher.start();
    vi.advanceTimersByTime(30_000);
    publisher.stop();
    expect(calls).toBe(3);
  });

  it("Given an interval that does not divide a minute, When constructed, Then it is refused naming the value", () => {
    expect(
      () =>
        new InFlightPublisher({
          replica: () => [],
          cluster: "c",
          api: "a",
          taskId: "t",
          intervalMs: 7_000,
          write: () => undefined,
        }),
    ).toThrow(/got 7000/);
  });
});

/** A task metadata endpoint: `/ok/task` answers like ECS's, `/broken/task` answers 500. */
async function metadataServer(): Promise<string> {
  const server = createServer((request, response) => {
    if (request.url === "/ok/task") {
      response.setHeader("content-type", "application/json");
      response.end(
        JSON.stringify({
          Cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/axon-demo",
          TaskARN:
            "arn:aws:ecs:us-east-1:123456789012:task/axon-demo/158d1c8083dd49d6b527399fd6414f5c",
          Family: "axon-demo-iris",
          Revision: "3",
        }),
      );
      return;
    }
    response.statusCode = 500;
    response.end("no");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("resolveMetricIdentity", () => {
  it("Given the ECS task metadata, When resolved, Then the cluster and the task id are the ARNs' last segments, with the task definition revision", async () => {
    const url = await metadataServer();

    const identity = await resolveMetricIdentity({
      metadataUri: `${url}/ok`,
      hostname: "ip-10-0-0-1",
    });

    expect(identity).toEqual({
      cluster: "axon-demo",
      taskId: "158d1c8083dd49d6b527399fd6414f5c",
      revision: 3,
    });
  });

  it("Given metadata that fails and AXON_CLUSTER_NAME's value, When resolved, Then that cluster and the hostname are used", async () => {
    const url = await metadataServer();

    const identity = await resolveMetricIdentity({
      metadataUri: `${url}/broken`,
      clusterName: "axon-other",
      hostname: "ip-10-0-0-1",
    });

    expect(identity).toEqual({ cluster: "axon-other", taskId: "ip-10-0-0-1" });
  });

  it("Given metadata that fails and no cluster name, When resolved, Then it is refused saying what could not be read", async () => {
    const url = await metadataServer();

    await expect(
      resolveMetricIdentity({ metadataUri: `${url}/broken`, hostname: "ip-10-0-0-1" }),
    ).rejects.toThrow(
      /no cluster name .*\/broken\/task\) could not be read \(it answered HTTP 500\)/,
    );
  });
});
