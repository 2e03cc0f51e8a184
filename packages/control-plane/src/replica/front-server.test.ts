/**
 * The replica front's HTTP server over real sockets on 127.0.0.1: the fast path byte by byte
 * (raw TCP, so the exact bytes on the wire are what is tested) and the hand-off of everything
 * else to node:http.
 */
import http from "node:http";
import { connect } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import {
  type FrontHandler,
  FrontServer,
  type FrontServerOptions,
  parseHead,
} from "./front-server.js";

const servers: FrontServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function start(
  handler: FrontHandler,
  options: Partial<FrontServerOptions> = {},
): Promise<{ server: FrontServer; port: number }> {
  const server = new FrontServer({ handler, ...options });
  servers.push(server);
  const port = await server.listen(0, "127.0.0.1");
  return { server, port };
}

/** Echoes method, url, body length and body text, with a header naming the request. */
const echo: FrontHandler = (request, responder) => {
  responder.send(
    200,
    ["content-type", "text/plain", "x-url", request.url],
    `${request.method} ${request.url} ${request.body.length} ${request.body.toString()}`,
  );
};

/**
 * Sends `parts` over one TCP connection (a pause between parts, so each is its own segment) and
 * collects what comes back until `done(received)` or the server closes; bounded by 5 s.
 */
function exchange(
  port: number,
  parts: (string | Uint8Array)[],
  done: (received: string) => boolean = () => false,
  options: { halfClose?: boolean } = {},
): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    let finished = false;
    const finish = (closedByServer: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closedByServer });
    };
    const timer = setTimeout(() => finish(false), 5_000);
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
      if (done(text)) finish(false);
    });
    socket.on("end", () => finish(true));
    socket.on("error", reject);
    const send = async (): Promise<void> => {
      for (const part of parts) {
        socket.write(part);
        await new Promise((r) => setTimeout(r, 5));
      }
      if (options.halfClose === true) socket.end();
    };
    socket.on("connect", () => void send());
  });
}

