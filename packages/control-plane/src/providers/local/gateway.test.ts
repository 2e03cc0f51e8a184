/**
 * The gateway's routing over real HTTP on 127.0.0.1, with stand-in replicas (plain objects that
 * answer with their own name); admission before the body with a real replica (Python workers);
 * the rest of real replicas behind it is covered by test/ end to end.
 */
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FrontRequest, Responder } from "../../replica/front-server.js";
import { createApiKey } from "../../replica/api-keys.js";
import { Replica } from "../../replica/replica.js";
import { afterEach, describe, expect, onTestFinished, test } from "vitest";
import {
  type FailedColdStart,
  Gateway,
  type GatewayBackend,
  type GatewayOptions,
  maxBufferedBytesFromEnv,
  type RoutableReplica,
} from "./gateway.js";

const FIXTURES = fileURLToPath(new URL("../../replica/fixtures/", import.meta.url));

function standIn(
  name: string,
  inFlight: number,
  seen: string[],
  hasLiveWorker = true,
): RoutableReplica {
  const serve = (_request: FrontRequest, responder: Responder, requestId: string): void => {
    seen.push(requestId);
    responder.send(200, ["content-type", "text/plain"], name);
  };
  return { inFlight, hasLiveWorker, serve, admitBody: ticketFor(serve) };
}

/** A stand-in's admission from the head: every body is admitted, then served by `serve`. */
function ticketFor(
  serve: (request: FrontRequest, responder: Responder, requestId: string) => void,
): RoutableReplica["admitBody"] {
  return (_responder, requestId) => ({
    deliver: (request, responder) => serve(request, responder, requestId),
    cancel() {},
  });
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

async function start(
  backend: GatewayBackend,
  options: GatewayOptions = {},
): Promise<{ gateway: Gateway; url: string }> {
  const gateway = new Gateway(backend, options);
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

  test("Given one API requiring keys and one not, the keyed one refuses a request without its key before reading the body, and the other is untouched", async () => {
    // Given two routed APIs, the first requiring keys read from a "store"
    const seen: string[] = [];
    const { gateway, url } = await start({
      readyReplicas: (api) => [standIn(api, 0, seen)],
      whyNotReady: () => "",
    });
    gateway.setRoute("iris", "/iris");
    gateway.setRoute("open", "/open");
    const made = createApiKey();
    const logged: string[] = [];
    await gateway.setKeySource("iris", {
      load: async () => [
        {
          id: made.id,
          name: null,
          hash: made.hash,
          createdAt: new Date().toISOString(),
          expiresAt: null,
          ratePerSecond: null,
        },
      ],
      log: (line) => logged.push(line),
    });
    const port = Number(new URL(url).port);

    // When a body still to arrive is sent to it without a key (its head alone first)
    const refused = await new Promise<number>((resolve, reject) => {
      const request = http.request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/iris",
          headers: { "content-length": String(10 * 1024 * 1024) },
        },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      request.on("error", reject);
      request.write("[");
    });
    // Then it is refused from the head (the replica never saw it), and the other API needs no key
    expect(refused).toBe(401);
    expect(seen).toEqual([]);
    const open = await fetch(`${url}/open`, { method: "POST", body: "[1]" });
    expect(await open.text()).toBe("open");
    // And with the key the keyed API serves it, counted for the key
    const keyed = await fetch(`${url}/iris`, {
      method: "POST",
      body: "[1]",
      headers: { authorization: `Bearer ${made.key}` },
    });
    expect(await keyed.text()).toBe("iris");
    expect(gateway.keyUsage("iris")).toMatchObject({
      unauthorized: 1,
      keys: [{ id: made.id, requests: 1 }],
    });
    expect(gateway.keyUsage("open")).toBeUndefined();
    expect(logged[0]).toContain("refused (401)");
    // And when the route goes, so do its keys
    gateway.removeRoute("iris");
    expect(gateway.keyUsage("iris")).toBeUndefined();
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
    const answer = (request: FrontRequest, responder: Responder): void => {
      targets.push(request.url);
      responder.send(200, [], "ok");
    };
    const { gateway, url } = await start({
      readyReplicas: () => [
        {
          ...standIn("r", 0, []),
          serve: answer,
          admitBody: ticketFor(answer),
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

  test("AXON_GATEWAY_MAX_BUFFERED_BYTES: a byte count, or a clear error", () => {
    expect(maxBufferedBytesFromEnv({})).toBeUndefined();
    expect(maxBufferedBytesFromEnv({ AXON_GATEWAY_MAX_BUFFERED_BYTES: "1048576" })).toBe(1048576);
    expect(() => maxBufferedBytesFromEnv({ AXON_GATEWAY_MAX_BUFFERED_BYTES: "1G" })).toThrow(
      /AXON_GATEWAY_MAX_BUFFERED_BYTES must be a number of bytes, got "1G"/,
    );
  });
});

/** One POST on its own connection; the answer, even when it comes before the body is sent. */
function postOnce(
  port: number,
  target: string,
  body: Buffer,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: target,
        agent: false,
        headers: { "content-type": "application/json", "content-length": String(body.length) },
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
      },
    );
    // A refusal closes the connection while the body may still be on its way: not an error here.
    request.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE" && error.code !== "ECONNRESET") reject(error);
    });
    request.end(body);
  });
}

