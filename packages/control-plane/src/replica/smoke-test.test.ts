import { describe, expect, test } from "vitest";
import { capturingResponder, containsSubset, smokeTestFailure } from "./smoke-test.js";

describe("smoke test answers", () => {
  test("an object matches as a subset, recursively; anything else must be equal", () => {
    const answer = { label: "virginica", scores: { virginica: 0.9, setosa: 0.1 }, extra: [1] };
    expect(containsSubset(answer, { label: "virginica" })).toBe(true);
    expect(containsSubset(answer, { scores: { virginica: 0.9 } })).toBe(true);
    expect(containsSubset(answer, { scores: { virginica: 0.8 } })).toBe(false);
    expect(containsSubset(answer, { missing: null })).toBe(false);
    expect(containsSubset([1, 2], [1, 2])).toBe(true);
    expect(containsSubset([1, 2, 3], [1, 2])).toBe(false);
    expect(containsSubset("virginica", { label: "virginica" })).toBe(false);
  });

  test("the failure names the payload, the answer and what was expected; a plain-text answer matches a string", () => {
    const test = { payload: "sample.json", expectStatus: 200, expectJson: "virginica" };
    expect(smokeTestFailure(test, { status: 200, body: "virginica" })).toBeUndefined();
    expect(smokeTestFailure(test, { status: 200, body: '"virginica"' })).toBeUndefined();
    expect(smokeTestFailure(test, { status: 500, body: '{"error":"boom"}' })).toBe(
      'smoke test failed: POST sample.json answered 500 {"error":"boom"}, expected status 200 and a body containing "virginica"',
    );
    expect(
      smokeTestFailure({ payload: "p.json", expectStatus: 200 }, { status: 200, body: "x" }),
    ).toBeUndefined();
  });

  test("the capturing responder keeps the first answer only", async () => {
    const { responder, answer } = capturingResponder();
    responder.send(200, [], Buffer.from("first"));
    responder.send(500, [], "second");
    expect(responder.done).toBe(true);
    await expect(answer).resolves.toEqual({ status: 200, body: "first" });
  });
});