/** The server forgets a connection on its "close", which may come just after the client saw the end. */
async function expectNoConnections(server: FrontServer): Promise<void> {
  for (let i = 0; i < 100 && server.connectionCount > 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(server.connectionCount).toBe(0);
}

function countResponses(text: string): number {
  return text.split("HTTP/1.1 ").length - 1;
}

const post = (path: string, body: string, extra = ""): string =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

describe("FrontServer fast path", () => {
  test("answers keep-alive requests on one connection with status, date, length and headers", async () => {
    const { port } = await start(echo);
    const { text, closedByServer } = await exchange(
      port,
      [post("/a", "hello"), post("/b?q=1", "")],
      (received) => countResponses(received) === 2 && received.endsWith("POST /b?q=1 0 "),
    );
    const [first, second] = text.split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(first).toMatch(/\r\ndate: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n/);
    expect(first).toContain("\r\nx-url: /a\r\n");
    expect(first).toContain("\r\ncontent-length: 15\r\n\r\nPOST /a 5 hello");
    expect(second).toContain("\r\nx-url: /b?q=1\r\n");
    expect(closedByServer).toBe(false);
  });

  test("parses requests split into single bytes and bodies spread over segments", async () => {
    const { port } = await start(echo);
    const request = post("/split", "abcdef");
    const bytes = [...Buffer.from(request)].map((byte) => Buffer.from([byte]));
    const { text } = await exchange(port, bytes, (received) => received.endsWith("abcdef"));
    expect(text).toContain("POST /split 6 abcdef");
  });

  test("answers pipelined requests in request order even when answered out of order", async () => {
    const { port } = await start((request, responder) => {
      const delay = Number(request.body.toString());
      setTimeout(() => responder.send(200, [], `done ${delay}`), delay);
    });
    const { text } = await exchange(
      port,
      [post("/p", "60") + post("/p", "30") + post("/p", "0")],
      (received) => countResponses(received) === 3 && received.endsWith("done 0"),
    );
    expect([...text.matchAll(/done (\d+)/g)].map((m) => m[1])).toEqual(["60", "30", "0"]);
  });

  test("delivers a 1 MiB body intact and returns a large body", async () => {
    const { port } = await start((request, responder) =>
      responder.send(200, ["content-type", "application/octet-stream"], request.body),
    );
    const body = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
    const response = await fetch(`http://127.0.0.1:${port}/big`, { method: "POST", body });
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(body)).toBe(true);
  });

  test("refuses a body over maxBodyBytes with 413 and closes, without calling the handler", async () => {
    let calls = 0;
    const { port } = await start(
      (_request, responder) => {
        calls++;
        responder.send(200, [], "ok");
      },
      { maxBodyBytes: 10 },
    );
    const { text, closedByServer } = await exchange(port, [post("/x", "x".repeat(11))]);
    expect(text).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n/);
    expect(text).toContain("connection: close");
    expect(text).toContain("larger than the limit of 10 bytes");
    expect(closedByServer).toBe(true);
    expect(calls).toBe(0);
  });

  test("honours Connection: close and answers what a half-closed client asked", async () => {
    const { port } = await start(echo);
    const closing = await exchange(port, [post("/c", "1", "Connection: close\r\n")]);
    expect(closing.text).toContain("connection: close");
    expect(closing.closedByServer).toBe(true);
    const half = await exchange(port, [post("/h", "2")], () => false, { halfClose: true });
    expect(half.text).toContain("POST /h 1 2");
    expect(half.closedByServer).toBe(true);
  });

  test("answers 500 when the handler throws, including for a header value with a line break", async () => {
    const { port } = await start((request, responder) => {
      if (request.url === "/throw") throw new Error("boom");
      responder.send(200, ["x-bad", "a\r\nset-cookie: evil=1"], "never");
    });
    const thrown = await fetch(`http://127.0.0.1:${port}/throw`, { method: "POST" });
    expect(thrown.status).toBe(500);
    expect(await thrown.text()).toContain("boom");
    const split = await fetch(`http://127.0.0.1:${port}/split`, { method: "POST" });
    expect(split.status).toBe(500);
    expect(split.headers.get("set-cookie")).toBeNull();
  });

  test("a response for a client that went away is dropped; the responder reports done", async () => {
    let doneAfterClose: boolean | undefined;
    const answered = new Promise<void>((resolve) => {
      void start((_request, responder) => {
        setTimeout(() => {
          doneAfterClose = responder.done;
          responder.send(200, [], "late"); // must not throw
          resolve();
        }, 150);
      }).then(({ port }) => {
        const socket = connect(port, "127.0.0.1", () => {
          socket.write(post("/gone", "x"));
          setTimeout(() => socket.resetAndDestroy(), 20); // gone, not half-closed
        });
      });
    });
    await answered;
    expect(doneAfterClose).toBe(true);
  });

  test("counts keep-alive idleness from the last response, not from the request", async () => {
    // A handler slower than the keep-alive timeout; the sweep runs once a second, so within the
    // 1.1 s pause below it always runs once: it must find the connection idle for ≤ 1.1 s.
    const { port } = await start(
      (request, responder) =>
        setTimeout(() => echo(request, responder), request.url === "/slow" ? 2_000 : 0),
      { keepAliveTimeoutMs: 1_500 },
    );
    const socket = connect(port, "127.0.0.1");
    let text = "";
    socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    const until = async (done: () => boolean): Promise<void> => {
      for (let i = 0; i < 400 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
    };
    socket.write(post("/slow", "1"));
    await until(() => text.includes("POST /slow 1 1"));
    await new Promise((r) => setTimeout(r, 1_100));
    socket.write(post("/next", "2"));
    await until(() => text.includes("POST /next 1 2"));
    expect(text).toContain("POST /next 1 2");
    socket.destroy();
    await closed;
  });

  test("closes idle keep-alive connections, and answers 408 to a request that never completes", async () => {
    const { server, port } = await start(echo, { keepAliveTimeoutMs: 200, requestTimeoutMs: 300 });
    const idle = await exchange(port, [post("/i", "1")]);
    expect(idle.text).toContain("POST /i 1 1");
    expect(idle.closedByServer).toBe(true);
    const partial = await exchange(port, [post("/p", "12345").slice(0, -2)]);
    expect(partial.text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(partial.closedByServer).toBe(true);
    await expectNoConnections(server);
  });
});

describe("FrontServer hand-off to node:http", () => {
  test("a chunked body is decoded by node:http and reaches the same handler", async () => {
    const { port } = await start(echo);
    const chunked =
      "POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    const { text } = await exchange(port, [chunked], (received) =>
      received.endsWith("hello world"),
    );
    expect(text).toContain("POST /chunked 11 hello world");
  });

  test("a fast request followed on the same connection by a chunked one: both answered, in order", async () => {
    const { port } = await start((request, responder) => {
      const delay = request.url === "/first" ? 50 : 0;
      setTimeout(() => echo(request, responder), delay);
    });
    const chunked =
      "POST /second HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n";
    const { text } = await exchange(port, [post("/first", "a") + chunked], (received) =>
      received.includes("POST /second 2 ok"),
    );
    expect(text.indexOf("POST /first 1 a")).toBeGreaterThan(0);
    expect(text.indexOf("POST /first 1 a")).toBeLessThan(text.indexOf("POST /second 2 ok"));
  });

  test("HTTP/1.0, HEAD and Expect: 100-continue are served by node:http", async () => {
    const { port } = await start(echo);
    const old = await exchange(port, ["POST /old HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi"]);
    expect(old.text).toContain("POST /old 2 hi");
    expect(old.closedByServer).toBe(true);
    const head = await exchange(port, ["HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n"], (received) =>
      received.includes("\r\n\r\n"),
    );
    expect(head.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(head.text.endsWith("\r\n\r\n")).toBe(true); // no body after a HEAD
    const expecting = await exchange(
      port,
      ["POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", "abc"],
      (received) => received.endsWith("abc"),
    );
    expect(expecting.text).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
    expect(expecting.text).toContain("POST /e 3 abc");
  });

  test("204 and 304 end at their head: no body and no content-length, on both paths", async () => {
    // Given a handler that answers /204 and /304 with a body anyway, then anything else with 200
    const { port } = await start((request, responder) => {
      const status = request.url === "/204" ? 204 : request.url === "/304" ? 304 : 200;
      responder.send(status, ["content-type", "text/plain"], "ignored");
    });
    const get = (path: string, version = "1.1"): string =>
      `GET ${path} HTTP/${version}\r\nHost: x\r\n\r\n`;

    // When both are asked on one keep-alive connection (fast path), then a 200 after them
    const fast = await exchange(port, [get("/204"), get("/304"), get("/ok")], (received) =>
      received.endsWith("ignored"),
    );
    // And a 204 over HTTP/1.0 (node:http's path)
    const fallback = await exchange(port, [get("/204", "1.0")]);

    // Then the 204 and 304 are heads alone, and the connection still frames the next answer
    const [first, second, third] = fast.text.split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/^HTTP\/1\.1 204 No Content\r\n[\s\S]*\r\n\r\n$/);
    expect(second).toMatch(/^HTTP\/1\.1 304 Not Modified\r\n[\s\S]*\r\n\r\n$/);
    for (const head of [first, second, fallback.text]) {
      expect(head?.toLowerCase()).not.toContain("content-length");
      expect(head).not.toContain("ignored");
    }
    expect(third).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*content-length: 7\r\n\r\nignored$/);
    expect(fallback.text).toMatch(/^HTTP\/1\.1 204 No Content\r\n/);
  });

  test("an absolute-form target reaches the handler in origin-form, query included", async () => {
    // Given requests whose target carries scheme and authority (RFC 9112 §3.2.2)
    const { port } = await start(echo);
    // When they are sent, with and without a path
    const withPath = await exchange(
      port,
      [
        "POST http://localhost:9401/multi?a=1 HTTP/1.1\r\nHost: localhost:9401\r\nContent-Length: 2\r\n\r\nhi",
      ],
      (received) => received.endsWith("hi"),
    );
    const noPath = await exchange(
      port,
      ["GET http://h?b=2 HTTP/1.1\r\nHost: h\r\n\r\n"],
      (received) => received.endsWith("GET /?b=2 0 "),
    );
    // Then the handler sees only path and query
    expect(withPath.text).toContain("POST /multi?a=1 2 hi");
    expect(noPath.text).toContain("GET /?b=2 0 ");
  });

  test("Expect: 100-continue with a length over maxBodyBytes gets 413 instead of 100", async () => {
    let calls = 0;
    const { port } = await start(
      (request, responder) => {
        calls++;
        echo(request, responder);
      },
      { maxBodyBytes: 10 },
    );
    // Given a head that expects 100-continue and declares a body over the limit, sent alone
    const tooLarge = await exchange(port, [
      "POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n",
    ]);
    // Then the first bytes back are the 413, no 100 Continue, and the connection closes
    expect(tooLarge.text).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n/);
    expect(tooLarge.text).not.toContain("100 Continue");
    expect(tooLarge.text).toContain("larger than the limit of 10 bytes");
    expect(tooLarge.closedByServer).toBe(true);
    expect(calls).toBe(0);
    // And a body within the limit still gets 100 Continue, then the answer
    const fits = await exchange(
      port,
      [
        "POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n",
        "0123456789",
      ],
      (received) => received.endsWith("0123456789"),
    );
    expect(fits.text).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
    expect(fits.text).toContain("POST /e 10 0123456789");
  });

  test("a handed-off connection keeps serving requests, and closes after the keep-alive timeout", async () => {
    const { server, port } = await start(echo, { keepAliveTimeoutMs: 300 });
    const chunked =
      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    const { text, closedByServer } = await exchange(port, [chunked, post("/next", "hi")]);
    expect(text).toContain("POST /c 3 abc");
    expect(text).toContain("POST /next 2 hi");
    expect(text).toContain("Keep-Alive: timeout=0"); // node:http's own answer on the hand-off
    expect(closedByServer).toBe(true);
    await expectNoConnections(server);
  });

  test("malformed requests get node:http's 400, a missing Host too", async () => {
    const { port } = await start(echo);
    for (const request of [
      "GARBAGE\r\n\r\n",
      "POST /x HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
      "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy",
      "POST /x HTTP/1.1\r\nHost: x\r\n folded: header\r\n\r\n",
    ]) {
      const { text } = await exchange(port, [request]);
      expect(text, JSON.stringify(request)).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    }
  });

  test("a chunked body over maxBodyBytes gets 413", async () => {
    const { port } = await start(echo, { maxBodyBytes: 4 });
    const { text } = await exchange(port, [
      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    ]);
    expect(text).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n/);
  });
});

