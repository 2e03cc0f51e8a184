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
