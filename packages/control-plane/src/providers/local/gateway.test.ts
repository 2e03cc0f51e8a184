/**
 * The gateway's routing over real HTTP on 127.0.0.1, with stand-in replicas (plain objects that
 * answer with their own name); real replicas behind it are covered by test/ end to end.
 */
import http from "node:http";
import type { FrontRequest, Responder } from "../../replica/front-server.js";
import { afterEach, describe, expect, test } from "vitest";
import { Gateway, type GatewayBackend, type RoutableReplica } from "./gateway.js";

function standIn(
  name: string,
  inFlight: number,
  seen: string[],
  hasLiveWorker = true,
): RoutableReplica {
  return {
    inFlight,
    hasLiveWorker,
    serve(_request: FrontRequest, responder: Responder, requestId: string) {
      seen.push(requestId);
      responder.send(200, ["content-type", "text/plain"], name);
    },
  };
}

/** Sends a request whose target is `target` as written (absolute-form too, unlike fetch). */
function sendRaw(
  port: number,
  method: string,
  target: string,
  body: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: "127.0.0.1", port, method, path: target }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
    });
    request.on("error", reject);
    request.end(body);
  });
}

const gateways: Gateway[] = [];
afterEach(async () => {
  for (const gateway of gateways.splice(0)) await gateway.close();
});

async function start(backend: GatewayBackend): Promise<{ gateway: Gateway; url: string }> {
  const gateway = new Gateway(backend);
  gateways.push(gateway);
  const port = await gateway.listen(0, "127.0.0.1");
  return { gateway, url: `http://127.0.0.1:${port}` };
}