/** A JSON body of `bytes` bytes asking the echo predictor to sleep `seconds` first. */
function sleepingBody(bytes: number, seconds: number): Buffer {
  const start = `{"action":"sleep","seconds":${seconds},"pad":"`;
  return Buffer.from(start + "x".repeat(bytes - start.length - 2) + '"}');
}

/** The gateway in front of one real replica (the echo predictor, 4 threads) of api `big`. */
async function gatewayWithReplica(
  maxConcurrency: number,
  options: GatewayOptions = {},
): Promise<{ gateway: Gateway; replica: Replica; port: number }> {
  const dir = await mkdtemp(path.join(tmpdir(), "axon-gw-"));
  const replica = Replica.start({
    id: "r-gw",
    apiName: "big",
    projectDir: FIXTURES,
    predictorPath: "echo_predictor.py",
    config: {},
    env: {},
    python: "python3",
    processes: 1,
    threads: maxConcurrency,
    maxConcurrency,
    runDir: dir,
    logFile: path.join(dir, "api.log"),
  });
  onTestFinished(async () => {
    await replica.stop(0);
    await rm(dir, { recursive: true, force: true });
  });
  await replica.ready;
  const { gateway, url } = await start(
    { readyReplicas: () => [replica], whyNotReady: () => "" },
    options,
  );
  gateway.setRoute("big", "/big");
  return { gateway, replica, port: Number(new URL(url).port) };
}

