/**
 * `deploy --plan` for a config's TrafficSplitters: the same created / updated / unchanged its
 * deploy then reports on either engine, with the weights that change.
 */
import type { TrafficSplitterSpec } from "@axon/config";
import { describe, expect, test } from "vitest";
import { previewSplitter } from "./deploy-preview.js";

const split = (a: number, b: number): TrafficSplitterSpec => ({
  name: "iris",
  kind: "TrafficSplitter",
  endpoint: "/iris",
  apis: [
    { name: "iris-a", weight: a },
    { name: "iris-b", weight: b },
  ],
});

describe("previewSplitter", () => {
  test("Given no deployed splitter, Then it is created and runs no replicas", () => {
    const preview = previewSplitter({ spec: split(70, 30), deployed: undefined }, "the gateway");
    expect(preview).toMatchObject({
      api: "iris",
      kind: "TrafficSplitter",
      outcome: "created",
      replicas: "none",
      changedFields: [],
    });
    expect(preview.replicasReason).toContain("the gateway");
  });

  test("Given the same spec deployed, Then it is unchanged", () => {
    const preview = previewSplitter({ spec: split(70, 30), deployed: split(70, 30) }, "x");
    expect(preview.outcome).toBe("unchanged");
  });

  test("Given other weights deployed, Then it is updated and the weights are the changed field", () => {
    const preview = previewSplitter({ spec: split(50, 50), deployed: split(70, 30) }, "x");
    expect(preview.outcome).toBe("updated");
    expect(preview.changedFields.map((change) => change.field)).toEqual(["apis"]);
  });
});
