import { describe, expect, it } from "vitest";
import type { ApiSummary } from "@axon/control-plane/api";
import { makeApiDetail } from "../testing/fake-control-plane.js";
import { renderApiDetail, renderApiList } from "./apis.js";

const NOW = new Date("2024-05-01T12:00:00Z");

function summary(name: string, overrides: Partial<ApiSummary>): ApiSummary {
  return {
    name,
    kind: "RealtimeAPI",
    status: "live",
    replicas: { requested: 1, upToDate: 1, stale: 0, initializing: 0, failed: 0 },
    lastUpdated: "2024-05-01T11:59:33Z",
    endpoint: `http://localhost:8888/${name}`,
    ...overrides,
  };
}

describe("renderApiList", () => {
  it("Given a TrafficSplitter, When the list is rendered, Then a second table shows each API's weight, share and error rate", () => {
    // Given an API and a 70/30 splitter, one of whose APIs has had no request yet
    const list = {
      apis: [summary("iris-a", {})],
      trafficSplitters: [
        {
          name: "iris",
          kind: "TrafficSplitter" as const,
          endpoint: "http://localhost:8888/iris",
          lastUpdated: "2024-05-01T11:59:00Z",
          apis: [
            { name: "iris-a", weight: 70, requests: 700, share: 1, errorRate: 0.01 },
            { name: "iris-b", weight: 30, requests: 0 },
          ],
        },
      ],
    };
    // When rendered
    const text = renderApiList(list, NOW);
    // Then
    expect(text).toMatchInlineSnapshot(`
      "api      status   up-to-date   requested   last update   endpoint
      iris-a   live     1            1           27s           http://localhost:8888/iris-a

      traffic splitter   api      weight   share    error rate   last update   endpoint
      iris               iris-a   70       100.0%   1.0%         1m            http://localhost:8888/iris
                         iris-b   30       -        -"
    `);
  });

  it("renders a Cortex-style table sorted by name, without empty stale/failed columns", () => {
    // Given two healthy apis
    const apis = [
      summary("text-generator", {
        lastUpdated: "2024-04-28T09:00:00Z",
        replicas: { requested: 3, upToDate: 3, stale: 0, initializing: 0, failed: 0 },
      }),
      summary("iris-classifier", {}),
    ];

    // When rendering the list
    const text = renderApiList({ apis }, NOW);

    // Then columns are left aligned with three-space gaps
    expect(text).toMatchInlineSnapshot(`
      "api               status   up-to-date   requested   last update   endpoint
      iris-classifier   live     1            1           27s           http://localhost:8888/iris-classifier
      text-generator    live     3            3           3d            http://localhost:8888/text-generator"
    `);
  });

  it("fits a narrow terminal: drops the least telling columns, then stacks one block per api", () => {
    // Given two apis with metrics, one with server errors
    const metrics = (served: number, failed: number): ApiSummary["metrics"] => ({
      requests: { "2XX": served, "4XX": 0, "5XX": failed },
      avgLatencyMs: 2.31,
      p99LatencyMs: 5.12,
      inFlight: 0,
    });
    const apis = [
      summary("iris-classifier", { metrics: metrics(1520, 2) }),
      summary("text-generator", { metrics: metrics(40, 0) }),
    ];

    // When rendering for 100 columns, then for 40
    const wide = renderApiList({ apis }, NOW, 100);
    const narrow = renderApiList({ apis }, NOW, 40);

    // Then at 100 the averages and ages go first and the errors stay; at 40 every line fits but
    // the endpoints, which are never cut
    expect(wide).toMatchInlineSnapshot(`
      "api               status   up-to-date   requested   5XX   endpoint
      iris-classifier   live     1            1           2     http://localhost:8888/iris-classifier
      text-generator    live     1            1           -     http://localhost:8888/text-generator"
    `);
    expect(narrow).toMatchInlineSnapshot(`
      "iris-classifier   live
        up-to-date 1 · requested 1
        last update 27s · avg request 2.31 ms
        p99 5.12 ms · 2XX 1520 · 5XX 2
        http://localhost:8888/iris-classifier

      text-generator   live
        up-to-date 1 · requested 1
        last update 27s · avg request 2.31 ms
        p99 5.12 ms · 2XX 40 · 5XX -
        http://localhost:8888/text-generator"
    `);
    for (const line of wide.split("\n")) expect(line.length).toBeLessThanOrEqual(100);
    for (const line of narrow.split("\n").filter((line) => !line.includes("http://")))
      expect(line.length).toBeLessThanOrEqual(40);
    // And piped (no width) nothing is cut
    expect(renderApiList({ apis }, NOW).split("\n")[0]).toContain("avg request");
  });

  it("adds stale and failed columns when some api has them", () => {
    // Given an api mid-rollout with a crashed replica
    const apis = [
      summary("iris-classifier", {
        status: "updating",
        lastUpdated: "2024-05-01T11:43:00Z",
        replicas: { requested: 2, upToDate: 1, stale: 2, initializing: 0, failed: 1 },
      }),
    ];

    // When rendering the list
    const text = renderApiList({ apis }, NOW);

    // Then stale sits after up-to-date and failed after requested
    expect(text).toMatchInlineSnapshot(`
      "api               status     up-to-date   stale   requested   failed   last update   endpoint
      iris-classifier   updating   1            2       2           1        17m           http://localhost:8888/iris-classifier"
    `);
  });

  it("adds Cortex's request columns when the control plane reports metrics", () => {
    // Given one api that served requests (some failing) and one that served none
    const apis = [
      summary("iris-classifier", {
        metrics: {
          requests: { "2XX": 1520, "4XX": 0, "5XX": 3 },
          avgLatencyMs: 2.3456,
          p99LatencyMs: 1234.5,
          inFlight: 0,
        },
      }),
      summary("text-generator", {
        metrics: {
          requests: { "2XX": 0, "4XX": 0, "5XX": 0 },
          avgLatencyMs: null,
          p99LatencyMs: null,
          inFlight: 0,
        },
      }),
    ];

    // When rendering the list
    const text = renderApiList({ apis }, NOW);

    // Then avg, p99 and counts follow last update; 4XX is hidden (all zero); zero shows as -
    expect(text).toMatchInlineSnapshot(`
      "api               status   up-to-date   requested   last update   avg request   p99      2XX    5XX   endpoint
      iris-classifier   live     1            1           27s           2.35 ms       1.23 s   1520   3     http://localhost:8888/iris-classifier
      text-generator    live     1            1           27s           -             -        -      -     http://localhost:8888/text-generator"
    `);
  });

  it("says so when nothing is deployed", () => {
    expect(renderApiList({ apis: [] }, NOW)).toBe("no apis are deployed");
  });
});

