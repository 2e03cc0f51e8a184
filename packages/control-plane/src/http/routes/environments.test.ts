import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import type { EnvironmentInfo, EnvironmentListResponse, ErrorBody } from "../../contract/index.js";
import { ENGINE_NOT_SUPPORTED } from "../../engines/api-engine.js";
import { EventBus } from "../../events/event-sink.js";
import { StateStore } from "../../state/store.js";
import type { RouteContext } from "../context.js";
import { buildApiServer } from "../server.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function server(events = new EventBus()): Promise<ReturnType<typeof buildApiServer>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "axon-env-routes-"));
  dirs.push(dir);
  const context: Partial<RouteContext> = {
    store: StateStore.open(path.join(dir, "state.db")),
    events,
  };
  const app = buildApiServer(context as RouteContext, "t");
  await app.ready();
  return app;
}

const auth = { authorization: "Bearer t" };

describe("environment routes", () => {
  test("add, list, use and remove an AWS environment; local always exists and stays", async () => {
    const app = await server();
    // Given only the local environment
    const empty = await app.inject({ method: "GET", url: "/v1/environments", headers: auth });
    expect(empty.json<EnvironmentListResponse>()).toEqual({
      environments: [{ name: "local", provider: "local", isDefault: true }],
      defaultEnvironment: "local",
    });

    // When an AWS environment is added and made the default
    const added = await app.inject({
      method: "POST",
      url: "/v1/environments",
      headers: auth,
      payload: { name: "prod", provider: "aws", region: "eu-west-1" },
    });
    expect(added.statusCode).toBe(201);
    expect(added.json<EnvironmentInfo>()).toMatchObject({
      name: "prod",
      stackName: "axon-prod",
      region: "eu-west-1",
      isDefault: false,
    });
    const used = await app.inject({
      method: "PUT",
      url: "/v1/environments/default",
      headers: auth,
      payload: { name: "prod" },
    });
    expect(used.json<EnvironmentInfo>().isDefault).toBe(true);

    // Then (rollback, monitor baseline and get act on its ECS cluster: test/aws-verbs.test.ts;
    // the one verb ECS lacks, the live event stream, is the next test's)
    // And an unknown --env is named with the ones there are
    const unknown = await app.inject({
      method: "GET",
      url: "/v1/apis",
      headers: { ...auth, "axon-env": "nope" },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json<ErrorBody>().hint).toMatch(/^environments: local, prod;/);

    // When it is added twice, or local is removed, Then both are refused
    const twice = await app.inject({
      method: "POST",
      url: "/v1/environments",
      headers: auth,
      payload: { name: "prod", provider: "aws", region: "eu-west-1" },
    });
    expect(twice.json<ErrorBody>().code).toBe("env.exists");
    const local = await app.inject({
      method: "DELETE",
      url: "/v1/environments/local",
      headers: auth,
    });
    expect(local.statusCode).toBe(400);

    // When it is removed, Then local is the default again
    const removed = await app.inject({
      method: "DELETE",
      url: "/v1/environments/prod",
      headers: auth,
    });
    expect(removed.json<{ message: string }>().message).toMatch(/^environment prod removed/);
    const after = await app.inject({ method: "GET", url: "/v1/environments", headers: auth });
    expect(after.json<EnvironmentListResponse>().defaultEnvironment).toBe("local");
  });

  test("the events stream is the target environment's: an AWS env never gets a local API's events", async () => {
    // Given a local API named iris whose events flow on the local bus, and an AWS env prod
    const events = new EventBus();
    const app = await server(events);
    await app.inject({
      method: "POST",
      url: "/v1/environments",
      headers: auth,
      payload: { name: "prod", provider: "aws", region: "eu-west-1" },
    });
    const url = await app.listen({ host: "127.0.0.1", port: 0 });
    const stop = new AbortController();
    try {
      // When `get iris --watch --env prod` follows events
      const prod = await fetch(`${url}/v1/events?api=iris`, {
        headers: { ...auth, "axon-env": "prod" },
        signal: stop.signal,
      });
      // Then the ECS engine answers not-supported before any stream opens (the old route relayed
      // the local bus of the same-named local API)
      expect(prod.status).toBe(501);
      expect(((await prod.json()) as ErrorBody).code).toBe(ENGINE_NOT_SUPPORTED);

      // And the local environment's stream still relays the local API's events
      const local = await fetch(`${url}/v1/events?api=iris`, {
        headers: auth,
        signal: stop.signal,
      });
      expect(local.status).toBe(200);
      events.emit({ kind: "api.deleted", api: "iris" });
      const reader = local.body?.getReader();
      const { value } = (await reader?.read()) ?? {};
      expect(JSON.parse(new TextDecoder().decode(value)).event).toEqual({
        kind: "api.deleted",
        api: "iris",
      });
    } finally {
      stop.abort();
      await app.close();
    }
  });

  test("a bad region or name is refused with what to pass", async () => {
    const app = await server();
    const res = await app.inject({
      method: "POST",
      url: "/v1/environments",
      headers: auth,
      payload: { name: "Prod_1", provider: "aws", region: "us-east-1" },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json<ErrorBody>().message).toMatch(/^environment names are lower-case/);
    const region = await app.inject({
      method: "POST",
      url: "/v1/environments",
      headers: auth,
      payload: { name: "prod", provider: "aws", region: "mars" },
    });
    expect(region.json<ErrorBody>()).toMatchObject({
      code: "env.invalid",
      hint: "pass --region, e.g. --region us-east-1",
    });
  });
});
