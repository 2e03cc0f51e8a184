/**
 * The Python worker seen through a minimal front written here against PROTOCOL.md: what happens
 * when the front's end of the socket goes away (as when the daemon is `kill -9`ed).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { FrameReader, FrameType } from "./protocol.js";
import { resolveRuntimeDir } from "./runtime-dir.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));

interface MiniFront {
  child: ChildProcess;
  socket: Socket;
  /** Resolves with the first frame of the given type. */
  frame(type: number): Promise<Buffer>;
}

/** Spawns one worker for `predictor` and accepts its connection. */
async function startWorker(predictor: string, config: Record<string, unknown>): Promise<MiniFront> {
  const dir = await mkdtemp(path.join(tmpdir(), "axon-wrk-"));
  const socketPath = path.join(dir, "w.sock");
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const child = spawn(
    "python3",
    ["-m", "axon_runtime.worker", "--socket", socketPath, "--worker-index", "0"]
      .concat(["--replica-id", "r-mini", "--api", "mini", "--project", FIXTURES])
      .concat(["--predictor", predictor, "--threads", "1"]),
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
  const [socket] = (await once(server, "connection")) as [Socket];
  const seen: Buffer[] = [];
  const waiters: { type: number; resolve: (frame: Buffer) => void }[] = [];
  const reader = new FrameReader((buffer, start, end) => {
    const frame = Buffer.from(buffer.subarray(start, end));
    seen.push(frame);
    for (const waiter of waiters.filter((w) => w.type === frame[0])) waiter.resolve(frame);
  });
  socket.on("data", (chunk: Buffer) => reader.push(chunk));
  return {
    child,
    socket,
    frame: (type) =>
      new Promise((resolve) => {
        const found = seen.find((frame) => frame[0] === type);
        if (found !== undefined) resolve(found);
        else waiters.push({ type, resolve });
      }),
  };
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