describe("renderApiDetail", () => {
  it("shows status, endpoint, curl, configuration and recent events", () => {
    // Given an api with one event
    const api = {
      ...makeApiDetail("iris-classifier", "http://localhost:8888/iris-classifier", "live"),
      lastUpdated: "2024-05-01T10:00:00Z",
      events: [
        { time: "2024-05-01T10:00:00Z", type: "info" as const, message: "created version v-1" },
      ],
    };

    // When rendering it
    const text = renderApiDetail(api, NOW);

    // Then every section is there, configuration indented
    expect(text).toMatchInlineSnapshot(`
      "status   up-to-date   requested   last update
      live     1            1           2h

      endpoint: http://localhost:8888/iris-classifier
      example curl: curl http://localhost:8888/iris-classifier -X POST -H "Content-Type: application/json" -d @sample.json

      python environment: base interpreter /usr/bin/python3 (Python 3.11.2)

      configuration:
        name: iris-classifier
        kind: RealtimeAPI

      events:
        when     type   message
        2h ago   info   created version v-1"
    `);
  });

  it("shows an API on ECS by its Fargate size, capacity providers, revision and image, no Python environment", () => {
    // Given an API on ECS (its runtime section is the engine's own)
    const api = {
      ...makeApiDetail("iris", "http://axon-demo.elb.amazonaws.com/iris", "live"),
      runtime: {
        engine: "ecs" as const,
        image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0",
        fargate: { vcpu: 0.5, memoryGb: 1 },
        taskDefinitionRevision: 3,
        capacityProviders: ["FARGATE", "FARGATE_SPOT"],
      },
    };

    // When rendering it
    const text = renderApiDetail(api, NOW);

    // Then the runtime says what ECS runs, and nothing about a Python environment
    expect(text).toContain(
      "runtime: ECS Fargate tasks of 0.5 vCPU and 1 GB on FARGATE, FARGATE_SPOT, task definition revision 3\nimage: 123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0",
    );
    expect(text).not.toContain("python environment");
  });
});
