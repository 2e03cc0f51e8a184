/**
 * The Python worker seen through a minimal front written here against PROTOCOL.md: what happens
 * when the front's end of the socket goes away (as when the daemon is `kill -9`ed), and how it
 * answers requests that break the predictor or the runtime without dying.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import {
  BodyKind,
  encodeBatchHead,
  encodeRequestHead,
  FrameReader,
  FrameType,
  PING_FRAME,
} from "./protocol.js";
import { resolveRuntimeDir } from "./runtime-dir.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));

/** A RESPONSE frame, decoded. */
interface Answer {
  status: number;
  /** 0 JSON, 1 text, 2 bytes (PROTOCOL.md). */
  content: number;
  body: string;
}

interface MiniFront {
  child: ChildProcess;
  socket: Socket;
  /** Resolves with the first frame of the given type. */
  frame(type: number): Promise<Buffer>;
  /** Resolves with the RESPONSE for `seq`; rejects if none comes within 10 s. */
  response(seq: number): Promise<Answer>;
  /** Everything the worker wrote to stderr so far (its runtime log). */
  log(): string;
}

/** Spawns one worker for `predictor` and accepts its connection. */
async function startWorker(
  predictor: string,
  config: Record<string, unknown>,
  threads = 1,
): Promise<MiniFront> {
  const dir = await mkdtemp(path.join(tmpdir(), "axon-wrk-"));
  const socketPath = path.join(dir, "w.sock");
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const child = spawn(
    "python3",
    ["-m", "axon_runtime.worker", "--socket", socketPath, "--worker-index", "0"]
      .concat(["--replica-id", "r-mini", "--api", "mini", "--project", FIXTURES])
      .concat(["--predictor", predictor, "--threads", String(threads)]),
    {
      env: {
        ...process.env,
        PYTHONPATH: resolveRuntimeDir(),
        PYTHONUNBUFFERED: "1",
        AXON_PREDICTOR_CONFIG: JSON.stringify(config),
      },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    server.close();
    await rm(dir, { recursive: true, force: true });
  });
  let log = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (text: string) => (log += text));
  const [socket] = (await once(server, "connection")) as [Socket];
  const seen: Buffer[] = [];
  const waiters: { matches: (frame: Buffer) => boolean; resolve: (frame: Buffer) => void }[] = [];
  const reader = new FrameReader((buffer, start, end) => {
    const frame = Buffer.from(buffer.subarray(start, end));
    seen.push(frame);
    for (const waiter of waiters.filter((w) => w.matches(frame))) waiter.resolve(frame);
  });
  socket.on("data", (chunk: Buffer) => reader.push(chunk));
  const frameWhere = (matches: (frame: Buffer) => boolean): Promise<Buffer> =>
    new Promise((resolve) => {
      const found = seen.find(matches);
      if (found !== undefined) resolve(found);
      else waiters.push({ matches, resolve });
    });
  return {
    child,
    socket,
    frame: (type) => frameWhere((frame) => frame[0] === type),
    response: async (seq) => {
      const isAnswer = (frame: Buffer) =>
        frame[0] === FrameType.Response && frame.readUInt32BE(1) === seq;
      const frame = await within(10_000, frameWhere(isAnswer), `no RESPONSE for seq ${seq}`);
      return {
        status: frame.readUInt16BE(5),
        content: frame[7] ?? -1,
        body: frame.subarray(8).toString(),
      };
    },
    log: () => log,
  };
}

