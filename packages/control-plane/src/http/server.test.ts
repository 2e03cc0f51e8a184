import { describe, expect, test } from "vitest";
import type { ErrorBody } from "../contract/index.js";
import { EventBus } from "../events/event-sink.js";
import { formatEventLine } from "../events/log-line.js";
import type { RouteContext } from "./context.js";
import { buildApiServer } from "./server.js";

describe("API server", () => {
  test("logs every 500 with its request id, cause chain and where it was thrown", async () => {
    // Given an API whose info route fails unexpectedly, and a daemon log reading the events
    const events = new EventBus();
    const log: string[] = [];
    events.subscribe((event, time) => log.push(formatEventLine(event, time)));
    const context: Partial<RouteContext> = {
      events,
      info: () => {
        throw new Error("cannot read the state", { cause: new Error("SQLITE_CORRUPT") });
      },
    };
    const app = buildApiServer(context as RouteContext, "secret-token");

    // When a client asks for it
    const res = await app.inject({
      method: "GET",
      url: "/v1/info",
      headers: { authorization: "Bearer secret-token" },
    });

    // Then it gets a 500 naming a request id, and the daemon log has that id with the causes
    expect(res.statusCode).toBe(500);
    const body = res.json<ErrorBody>();
    const id = /\(request ([0-9a-f]{8})\)$/.exec(body.hint ?? "")?.[1];
    expect(body.code).toBe("internal");
    expect(id).toBeDefined();
    expect(log).toHaveLength(1);
    expect(log[0]).toContain(
      `request ${id} (GET /v1/info) failed with 500: cannot read the state ← caused by: SQLITE_CORRUPT at `,
    );
    expect(log[0]).toContain("server.test.ts");
  });

  test("logs a 500 that a streamed deploy answers in its last line, and releases the bundle", async () => {
    // Given a daemon whose bundle store fails unexpectedly while a deploy checks its bundle
    const events = new EventBus();
    const log: string[] = [];
    events.subscribe((event, time) => log.push(formatEventLine(event, time)));
    const held: string[] = [];
    const bundles = {
      hold: (sha: string) => {
        held.push(sha);
        return () => void held.splice(held.indexOf(sha), 1);
      },
      has: () => {
        throw new Error("EIO: i/o error, stat bundles/");
      },
    };
    // (the environment guard reads which environment is the default: the local one)
    const store = { getDefaultEnvironment: () => undefined };
    // Stand-ins for the two things the route touches before it fails (as api-metrics.test.ts does).
    const context = { events, bundles, store } as unknown as RouteContext;
    const app = buildApiServer(context, "t");

    // When a deploy asks for progress as NDJSON
    const res = await app.inject({
      method: "POST",
      url: "/v1/deploy",
      headers: { authorization: "Bearer t", accept: "application/x-ndjson" },
      payload: { config: "- name: a", configFileName: "axon.yaml", bundle: "a".repeat(64) },
    });

    // Then its last line is the 500 with the request id, which daemon.log has with the cause
    const last = JSON.parse(res.body.trim().split("\n").at(-1) ?? "{}") as {
      status: number;
      error: ErrorBody;
    };
    expect(last.status).toBe(500);
    const id = /\(request ([0-9a-f]{8})\)$/.exec(last.error.hint ?? "")?.[1];
    expect(id).toBeDefined();
    expect(log).toEqual([
      expect.stringContaining(
        `request ${id} (POST /v1/deploy) failed with 500: EIO: i/o error, stat bundles/ at `,
      ),
    ]);
    expect(held).toEqual([]);
  });

  test("logs nothing for a request refused with a 4xx", async () => {
    // Given the same server, when a route that does not exist is asked for
    const events = new EventBus();
    const kinds: string[] = [];
    events.subscribe((event) => kinds.push(event.kind));
    const app = buildApiServer({ events } as Partial<RouteContext> as RouteContext, "t");
    const res = await app.inject({
      method: "GET",
      url: "/v1/nothing",
      headers: { authorization: "Bearer t" },
    });

    // Then it is a 404 and no failure is logged
    expect(res.statusCode).toBe(404);
    expect(kinds).toEqual([]);
  });
});