describe("FrontServer admission before the body", () => {
  /** Waits (bounded) until `condition` holds. */
  async function until(condition: () => boolean): Promise<void> {
    for (let i = 0; i < 250 && !condition(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(condition()).toBe(true);
  }

  test("holds one body at the per-request limit at most by default (issue 27: ≤ 2× idle RSS)", () => {
    const server = new FrontServer({ handler: echo });
    expect(server.maxBufferedBytes).toBe(64 * 1024 * 1024);
    expect(server.maxBufferedBytes).toBe(server.maxBodyBytes);
  });

  test("after big bodies: scavenges while their chunks arrive, one full collection once none is held", async () => {
    // Given a server that records the collections it asks for
    const collections: string[] = [];
    const { server, port } = await start(echo, {
      collectGarbage: (type) => collections.push(type),
    });
    // When a 20 MiB body arrives in many reads and is answered
    const size = 20 * 1024 * 1024;
    const { text } = await exchange(
      port,
      [`POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`, Buffer.alloc(size, 1)],
      (received) => received.includes(`POST /big ${size} `),
    );
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    // Then its chunks were scavenged as they came (8 MiB apart), and one full collection follows
    // the release
    expect(collections.filter((type) => type === "minor").length).toBeGreaterThanOrEqual(2);
    await until(() => collections.includes("major"));
    expect(server.bufferedBytes).toBe(0);
    expect(collections.filter((type) => type === "major")).toEqual(["major"]);

    // When small bodies follow, Then no further collection is asked for
    const small = await exchange(
      port,
      ["POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n", "abc"],
      (received) => received.endsWith("abc"),
    );
    expect(small.text).toContain("POST /s 3 abc");
    expect(collections.filter((type) => type === "major")).toEqual(["major"]);
  });

  test("a body over the buffer cap gets 503 from its head; the handler never sees it", async () => {
    // Given a server that may hold 100 bytes of bodies
    let calls = 0;
    const { server, port } = await start(
      (request, responder) => {
        calls++;
        echo(request, responder);
      },
      { maxBufferedBytes: 100 },
    );
    // When a request declares 101 bytes and sends only its head and the first bytes
    const { text, closedByServer } = await exchange(port, [
      "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\nabc",
    ]);
    // Then it gets 503 with Retry-After, the connection closes, nothing was handed on or held
    expect(text).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(text).toContain("retry-after: 1");
    expect(text).toContain("holds as many request bodies as it may (100 bytes at once)");
    expect(closedByServer).toBe(true);
    expect(calls).toBe(0);
    expect(server.bufferedBytes).toBe(0);
    expect(server.peakBufferedBytes).toBe(0);
    // And a body that fits is read and answered, and what it held is given back
    const fits = await exchange(
      port,
      ["POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n", "y".repeat(100)],
      (received) => received.endsWith("y".repeat(100)),
    );
    expect(fits.text).toContain(`POST /ok 100 ${"y".repeat(100)}`);
    expect(server.peakBufferedBytes).toBe(100);
    expect(server.bufferedBytes).toBe(0);
  });

  test("admitBody decides from the head: a refused body is never read, an admitted one is held until answered", async () => {
    // Given admission that refuses /no and holds /yes's answer until released
    const decided: string[] = [];
    let answerYes: (() => void) | undefined;
    const { server, port } = await start(echo, {
      admitBody: (head, responder) => {
        decided.push(`${head.method} ${head.url} ${head.contentLength}`);
        if (head.url === "/no") {
          responder.send(503, ["retry-after", "1"], "full");
          return null;
        }
        return {
          deliver: (request, res) => (answerYes = () => echo(request, res)),
          cancel: () => decided.push("cancelled"),
        };
      },
    });
    // When a refused request sends its head, then a body that never arrives whole
    const refused = await exchange(port, [
      "POST /no HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab",
      "c".repeat(500),
    ]);
    // Then the refusal is its answer and the connection closes
    expect(refused.text).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(refused.text).toContain("connection: close");
    expect(refused.closedByServer).toBe(true);
    expect(server.bufferedBytes).toBe(0);

    // When an admitted request's body arrives in pieces
    const admitted = exchange(
      port,
      ["POST /yes HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nab", "cd", "ef"],
      (received) => received.includes("abcdef"),
    );
    await until(() => answerYes !== undefined);
    // Then its bytes count as held until it is answered
    expect(server.bufferedBytes).toBe(6);
    answerYes?.();
    expect((await admitted).text).toContain("POST /yes 6 abcdef");
    expect(server.bufferedBytes).toBe(0);

    // When a client goes away halfway through an admitted body
    const socket = connect(port, "127.0.0.1");
    socket.write("POST /yes HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf");
    await until(() => server.bufferedBytes === 100);
    socket.destroy();
    // Then the ticket is cancelled and nothing stays held
    await until(() => decided.includes("cancelled"));
    await until(() => server.bufferedBytes === 0);
    expect(decided).toEqual(["POST /no 1000", "POST /yes 6", "POST /yes 100", "cancelled"]);
  });

  test("a chunked body counts as it arrives: past the cap it gets 503 and is not handed on", async () => {
    // Given a server that may hold 8 bytes of bodies
    let calls = 0;
    const { server, port } = await start(
      (request, responder) => {
        calls++;
        echo(request, responder);
      },
      { maxBufferedBytes: 8 },
    );
    // When a chunked body of 5 + 5 bytes arrives
    const { text } = await exchange(port, [
      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
      "5\r\nworld\r\n0\r\n\r\n",
    ]);
    // Then it gets 503 and the handler never ran; nothing stays held
    expect(text).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(calls).toBe(0);
    expect(server.bufferedBytes).toBe(0);
  });
});

describe("FrontServer against node:http", () => {
  // The same bytes sent to the FrontServer and to a plain node:http server running the same echo:
  // status and what the handler saw (method, target, body) must match for every variant, whether
  // the fast path or the hand-off served it. Absolute-form targets are left out on purpose: the
  // front hands them to the handler in origin-form (tested above), where node:http does not.
  const body = '{"a": [1, 2]}';
  const length = Buffer.byteLength(body);
  const variants: [string, string][] = [
    ["plain", `POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: ${length}\r\n\r\n${body}`],
    ["lower-case names", `POST /p HTTP/1.1\r\nhost: h\r\ncontent-length: ${length}\r\n\r\n${body}`],
    ["upper-case names", `POST /p HTTP/1.1\r\nHOST: h\r\nCONTENT-LENGTH: ${length}\r\n\r\n${body}`],
    [
      "spaces and tabs around values",
      `POST /p HTTP/1.1\r\nHost:h\r\nContent-Length: \t${length} \t\r\n\r\n${body}`,
    ],
    [
      "query string",
      `POST /p?a=1&b=%20x HTTP/1.1\r\nHost: h\r\nContent-Length: ${length}\r\n\r\n${body}`,
    ],
    ["GET without body", "GET /g HTTP/1.1\r\nHost: h\r\n\r\n"],
    ["POST without length", "POST /n HTTP/1.1\r\nHost: h\r\n\r\n"],
    ["zero length", "POST /z HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"],
    [
      "leading zeros in length",
      `POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 00${length}\r\n\r\n${body}`,
    ],
    [
      "many headers",
      `POST /p HTTP/1.1\r\nHost: h\r\n${"X-A: 1\r\n".repeat(50)}Content-Length: ${length}\r\n\r\n${body}`,
    ],
    [
      "repeated plain header",
      `POST /p HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-A: 2\r\nContent-Length: ${length}\r\n\r\n${body}`,
    ],
    [
      "empty header value",
      `POST /p HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nContent-Length: ${length}\r\n\r\n${body}`,
    ],
    ["binary body", "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\n\u0000\u00ff\r\n"],
    [
      "chunked",
      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    ],
    [
      "chunked and length",
      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    ],
    ["HTTP/1.0", `POST /o HTTP/1.0\r\nContent-Length: ${length}\r\n\r\n${body}`],
    ["PUT", `PUT /u HTTP/1.1\r\nHost: h\r\nContent-Length: ${length}\r\n\r\n${body}`],
    ["lower-case method", "post /l HTTP/1.1\r\nHost: h\r\n\r\n"],
    ["unknown method", "BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n"],
    ["asterisk target", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"],
    ["no Host", "GET /g HTTP/1.1\r\n\r\n"],
    [
      "two different lengths",
      "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy",
    ],
    ["negative length", "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n"],
    ["space in name", "POST /p HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n"],
    ["space before colon", "POST /p HTTP/1.1\r\nHost: h\r\nX-A : x\r\n\r\n"],
    ["obs-fold", "POST /p HTTP/1.1\r\nHost: h\r\nX-A: x\r\n  y\r\n\r\n"],
    ["bare LF line ends", "GET /lf HTTP/1.1\nHost: h\n\n"],
    ["NUL in value", "GET /p HTTP/1.1\r\nHost: h\r\nX-A: a\u0000b\r\n\r\n"],
    ["control character in target", "GET /p\u0001 HTTP/1.1\r\nHost: h\r\n\r\n"],
    ["HTTP/2 version", "GET /p HTTP/2.0\r\nHost: h\r\n\r\n"],
    ["truncated head", "GET /t HTTP/1.1\r\nHost: h\r\n"],
    ["truncated request line", "GET /t HTT"],
    ["garbage", "\u0016\u0003\u0001\u0000\u00a5\u0001\r\n\r\n"],
  ];

  async function nodeEcho(): Promise<{ port: number; close(): Promise<void> }> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const got = Buffer.concat(chunks);
        res.end(`${req.method} ${req.url} ${got.length} ${got.toString()}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    return {
      port,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  }

  /** Status code and body of the first response to `request` (a half-close ends the request). */
  function firstResponse(text: string): string {
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? "none";
    if (status !== "200") return status;
    return `${status} ${text.slice(text.indexOf("\r\n\r\n") + 4)}`;
  }

  test.each(variants)("%s", async (_name, request) => {
    const { port } = await start(echo);
    const reference = await nodeEcho();
    try {
      const ours = await exchange(port, [Buffer.from(request, "latin1")], () => false, {
        halfClose: true,
      });
      const theirs = await exchange(reference.port, [Buffer.from(request, "latin1")], () => false, {
        halfClose: true,
      });
      expect(firstResponse(ours.text)).toBe(firstResponse(theirs.text));
    } finally {
      await reference.close();
    }
  });
});

describe("parseHead", () => {
  test("accepts the plain subset and reports length and close", () => {
    expect(
      parseHead("POST /iris?a=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 17\r\nConnection: close"),
    ).toEqual({
      method: "POST",
      url: "/iris?a=1",
      rawHeaders: ["Host", "h", "Content-Length", "17", "Connection", "close"],
      contentLength: 17,
      close: true,
    });
  });

  test.each([
    ["HTTP/1.0", "POST / HTTP/1.0\r\nHost: h"],
    ["HEAD", "HEAD / HTTP/1.1\r\nHost: h"],
    ["absolute form", "GET http://h/ HTTP/1.1\r\nHost: h"],
    ["no Host", "GET / HTTP/1.1"],
    ["two Hosts", "GET / HTTP/1.1\r\nHost: h\r\nHost: i"],
    ["chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked"],
    ["Expect", "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue"],
    ["Upgrade", "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket"],
    ["signed length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5"],
    ["two lengths", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5"],
    ["obs-fold", "POST / HTTP/1.1\r\nHost: h\r\n x"],
    ["space before colon", "POST / HTTP/1.1\r\nHost : h"],
    ["bare LF", "POST / HTTP/1.1\r\nHost: h\nX: y"],
    ["non-ASCII value", "POST / HTTP/1.1\r\nHost: h\r\nX: \u00e9"],
  ])("leaves %s to node:http", (_name, head) => {
    expect(parseHead(head)).toBeNull();
  });
});