describe("Gateway admission before the body", () => {
  const SIZE = 1024 * 1024;

  test("32 parallel large bodies to an API bounded at 4: 28 refused from the head, 4 bodies held", async () => {
    // Given an API whose replica takes 4 requests at once, each busy for a second
    const { gateway, replica, port } = await gatewayWithReplica(4);
    const body = sleepingBody(SIZE, 1);

    // When 32 clients each POST a 1 MiB body at the same time
    const answers = await Promise.all(
      Array.from({ length: 32 }, () => postOnce(port, "/big", body)),
    );

    // Then 4 are served and 28 get 503 saying the API is at its limit
    const statuses = answers.map((answer) => answer.status).sort((a, b) => a - b);
    expect(statuses).toEqual([...Array(4).fill(200), ...Array(28).fill(503)]);
    for (const answer of answers.filter((a) => a.status === 503)) {
      expect(answer.text).toContain("big is at its limit of 4 concurrent requests per replica");
    }
    // And the gateway never held more than the 4 admitted bodies, and holds nothing now
    expect(gateway.peakBufferedBytes).toBeGreaterThanOrEqual(SIZE);
    expect(gateway.peakBufferedBytes).toBeLessThanOrEqual(4 * SIZE);
    expect(gateway.bufferedBytes).toBe(0);
    expect(replica.inFlight).toBe(0);
    expect(replica.requestStats().statusClasses).toMatchObject({ "2XX": 4, "5XX": 28 });
  });

  test("an unknown endpoint, a GET and an API with no ready replica are answered from the head", async () => {
    // Given an API with no ready replica
    const { gateway, url } = await start({
      readyReplicas: () => [],
      whyNotReady: () => "its replicas are still starting",
    });
    gateway.setRoute("big", "/big");
    const port = Number(new URL(url).port);
    const body = Buffer.alloc(SIZE, 0x20);

    // When large bodies are sent to an unknown path and to the API
    const missing = await postOnce(port, "/nope", body);
    const notReady = await postOnce(port, "/big", body);

    // Then each gets its answer without its body ever being held
    expect(missing.status).toBe(404);
    expect(notReady.status).toBe(503);
    expect(notReady.text).toContain("its replicas are still starting");
    expect(gateway.peakBufferedBytes).toBe(0);
  });

  test("a global cap on buffered bytes answers 503 before reading, and frees what it held", async () => {
    // Given room for two and a half bodies, and an API that would take 4 requests at once
    const { gateway, port } = await gatewayWithReplica(4, { maxBufferedBytes: 2.5 * SIZE });
    const body = sleepingBody(SIZE, 1);

    // When 32 clients each POST a 1 MiB body at the same time
    const answers = await Promise.all(
      Array.from({ length: 32 }, () => postOnce(port, "/big", body)),
    );

    // Then 2 are served, 30 get 503 naming the gateway's limit, counted for the API
    const statuses = answers.map((answer) => answer.status).sort((a, b) => a - b);
    expect(statuses).toEqual([...Array(2).fill(200), ...Array(30).fill(503)]);
    const refused = answers.find((answer) => answer.status === 503);
    expect(refused?.text).toContain(`holds as many request bodies as it may (${2.5 * SIZE} bytes`);
    expect(gateway.refusedStats("big")?.statusClasses["5XX"]).toBe(30);
    // And the bytes held never passed the cap, and are all given back
    expect(gateway.peakBufferedBytes).toBeLessThanOrEqual(2.5 * SIZE);
    expect(gateway.bufferedBytes).toBe(0);
    // And a request served after the burst still works
    expect((await postOnce(port, "/big", Buffer.from('{"n": 1}'))).status).toBe(200);
  });
});

