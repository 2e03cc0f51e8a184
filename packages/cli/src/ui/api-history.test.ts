import { describe, expect, it } from "vitest";
import { makeApiDetail } from "../testing/fake-control-plane.js";
import { renderAutoscalingSection, renderVersionsSection } from "./api-history.js";

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
    expect(renderAutoscalingSection(makeApiDetail("iris", "http://localhost:8888/iris", "live"), NOW)).toBeUndefined();
  });
});