/** `promise`, or a rejection saying `what` after `timeoutMs`. */
async function within<T>(timeoutMs: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A REQUEST frame with request id `req-<seq>` and a JSON body. */
function jsonRequest(seq: number, body: string): Buffer {
  const bytes = Buffer.from(body);
  return Buffer.concat([
    encodeRequestHead(seq, BodyKind.Json, `req-${seq}`, null, bytes.length),
    bytes,
  ]);
}

/** A BATCH frame holding `requests`. */
function batch(requests: Buffer[]): Buffer {
  const size = requests.reduce((sum, request) => sum + request.length, 0);
  return Buffer.concat([encodeBatchHead(requests.length, size), ...requests]);
}

/** The `error` of a RESPONSE the worker produced itself, after checking its shape. */
function errorOf(answer: Answer, seq: number): string {
  expect(answer.content).toBe(0);
  const body = JSON.parse(answer.body) as { error: string; request_id: string };
  expect(body.request_id).toBe(`req-${seq}`);
  return body.error;
}

/** Polls the worker's log (bounded): stderr and the socket are separate pipes. */
async function logOf(front: MiniFront, expected: string): Promise<string> {
  const deadline = Date.now() + 5_000;
  while (!front.log().includes(expected) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return front.log();
}

/** Sends one request the predictor answers normally: the worker is alive and serving. */
async function expectServing(front: MiniFront, seq: number): Promise<void> {
  front.socket.write(jsonRequest(seq, "[1, 2]"));
  expect(await front.response(seq)).toEqual({ status: 200, content: 0, body: "[1, 2]" });
  expect(front.child.exitCode).toBeNull();
}

/** Waits (bounded) for the process to exit; returns its code, or "running" on timeout. */
async function exitOf(child: ChildProcess, timeoutMs: number): Promise<number | string | null> {
  if (child.exitCode !== null || child.signalCode !== null)
    return child.exitCode ?? child.signalCode;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const result = await Promise.race([
    once(child, "exit").then(([code, signal]) => (code ?? signal) as number | string | null),
    new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve("running"), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  return result;
}

describe("axon_runtime.worker", () => {
  it("announces itself, reports ready, and exits when the front closes the socket", async () => {
    // Given a worker that finished __init__
    const front = await startWorker("echo_predictor.py", {});
    const hello = JSON.parse((await front.frame(FrameType.Hello)).subarray(1).toString()) as {
      pid: number;
      worker: number;
    };
    expect(hello).toMatchObject({ pid: front.child.pid, worker: 0 });
    const ready = JSON.parse((await front.frame(FrameType.Ready)).subarray(1).toString()) as {
      args: string[];
    };
    expect(ready.args).toEqual(["payload"]);

    // When the front's end of the socket goes away
    front.socket.destroy();

    // Then the worker process exits on its own
    expect(await exitOf(front.child, 5_000)).toBe(0);
    expect(() => process.kill(front.child.pid ?? -1, 0)).toThrow();
  });

  it.each([1, 2])(
    "answers a PING with a PONG when its receiving loop reaches it (%i thread(s))",
    async (threads) => {
      // Given a ready worker
      const front = await startWorker("stuck_predictor.py", {}, threads);
      await front.frame(FrameType.Ready);

      const order: number[] = []; // frame types as they arrive, after READY
      const reader = new FrameReader((buffer, start) => order.push(buffer[start] ?? -1));
      front.socket.on("data", (chunk: Buffer) => reader.push(chunk));

      // When a request that takes half a second is followed by a PING
      front.socket.write(Buffer.concat([jsonRequest(1, '{"sleep": 0.5}'), PING_FRAME]));

      // Then one thread answers the request first (the PONG waits its turn, which is how the
      // front tells busy from stuck); with two, the receiving thread answers the PING at once
      expect((await front.response(1)).status).toBe(200);
      await front.frame(FrameType.Pong);
      const { Response, Pong } = FrameType;
      expect(order).toEqual(threads === 1 ? [Response, Pong] : [Pong, Response]);
    },
  );

  it("exits while __init__ is still running when the front goes away", async () => {
    // Given a worker whose __init__ takes 30 s
    const front = await startWorker("slow_init_predictor.py", { init_seconds: 30 });
    await front.frame(FrameType.Hello);

    // When the front's end of the socket goes away
    front.socket.destroy();

    // Then the worker does not wait for __init__ to finish
    expect(await exitOf(front.child, 5_000)).toBe(3);
  });
});

describe("axon_runtime.worker JSON bodies", () => {
  it("decodes every body exactly as json.loads does: same values, same errors", () => {
    // The worker's fast decoder must be indistinguishable from json.loads(bytes).
    const script = `
import json, sys
from axon_runtime.worker import _loads
cases = [b"[5.9,3.0,5.1,1.8]", b' {"a": 1} ', b"\\xef\\xbb\\xbf[1]", b"", b"[1] x", b"\\xff", "[\\"\\u00e9\\"]".encode(),
         b"NaN", b"1e400", b'"\\\\ud800"', b"\\n[]\\n", b"{", "[\\"x\\"]".encode("utf-16"), b"[1]\\x00"]
def run(f, case):
    try:
        return ["ok", repr(f(case))]
    except ValueError as error:
        return ["error", type(error).__name__, str(error)]
print(json.dumps([[run(_loads, c), run(json.loads, c)] for c in cases]))
`;
    const output = execFileSync("python3", ["-c", script], {
      env: { ...process.env, PYTHONPATH: resolveRuntimeDir() },
      encoding: "utf8",
    });
    const pairs = JSON.parse(output) as [unknown[], unknown[]][];
    expect(pairs).toHaveLength(14);
    for (const [fast, reference] of pairs) expect(fast).toEqual(reference);
    // The table holds both successes and failures, so both paths are compared.
    expect(pairs.filter(([fast]) => fast[0] === "ok").length).toBeGreaterThan(4);
    expect(pairs.filter(([fast]) => fast[0] === "error").length).toBeGreaterThan(4);
  });
});

describe("axon_runtime.worker answers what breaks predict or the runtime, and keeps serving", () => {
  const tooDeep = "[".repeat(100_000) + "]".repeat(100_000);

  it("answers 400 to JSON nested too deeply to parse, alone and in a batch", async () => {
    // Given a worker with predict_batch
    const front = await startWorker("misbehaving_predictor.py", {});
    await front.frame(FrameType.Ready);

    // When valid JSON nested 100,000 deep arrives alone, then in a batch with a normal request
    front.socket.write(jsonRequest(1, tooDeep));
    const alone = await front.response(1);
    front.socket.write(batch([jsonRequest(2, tooDeep), jsonRequest(3, '"fine"')]));

    // Then both get a 400 that says why, the batch's other request is answered
    expect(alone.status).toBe(400);
    expect(errorOf(alone, 1)).toMatch(
      /^the request body is JSON nested too deeply to parse \(Python's json stops at about \d+ levels of arrays and objects\); send flatter JSON or change the Content-Type$/,
    );
    const inBatch = await front.response(2);
    expect(inBatch.status).toBe(400);
    expect(errorOf(inBatch, 2)).toMatch(/nested too deeply/);
    expect(await front.response(3)).toEqual({ status: 200, content: 1, body: "fine" });
    // And the worker lives on
    await expectServing(front, 4);
  });

  it("answers 500 naming the lone surrogate when a str result is not valid Unicode", async () => {
    // Given a worker whose predict returns its payload as parsed
    const front = await startWorker("misbehaving_predictor.py", {});
    await front.frame(FrameType.Ready);

    // When the payload is the JSON string "\ud800" (valid JSON, not valid text), alone and batched
    front.socket.write(jsonRequest(1, '"\\ud800"'));
    front.socket.write(batch([jsonRequest(2, '"\\ud800"'), jsonRequest(3, '"ok"')]));

    // Then that str cannot be sent as UTF-8: a 500 says what is wrong and what to do
    for (const seq of [1, 2]) {
      const answer = await front.response(seq);
      expect(answer.status).toBe(500);
      const error = errorOf(answer, seq);
      expect(error).toContain(
        "predict() returned a str that is not valid Unicode text: it holds the lone surrogate '\\ud800' at index 0",
      );
      expect(error).toContain("text.encode('utf-8', 'replace').decode()");
    }
    expect(await front.response(3)).toEqual({ status: 200, content: 1, body: "ok" });
    expect(await logOf(front, "request req-2: predict() returned a str")).toContain(
      "request req-1: predict() returned a str that is not valid Unicode text",
    );
    await expectServing(front, 4);
  });

  it("answers 500 to NaN and Infinity in a result instead of sending JSON that is not JSON", async () => {
    // Given a worker whose predict returns its payload as parsed ("numpy nan": an array with NaN)
    const front = await startWorker("misbehaving_predictor.py", {});
    await front.frame(FrameType.Ready);

    // When results hold NaN or Infinity: Python floats, a numpy array, inside a dict, batched
    const bodies = ["NaN", "-Infinity", '"numpy nan"', '{"x": [1, Infinity]}'];
    bodies.forEach((body, i) => front.socket.write(jsonRequest(i + 1, body)));
    front.socket.write(batch([jsonRequest(5, "NaN"), jsonRequest(6, "[0.5]")]));

    // Then each gets a 500 that says JSON has no NaN or Infinity and what to do
    for (const seq of [1, 2, 3, 4, 5]) {
      const answer = await front.response(seq);
      expect(answer.status).toBe(500);
      expect(errorOf(answer, seq)).toMatch(
        /^predict\(\) returned a value of type \w+ holding NaN or Infinity, which JSON cannot represent; replace them before returning it \(with None, for instance\)$/,
      );
    }
    expect(await front.response(6)).toEqual({ status: 200, content: 0, body: "[0.5]" });
    await expectServing(front, 7);
  });

  it.each([1, 2])(
    "answers 500 when predict calls sys.exit() or raises KeyboardInterrupt (%i thread(s))",
    async (threads) => {
      // Given a worker whose predict exits or interrupts itself on demand
      const front = await startWorker("misbehaving_predictor.py", {}, threads);
      await front.frame(FrameType.Ready);

      // When predict calls sys.exit(3), then raises KeyboardInterrupt
      front.socket.write(jsonRequest(1, '"exit"'));
      const exited = await front.response(1);
      front.socket.write(jsonRequest(2, '"interrupt"'));
      const interrupted = await front.response(2);

      // Then each request gets the usual 500 for an exception in predict, at once
      expect(exited.status).toBe(500);
      expect(errorOf(exited, 1)).toBe(
        "predict() raised an exception; the API logs have the traceback for request req-1",
      );
      expect(interrupted.status).toBe(500);
      expect(errorOf(interrupted, 2)).toContain("request req-2");
      // And the log names the exception, with its traceback
      const log = await logOf(front, "request req-2: predict() raised");
      expect(log).toContain("request req-1: predict() raised an exception: SystemExit(3)");
      expect(log).toContain("request req-2: predict() raised an exception: KeyboardInterrupt()");
      expect(log).toMatch(/Traceback \(most recent call last\)[^]*SystemExit: 3/);
      // And the worker lives on
      await expectServing(front, 3);
    },
  );

  it("answers 500 to every request of a batch whose predict_batch calls sys.exit()", async () => {
    // Given a worker with predict_batch
    const front = await startWorker("misbehaving_predictor.py", {});
    await front.frame(FrameType.Ready);

    // When a batch makes predict_batch call sys.exit(3)
    front.socket.write(batch([jsonRequest(1, '"exit"'), jsonRequest(2, "1")]));

    // Then every request of the batch gets a 500 and the log names them all
    for (const seq of [1, 2]) {
      const answer = await front.response(seq);
      expect(answer.status).toBe(500);
      expect(errorOf(answer, seq)).toBe(
        `predict_batch() raised an exception for the batch holding request req-${seq}; the API logs have the traceback`,
      );
    }
    expect(await logOf(front, "SystemExit(3)")).toContain(
      "requests req-1, req-2: predict_batch() raised an exception: SystemExit(3)",
    );
    await expectServing(front, 3);
  });

  it("answers 500 to every request of a batch the runtime fails to answer", async () => {
    // Given a worker whose predict_batch returns results that raise when the runtime reads them
    const front = await startWorker("misbehaving_predictor.py", {});
    await front.frame(FrameType.Ready);

    // When such a batch arrives
    front.socket.write(batch([jsonRequest(1, '"unreadable"'), jsonRequest(2, "1")]));

    // Then every request of the batch gets the runtime's 500, and the log has the traceback
    for (const seq of [1, 2]) {
      const answer = await front.response(seq);
      expect(answer.status).toBe(500);
      expect(errorOf(answer, seq)).toBe(
        `the Axon runtime failed to handle request req-${seq}; see the API logs`,
      );
    }
    const log = await logOf(front, "these results cannot be iterated");
    expect(log).toContain("requests req-1, req-2: the runtime failed to handle their batch");
    expect(log).toContain("RuntimeError: these results cannot be iterated");
    await expectServing(front, 3);
  });
});

describe("axon_runtime.worker predict threads", () => {
  it("answers and logs a request whose handling raises instead of dropping it", () => {
    // Given the threaded serve loop with a handler whose handle() raises (a runtime bug)
    const script = `
import json, socket, threading
from axon_runtime import protocol as p
from axon_runtime.log import RuntimeLog
from axon_runtime.worker import RequestHandler, _serve_threaded

class BrokenHandler(RequestHandler):
    def handle(self, buf, start, end):
        raise RuntimeError("a bug in handle")

class Predictor:
    def predict(self, payload):
        return payload

log = RuntimeLog("mini", "r-mini", 0)
front, worker = socket.socketpair()
handler = BrokenHandler(Predictor(), ("payload",), log)
threading.Thread(target=_serve_threaded, args=(worker, handler, 2, log), daemon=True).start()
request_id = b"req-7"
frame = p.REQUEST_HEAD.pack(p.REQUEST, 7, p.BODY_JSON, len(request_id), 0) + request_id + b"[1]"
front.sendall(p.LENGTH.pack(len(frame)) + frame)
front.settimeout(5)
try:
    answer = front.recv(65536)
except socket.timeout:
    answer = b""
if answer:
    _, _, seq, status, _ = p.RESPONSE_HEAD.unpack_from(answer)
    print(json.dumps({"seq": seq, "status": status, "body": json.loads(answer[p.RESPONSE_HEAD.size:])}))
else:
    print(json.dumps(None))
`;
    // When a request arrives
    const run = spawnSync("python3", ["-c", script], {
      env: { ...process.env, PYTHONPATH: resolveRuntimeDir() },
      encoding: "utf8",
    });

    // Then it is answered with the runtime's 500 rather than left to the front's timeout
    expect(JSON.parse(run.stdout)).toEqual({
      seq: 7,
      status: 500,
      body: {
        error: "the Axon runtime failed to handle request req-7; see the API logs",
        request_id: "req-7",
      },
    });
    // And the log says so, with the traceback
    expect(run.stderr).toContain("request req-7: the runtime failed to handle the request");
    expect(run.stderr).toContain("RuntimeError: a bug in handle");
  });
});

describe("axon_runtime.worker post_predict", () => {
  it("holds a bounded number of post_predict calls and logs the ones it drops", () => {
    // Given a post_predict runner that holds 2 waiting calls, its thread stuck in the first call
    const script = `
import threading, time
from axon_runtime.log import RuntimeLog
from axon_runtime.post_predict import PostPredictRunner

started, release = threading.Event(), threading.Event()
seen = []
def post_predict(response):
    started.set()
    release.wait(5)
    seen.append(response)

runner = PostPredictRunner(post_predict, ("response",), RuntimeLog("mini", "r-mini", 0), size=2)
runner.submit([("req-1", 1, {})])
started.wait(5)
# When five more calls arrive: two wait, three are dropped
runner.submit([(f"req-{i}", i, {}) for i in range(2, 7)])
release.set()
deadline = time.monotonic() + 5
while len(seen) < 3 and time.monotonic() < deadline:
    time.sleep(0.01)
time.sleep(0.1)
print(seen)
`;
    const run = spawnSync("python3", ["-c", script], {
      env: { ...process.env, PYTHONPATH: resolveRuntimeDir() },
      encoding: "utf8",
    });

    // Then the running call and the two waiting ones ran, in order, and nothing else
    expect(run.stdout.trim()).toBe("[1, 2, 3]");
    // And one log line (rate-limited) names the first dropped request and says why
    const lines = run.stderr
      .split("\n")
      .filter((line) => line.includes("post_predict() not called"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      "request req-4: post_predict() not called: 2 calls are already waiting, the most a worker holds",
    );
  });
});
