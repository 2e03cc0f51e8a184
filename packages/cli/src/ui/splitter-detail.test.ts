import { describe, expect, it } from "vitest";
import { renderSplitterDetail } from "./splitter-detail.js";

describe("renderSplitterDetail", () => {
  it("Given an ECS splitter (no last update, counts over the load balancer's last hour, one API without requests), When rendered, Then dashes where nothing was measured and the window in words", () => {
    const text = renderSplitterDetail(
      {
        name: "iris",
        kind: "TrafficSplitter",
        endpoint: "http://axon-demo-1.us-east-1.elb.amazonaws.com/iris",
        lastUpdated: "",
        window: "the last 60 minutes, every request each api's target group received",
        apis: [
          { name: "iris-a", weight: 90, requests: 40, share: 1, errorRate: 0.025 },
          { name: "iris-b", weight: 10, requests: 0 },
        ],
      },
      new Date(0),
    );
    expect(text).toMatchInlineSnapshot(`
      "traffic splitter iris
      endpoint: http://axon-demo-1.us-east-1.elb.amazonaws.com/iris

      api      weight   requests   share    error rate
      iris-a   90%      40         100.0%   2.5%
      iris-b   10%      0          -        -

      counted over: the last 60 minutes, every request each api's target group received"
    `);
  });
});
