/**
 * `predictor.smoke_test` (issue 30): the request a new replica sends to its own predictor after
 * every worker loaded it and before it reports ready. The answer is checked here: its status, and
 * `expect_json` as a subset of its body. A mismatch fails the replica's start with a message that
 * names the payload, what was expected and what came back — locally the rollout stops and the old
 * version keeps serving; in the ECS container the replica never answers its health check healthy.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { FrontRequest, Responder } from "./front-server.js";

/** The smoke test of a replica's options (from the spec: replica/spec-options.ts). */
export interface SmokeTestOptions {
  /** Project-relative path of the JSON body. */
  payload: string;
  expectStatus: number;
  /** A subset the answer must contain; absent: the status alone decides. */
  expectJson?: unknown;
}

/** The request the smoke test sends: the payload file as a JSON POST to the replica's root. */
export function smokeTestRequest(projectDir: string, test: SmokeTestOptions): FrontRequest {
  return {
    method: "POST",
    url: "/",
    rawHeaders: ["content-type", "application/json", "x-request-id", "axon-smoke-test"],
    body: readFileSync(path.join(projectDir, test.payload)),
  };
}

/** A responder that keeps the answer for the check (the smoke test has no client socket). */
export function capturingResponder(): {
  responder: Responder;
  answer: Promise<{ status: number; body: string }>;
} {
  let resolve: (value: { status: number; body: string }) => void = () => {};
  const answer = new Promise<{ status: number; body: string }>((r) => (resolve = r));
  let done = false;
  return {
    answer,
    responder: {
      get done() {
        return done;
      },
      send(status, _headers, body) {
        if (done) return;
        done = true;
        resolve({ status, body: typeof body === "string" ? body : body.toString("utf8") });
      },
    },
  };
}

/**
 * Why the answer fails the smoke test, or undefined when it passes: "smoke test failed: POST
 * sample.json answered 200 "setosa", expected {"expect_json": "virginica"}".
 */
export function smokeTestFailure(
  test: SmokeTestOptions,
  answer: { status: number; body: string },
): string | undefined {
  const shown = answer.body.length > 300 ? `${answer.body.slice(0, 300)}…` : answer.body;
  const statusOk = answer.status === test.expectStatus;
  const bodyOk =
    test.expectJson === undefined || containsSubset(parseAnswer(answer.body), test.expectJson);
  if (statusOk && bodyOk) return undefined;
  const expected = [
    `status ${test.expectStatus}`,
    ...(test.expectJson === undefined
      ? []
      : [`a body containing ${JSON.stringify(test.expectJson)}`]),
  ].join(" and ");
  return `smoke test failed: POST ${test.payload} answered ${answer.status} ${shown}, expected ${expected}`;
}

/** The answer as JSON when it is JSON, else its text (a predictor may answer plain text). */
function parseAnswer(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

/** Whether `actual` contains `expected`: objects key by key (recursively), anything else equal. */
export function containsSubset(actual: unknown, expected: unknown): boolean {
  if (isRecord(expected)) {
    if (!isRecord(actual)) return false;
    return Object.entries(expected).every(([key, value]) => containsSubset(actual[key], value));
  }
  return JSON.stringify(actual) === JSON.stringify(expected);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