describe("Gateway", () => {
  test("routes an endpoint to the least busy ready replica and passes the request id", async () => {
    const seen: string[] = [];
    const { gateway, url } = await start({
      readyReplicas: () => [standIn("busy", 5, seen), standIn("idle", 1, seen)],
      whyNotReady: () => "",
    });
    gateway.setRoute("iris", "/iris");
    const response = await fetch(`${url}/iris/?x=1`, {
      method: "POST",
      body: "[1]",
      headers: { "X-Request-ID": "abc-1" },
    });
    expect(await response.text()).toBe("idle");
    expect(seen).toEqual(["abc-1"]);
  });

  test("skips a replica whose workers are all being replaced while another can serve", async () => {
    // Given an idle replica with no live worker and a busier healthy one
    const seen: string[] = [];
    let replicas = [standIn("dead", 0, seen, false), standIn("healthy", 3, seen)];
    const { gateway, url } = await start({ readyReplicas: () => replicas, whyNotReady: () => "" });
    gateway.setRoute("iris", "/iris");

    // When requests arrive, Then the healthy one answers them all
    for (let i = 0; i < 3; i++) {
      expect(await (await fetch(`${url}/iris`, { method: "POST", body: "[1]" })).text()).toBe(
        "healthy",
      );
    }
    // And with no replica able to serve, one of them still gets the request (and says why)
    replicas = [standIn("dead", 0, seen, false)];
    expect(await (await fetch(`${url}/iris`, { method: "POST", body: "[1]" })).text()).toBe("dead");
  });

  test("answers GET with usage, other methods with 405, unknown paths with 404", async () => {
    const { gateway, url } = await start({ readyReplicas: () => [], whyNotReady: () => "" });
    gateway.setRoute("iris", "/iris");
    const get = await fetch(`${url}/iris`);
    expect(get.status).toBe(200);
    expect(await get.text()).toContain("POST");
    const put = await fetch(`${url}/iris`, { method: "PUT", body: "x" });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, HEAD, POST");
    const missing = await fetch(`${url}/nope`, {
      method: "POST",
      body: "x",
      headers: { "X-Request-ID": "mine-7" },
    });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: "no api is deployed at /nope",
      request_id: "mine-7",
    });
    // The gateway's own answers carry a request id too, made up when none was sent.
    for (const response of [get, put, missing]) {
      expect(response.headers.get("x-request-id")).toMatch(/^[\w.:-]+$/);
    }
    expect(missing.headers.get("x-request-id")).toBe("mine-7");
  });

  test("counts an API's 405s and 413s for it; usage GETs are not requests", async () => {
    // Given a routed API
    const { gateway, url } = await start({ readyReplicas: () => [], whyNotReady: () => "" });
    gateway.setRoute("iris", "/iris");
    const port = Number(new URL(url).port);

    // When it gets a GET, a PUT, and a POST declaring a body over the 64 MiB limit
    expect((await fetch(`${url}/iris`)).status).toBe(200);
    expect((await fetch(`${url}/iris/`, { method: "PUT", body: "x" })).status).toBe(405);
    const tooLarge = await new Promise<number>((resolve, reject) => {
      const request = http.request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/iris?x=1",
          headers: { "content-length": String(65 * 1024 * 1024) },
        },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      request.on("error", reject);
      request.write("{");
    });
    expect(tooLarge).toBe(413);

    // Then the API's counts show the 405 and the 413, and nothing else
    expect(gateway.refusedStats("iris")?.statusClasses).toEqual({
      "1XX": 0,
      "2XX": 0,
      "3XX": 0,
      "4XX": 2,
      "5XX": 0,
    });
  });

  test("answers HEAD like GET without the body, with the GET's length and a request id", async () => {
    // Given a routed API and an unknown path
    const { gateway, url } = await start({ readyReplicas: () => [], whyNotReady: () => "" });
    gateway.setRoute("iris", "/iris");
    // When both are asked with HEAD
    const get = await fetch(`${url}/iris`);
    const head = await fetch(`${url}/iris`, { method: "HEAD", headers: { "X-Request-ID": "h-1" } });
    const missing = await fetch(`${url}/nope`, { method: "HEAD" });
    // Then the endpoint answers 200 with GET's headers and no body; the unknown path 404
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe("application/json");
    expect(head.headers.get("content-length")).toBe(get.headers.get("content-length"));
    expect(await head.text()).toBe("");
    expect(head.headers.get("x-request-id")).toBe("h-1");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-request-id")).toMatch(/^[\w.:-]+$/);
  });

  test("routes an absolute-form target by its path and passes the query on", async () => {
    // Given an API at /multi, behind a replica that records the target it gets
    const targets: string[] = [];
    const { gateway, url } = await start({
      readyReplicas: () => [
        {
          inFlight: 0,
          hasLiveWorker: true,
          serve(request: FrontRequest, responder: Responder) {
            targets.push(request.url);
            responder.send(200, [], "ok");
          },
        },
      ],
      whyNotReady: () => "",
    });
    gateway.setRoute("multi", "/multi");
    // When a client sends the target in absolute-form (RFC 9112 §3.2.2)
    const port = Number(new URL(url).port);
    const response = await sendRaw(port, "POST", `http://localhost:${port}/multi?a=1`, "[1]");
    // Then it is routed like /multi?a=1
    expect(response).toEqual({ status: 200, text: "ok" });
    expect(targets).toEqual(["/multi?a=1"]);
  });

  test("with no ready replica: 503 with Retry-After and the reason, counted for the API", async () => {
    const { gateway, url } = await start({
      readyReplicas: () => [],
      whyNotReady: () => "its replicas are still starting",
    });
    gateway.setRoute("iris", "/iris");
    const response = await fetch(`${url}/iris`, { method: "POST", body: "[1]" });
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(await response.text()).toContain("still starting");
    expect(gateway.refusedStats("iris")?.statusClasses["5XX"]).toBe(1);
  });

  test("moving an API to a new endpoint frees the old one", async () => {
    const seen: string[] = [];
    const { gateway, url } = await start({
      readyReplicas: () => [standIn("r", 0, seen)],
      whyNotReady: () => "",
    });
    gateway.setRoute("iris", "/v1/iris");
    gateway.setRoute("iris", "/v2/iris");
    expect((await fetch(`${url}/v1/iris`, { method: "POST", body: "" })).status).toBe(404);
    expect((await fetch(`${url}/v2/iris`, { method: "POST", body: "" })).status).toBe(200);
    gateway.removeRoute("iris");
    expect((await fetch(`${url}/v2/iris`, { method: "POST", body: "" })).status).toBe(404);
  });

  test("a port in use is a clear error", async () => {
    const { url } = await start({ readyReplicas: () => [], whyNotReady: () => "" });
    const port = Number(new URL(url).port);
    const second = new Gateway({ readyReplicas: () => [], whyNotReady: () => "" });
    await expect(second.listen(port, "127.0.0.1")).rejects.toMatchObject({
      code: "gateway.port_in_use",
    });
  });
});
