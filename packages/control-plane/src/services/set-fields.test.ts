import { describe, expect, test } from "vitest";
import { userSetFields } from "./set-fields.js";

describe("userSetFields", () => {
  test("the keys the user wrote, per API, not words in comments or values", () => {
    // Given a config whose comment and endpoint say "window", one API setting a scaling knob
    const text = [
      "# the window is left at its default",
      "- name: iris",
      "  predictor: {type: python, path: window.py}",
      "  networking:",
      "    endpoint: /window",
      "  autoscaling:",
      "    max_upscale_factor: 3",
      "- name: other",
      "  predictor: {type: python, path: p.py}",
    ].join("\n");

    // When its set fields are read
    const fields = userSetFields(text);

    // Then only written keys count, by dotted path, for each API
    expect(fields.get("iris")?.has("autoscaling.max_upscale_factor")).toBe(true);
    expect(fields.get("iris")?.has("autoscaling.window")).toBe(false);
    expect([...(fields.get("other") ?? [])].sort()).toEqual([
      "name",
      "predictor",
      "predictor.path",
      "predictor.type",
    ]);
  });

  test("a document that is not a list of APIs sets nothing", () => {
    expect(userSetFields("a: [").size).toBe(0);
    expect(userSetFields("name: x").size).toBe(0);
  });
});
