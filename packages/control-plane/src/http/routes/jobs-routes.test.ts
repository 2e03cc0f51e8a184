/**
 * The five batch job routes (issue 32) through the daemon's real HTTP layer over a real state
 * file: each is an adapter to one engine verb, so until the engines have batch jobs every route
 * answers the engine's one not-supported error (501), and the submit route refuses a body that is
 * not a job spec at all before any engine is asked.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import type { ErrorBody } from "../../contract/index.js";
import { ENGINE_NOT_SUPPORTED } from "../../engines/api-engine.js";
import { REQUEST_INVALID } from "../../errors.js";
import { EventBus } from "../../events/event-sink.js";
import { StateStore } from "../../state/store.js";
import type { RouteContext } from "../context.js";
import { buildApiServer } from "../server.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(): Promise<ReturnType<typeof buildApiServer>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "axon-jobs-routes-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const store = StateStore.open(path.join(dir, "state.db"));
  cleanups.push(() => store.close());
  const context: Partial<RouteContext> = { store, events: new EventBus() };
  const app = buildApiServer(context as RouteContext, "t");
  cleanups.push(() => app.close());
  await app.ready();
  return app;
}

const AUTH = { authorization: "Bearer t" };

describe("the batch job routes", () => {
  test("each route reaches its engine verb: the local engine answers 501 engine.not_supported naming the verb", async () => {
    // Given the daemon's HTTP layer on the local environment
    const app = await startServer();

    // When each of the five job routes is called
    const calls = [
      { method: "POST", url: "/v1/apis/scorer/jobs", verb: "submit" },
      { method: "GET", url: "/v1/apis/scorer/jobs", verb: "get" },
      { method: "GET", url: "/v1/apis/scorer/jobs/69d6faf8a4", verb: "get" },
      { method: "DELETE", url: "/v1/apis/scorer/jobs/69d6faf8a4", verb: "delete" },
      { method: "GET", url: "/v1/apis/scorer/jobs/69d6faf8a4/logs?follow=1", verb: "logs" },
    ] as const;
    for (const call of calls) {
      const answer = await app.inject({
        method: call.method,
        url: call.url,
        headers: AUTH,
        ...(call.method === "POST"
          ? { payload: { workers: 1, item_list: { items: [1, 2], batch_size: 1 } } }
          : {}),
      });
      // Then it is the engine's answer, not a missing route's 404
      expect(answer.statusCode, `${call.method} ${call.url}`).toBe(501);
      const body = answer.json<ErrorBody>();
      expect(body.code).toBe(ENGINE_NOT_SUPPORTED);
      expect(body.message).toBe(
        `axon ${call.verb} (batch jobs) is not supported on the local engine yet (environment local)`,
      );
      expect(body.hint).toBeDefined();
    }
  });

  test("a submission that is not a JSON object is a 400 saying what a job spec is", async () => {
    // Given the daemon's HTTP layer
    const app = await startServer();

    // When the body is a list, a number, or JSON that does not parse
    for (const payload of ["[1, 2]", "3", '{"workers": 1,']) {
      const answer = await app.inject({
        method: "POST",
        url: "/v1/apis/scorer/jobs",
        headers: { ...AUTH, "content-type": "application/json" },
        payload,
      });
      // Then it is refused before any engine is asked
      expect(answer.statusCode, payload).toBe(400);
      expect(answer.json<ErrorBody>().code).toBe(REQUEST_INVALID);
    }
    const list = await app.inject({
      method: "POST",
      url: "/v1/apis/scorer/jobs",
      headers: { ...AUTH, "content-type": "application/json" },
      payload: "[1]",
    });
    expect(list.json<ErrorBody>().message).toMatch(/workers.*item_list/);
  });

  test("the job routes need the bearer token, as every route but health", async () => {
    // Given the daemon's HTTP layer
    const app = await startServer();

    // When a job is asked for without the token
    const answer = await app.inject({ method: "GET", url: "/v1/apis/scorer/jobs/69d6faf8a4" });

    // Then it is a 401
    expect(answer.statusCode).toBe(401);
  });

  test("a tail that is not 0 to 100000 lines is refused by name, as on the API logs route", async () => {
    // Given the daemon's HTTP layer
    const app = await startServer();

    // When a job's logs are asked with a bad tail
    const answer = await app.inject({
      method: "GET",
      url: "/v1/apis/scorer/jobs/69d6faf8a4/logs?tail=many",
      headers: AUTH,
    });

    // Then it is a 400 naming the parameter
    expect(answer.statusCode).toBe(400);
    expect(answer.json<ErrorBody>().message).toContain("tail must be a number of lines");
  });
});
