import { describe, expect, it } from "vitest";
import { makeApiDetail } from "../testing/fake-control-plane.js";
import {
  renderAutoscalingSection,
  renderMonitoringSection,
  renderVersionsSection,
} from "./api-history.js";

const NOW = new Date("2026-12-03T12:00:00Z");

describe("renderVersionsSection", () => {
  it("lists versions newest first with when each was deployed and went live, and which runs", () => {
    const text = renderVersionsSection(
      [
        {
          id: "v-3",
          createdAt: "2026-12-03T11:58:00Z",
          specHash: "c",
          bundle: "b",
          liveAt: null,
          current: false,
        },
        {
          id: "v-2",
          createdAt: "2026-12-03T11:00:00Z",
          specHash: "b",
          bundle: "b",
          liveAt: "2026-12-03T11:00:09Z",
          current: true,
        },
        {
          id: "v-1",
          createdAt: "2026-12-02T12:00:00Z",
          specHash: "a",
          bundle: "b",
          liveAt: "2026-12-02T12:00:05Z",
          current: false,
        },
      ],
      NOW,
    );
    expect(text).toMatchInlineSnapshot(`
      "versions:
        version   deployed   live
        v-3       2m ago     never
        v-2       1h ago     59m ago   current
        v-1       24h ago    23h ago"
    `);
  });

  it("on ECS: revisions without a live column, and a dash where ECS gave no time", () => {
    // Given two revisions as the ECS engine lists them (no live times; moto gives no creation time)
    const revision = (n: number, current: boolean) => ({
      id: `revision ${n}`,
      createdAt: n === 2 ? new Date(NOW.getTime() - 90_000).toISOString() : "",
      specHash: "a".repeat(64),
      bundle: "b".repeat(64),
      liveAt: null,
      current,
    });
    // When rendered for the ECS engine
    const text = renderVersionsSection([revision(2, false), revision(1, true)], NOW, "ecs");
    // Then no "never" stands beside the revision that serves
    expect(text).toMatchInlineSnapshot(`
      "versions:
        version      deployed
        revision 2   1m ago
        revision 1   -          current"
    `);
  });

  it("says nothing without versions", () => {
    expect(renderVersionsSection([], NOW)).toBeUndefined();
  });
});

describe("renderAutoscalingSection", () => {
  it("shows the signal, a change held back and the last change", () => {
    const api = {
      ...makeApiDetail("iris", "http://localhost:8888/iris", "live"),
      autoscaling: {
        avgInFlight: 0.4,
        recommendation: 1,
        pending: "would scale down to 1; waiting for the 5m0s downscale stabilization, 3m12s left",
        lastScaled: {
          at: "2026-12-03T11:50:00Z",
          message: "scaled up 2 → 3: avg in-flight 5.7 over 1m0s, target 2",
        },
      },
    };
    expect(renderAutoscalingSection(api, NOW)).toBe(
      [
        "autoscaling:",
        `  avg in-flight 0.4 over the window: 1 replica recommended, ${api.replicas.requested} requested`,
        "  would scale down to 1; waiting for the 5m0s downscale stabilization, 3m12s left",
        "  scaled up 2 → 3: avg in-flight 5.7 over 1m0s, target 2 (10m ago)",
      ].join("\n"),
    );
  });

  it("says nothing before the autoscaler's first tick", () => {
    expect(
      renderAutoscalingSection(makeApiDetail("iris", "http://localhost:8888/iris", "live"), NOW),
    ).toBeUndefined();
  });
});

describe("renderMonitoringSection", () => {
  const base = makeApiDetail("iris", "http://localhost:8888/iris", "live");

  it("a classifier mid-rollout: classes with counts and shares for both versions, and the verdict", () => {
    const api = {
      ...base,
      monitoring: {
        modelType: "classification" as const,
        key: null,
        since: "2026-12-03T11:00:00Z",
        current: {
          versionId: "v-2",
          predictions: 100,
          missingKey: 0,
          invalid: 2,
          classes: [
            { label: "setosa", count: 41, share: 0.41 },
            { label: "virginica", count: 59, share: 0.59 },
          ],
          other: 0,
        },
        previous: {
          versionId: "v-1",
          predictions: 50,
          missingKey: 0,
          invalid: 0,
          classes: [
            { label: "setosa", count: 6, share: 0.12 },
            { label: "virginica", count: 44, share: 0.88 },
          ],
          other: 0,
        },
        drift: {
          message: "shifted: setosa 12% → 41% (PSI 0.31)",
          psi: 0.31,
          shifted: true,
          baseline: "first 1000 predictions of v-2",
        },
      },
    };
    expect(renderMonitoringSection(api, NOW)).toMatchInlineSnapshot(`
      "monitoring (classification), since 1h ago:
        class         v-2        v-1
        virginica     59 (59%)   44 (88%)
        setosa        41 (41%)   6 (12%)
        predictions   100        50
        2 answers of v-2 that were not a class
        drift: shifted: setosa 12% → 41% (PSI 0.31) (baseline: first 1000 predictions of v-2)"
    `);
  });

  it("a regressor: count, mean, min, quantiles and max", () => {
    const api = {
      ...base,
      monitoring: {
        modelType: "regression" as const,
        key: "price",
        since: "2026-12-03T11:30:00Z",
        current: {
          versionId: "v-1",
          predictions: 3,
          missingKey: 1,
          invalid: 0,
          stats: { count: 3, mean: 12.5, min: 10, max: 15, p50: 12.4, p90: 14.9, p99: 15 },
        },
        drift: {
          message: "collecting a baseline: 3 of 1000 predictions",
          psi: null,
          shifted: false,
          baseline: "first 1000 predictions of v-1",
        },
      },
    };
    expect(renderMonitoringSection(api, NOW)).toMatchInlineSnapshot(`
      "monitoring (regression, key price), since 30m ago:
        version   count   mean   min   p50    p90    p99   max
        v-1       3       12.5   10    12.4   14.9   15    15
        1 answer of v-1 without the key price
        drift: collecting a baseline: 3 of 1000 predictions (baseline: first 1000 predictions of v-1)"
    `);
  });

  it("says nothing for an api without monitoring", () => {
    expect(renderMonitoringSection(base, NOW)).toBeUndefined();
  });
});