describe("Gateway routing a TrafficSplitter", () => {
  test("Given a splitter whose API requires keys, When a request without the key is picked for it, Then it is refused 401 and the keyless API beside it still serves", async () => {
    // Given a 50/50 splitter over a keyed API and an open one
    const seen: string[] = [];
    const { gateway, url } = await start({
      readyReplicas: (api) => [standIn(api, 0, seen)],
      whyNotReady: () => "",
    });
    gateway.setRoute("keyed", "/keyed");
    gateway.setRoute("open", "/open");
    const made = createApiKey();
    await gateway.setKeySource("keyed", {
      load: async () => [
        {
          id: made.id,
          name: null,
          hash: made.hash,
          createdAt: new Date().toISOString(),
          expiresAt: null,
          ratePerSecond: null,
        },
      ],
      log: () => {},
    });
    gateway.setSplitRoute("both", "/both", [
      { api: "keyed", weight: 50 },
      { api: "open", weight: 50 },
    ]);

    // When four requests without a key go through the splitter
    const statuses: number[] = [];
    const bodies: string[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await fetch(`${url}/both`, { method: "POST", body: "[1]" });
      statuses.push(response.status);
      bodies.push(await response.text());
    }
    // Then the keyed API's share is refused (a splitter is no way around its keys)
    expect(statuses.filter((status) => status === 401)).toHaveLength(2);
    expect(bodies.filter((body) => body === "open")).toHaveLength(2);
    expect(gateway.keyUsage("keyed")?.unauthorized).toBe(2);
    // And with the key, every request is served
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${url}/both`, {
        method: "POST",
        body: "[1]",
        headers: { authorization: `Bearer ${made.key}` },
      });
      expect(response.status).toBe(200);
    }
  });
});

describe("Gateway holding requests for an API starting from zero", () => {
  test("Given an idle API, When requests arrive, Then they are held until a replica is ready; past the hold limit a 503 says to retry after the last measured start", async () => {
    // Given an API with no ready replica that may idle at zero: 2 held at most, a start took 2.4 s
    const ready: RoutableReplica[] = [];
    const woken: string[] = [];
    const { gateway, url } = await start({
      readyReplicas: () => ready,
      whyNotReady: () => "idle",
      coldStart: (name) => {
        woken.push(name);
        return { timeoutMs: 60_000, holdLimit: 2, lastStartMs: 2_400 };
      },
    });
    gateway.setRoute("sleepy", "/sleepy");
    // When three requests arrive
    const first = fetch(`${url}/sleepy`, { method: "POST", body: "{}" });
    const second = fetch(`${url}/sleepy`, { method: "POST", body: "{}" });
    await waitUntil(() => gateway.heldCount("sleepy") === 2);
    const third = await fetch(`${url}/sleepy`, { method: "POST", body: "{}" });
    // Then the third is refused at once, with the measured start time rounded up
    expect(third.status).toBe(503);
    expect(third.headers.get("retry-after")).toBe("3");
    expect(woken.length).toBeGreaterThanOrEqual(2);
    // When a replica becomes ready, Then the two held are answered by it
    ready.push(standIn("r1", 0, []));
    gateway.releaseHeld("sleepy");
    expect(await Promise.all([first, second].map(async (r) => (await r).text()))).toEqual([
      "r1",
      "r1",
    ]);
    expect(gateway.heldCount("sleepy")).toBe(0);
  });

  test("Given a held request, When the API does not start within predictor.timeout, Then it gets a 503 with Retry-After", async () => {
    const { gateway, url } = await start({
      readyReplicas: () => [],
      whyNotReady: () => "starting",
      coldStart: () => ({ timeoutMs: 50, holdLimit: 10, lastStartMs: undefined }),
    });
    gateway.setRoute("sleepy", "/sleepy");
    const response = await fetch(`${url}/sleepy`, { method: "POST", body: "{}" });
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(await response.text()).toContain("did not start within its predictor.timeout");
  });

  test("Given held requests, When the start they woke fails, Then each gets a 503 at once naming the failure; later ones too", async () => {
    // Given an API starting from zero, two requests held
    let failure: FailedColdStart | undefined;
    const { gateway, url } = await start({
      readyReplicas: () => [],
      whyNotReady: () => "starting",
      coldStart: () => failure ?? { timeoutMs: 600_000, holdLimit: 10, lastStartMs: 2_000 },
    });
    gateway.setRoute("sleepy", "/sleepy");
    const held = [1, 2].map(() => fetch(`${url}/sleepy`, { method: "POST", body: "{}" }));
    await waitUntil(() => gateway.heldCount("sleepy") === 2);
    // When its replica fails to start (the provider tells the gateway)
    failure = { failed: "worker 0 exited with code 1: ValueError: no model", retryAfterMs: 3_500 };
    gateway.failHeld("sleepy", failure);
    // Then both are answered 503 now (not after the 10-minute timeout), with the reason
    for (const response of await Promise.all(held)) {
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("4");
      expect(((await response.json()) as { error: string }).error).toBe(
        "api sleepy failed to start from zero (worker 0 exited with code 1: ValueError: no model); retry in 4s",
      );
    }
    expect(gateway.heldCount("sleepy")).toBe(0);
    // And a later request, while the API is failing, gets the same answer without being held
    const later = await fetch(`${url}/sleepy`, { method: "POST", body: "{}" });
    expect(later.status).toBe(503);
    expect(await later.text()).toContain("failed to start from zero (worker 0 exited");
    expect(gateway.heldCount("sleepy")).toBe(0);
  });

  test("Given an ordinary API with no ready replica, When a request arrives, Then it is refused at once, not held", async () => {
    const { gateway, url } = await start({
      readyReplicas: () => [],
      whyNotReady: () => "its replica is starting",
      coldStart: () => undefined,
    });
    gateway.setRoute("iris", "/iris");
    const response = await fetch(`${url}/iris`, { method: "POST", body: "{}" });
    expect(response.status).toBe(503);
    expect(gateway.heldCount("iris")).toBe(0);
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
}
