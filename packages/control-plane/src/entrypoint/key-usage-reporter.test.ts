/**
 * A task's per-key counts written to the bucket (key-usage-reporter.ts): a real ApiKeyGuard
 * admitting requests through a stand-in responder, and an in-memory bucket behind the S3 port
 * (what it stores is read back by the engine's parser); the task metadata from a real HTTP server
 * on 127.0.0.1.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { PutObjectCommandInput } from "@aws-sdk/client-s3";
import { describe, expect, onTestFinished, test } from "vitest";
import { keyUsageObjectKey, parseKeyUsage } from "../providers/aws/api-keys.js";
import type { Responder } from "../replica/front-server.js";
import { ApiKeyGuard, createApiKey } from "../replica/api-keys.js";
import { KeyUsageReporter, resolveTaskId } from "./key-usage-reporter.js";

const API = "iris-classifier";
const BUCKET = "axon-demo-bundlebucket";

function responder(): Responder & { status: number } {
  const answer = {
    done: false,
    status: 0,
    send(status: number) {
      answer.status = status;
      answer.done = true;
    },
  };
  return answer;
}

/** A guard holding one key, and a bucket that keeps what is put (or fails while `failing`). */
function setUp(): {
  guard: ApiKeyGuard;
  key: string;
  id: string;
  puts: PutObjectCommandInput[];
  bucket: { failing: boolean };
  reporter: KeyUsageReporter;
  logs: string[];
} {
  const made = createApiKey();
  const guard = new ApiKeyGuard({ apiName: API });
  guard.replace([
    {
      id: made.id,
      name: "ci",
      hash: made.hash,
      createdAt: new Date().toISOString(),
      expiresAt: null,
      ratePerSecond: null,
    },
  ]);
  const puts: PutObjectCommandInput[] = [];
  const bucket = { failing: false };
  const logs: string[] = [];
  const reporter = new KeyUsageReporter({
    guard,
    bucket: BUCKET,
    api: API,
    taskId: "0123456789abcdef",
    log: (line) => logs.push(line),
    s3: {
      putObject: (input) => {
        if (bucket.failing) return Promise.reject(new Error("AccessDenied (from the test bucket)"));
        puts.push(input);
        return Promise.resolve({});
      },
    },
  });
  return { guard, key: made.key, id: made.id, puts, bucket, reporter, logs };
}

describe("a task's key usage report", () => {
  test("nothing is written until a key is used; then its counts, once per change, readable by the engine", async () => {
    // Given a task whose front has seen no request
    const { guard, key, id, puts, reporter } = setUp();
    // When it flushes, then nothing is written (an idle task costs no PUT)
    await reporter.flush();
    expect(puts).toHaveLength(0);

    // When two requests come with the key and one without
    guard.admit(["x-api-key", key], responder(), "r1");
    guard.admit(["authorization", `Bearer ${key}`], responder(), "r2");
    guard.admit([], responder(), "r3");
    await reporter.flush();
    // Then one object is written, at the task's own key, with the counts
    expect(puts).toHaveLength(1);
    expect(puts[0]?.Key).toBe(keyUsageObjectKey(API, "0123456789abcdef"));
    expect(puts[0]?.Key).toBe(`api-keys/${API}/usage/0123456789abcdef.json`);
    const report = parseKeyUsage(bodyText(puts[0]?.Body));
    expect(report).toMatchObject({ api: API, taskId: "0123456789abcdef", unauthorized: 1 });
    expect(report?.keys).toEqual([
      { id, requests: 2, refused: 0, lastUsedAt: expect.any(String) as string },
    ]);

    // When nothing changed, then a flush writes nothing; when the task stops after one more
    // request, the final counts are written
    await reporter.flush();
    expect(puts).toHaveLength(1);
    guard.admit(["x-api-key", key], responder(), "r4");
    await reporter.stop();
    expect(puts).toHaveLength(2);
    expect(parseKeyUsage(bodyText(puts[1]?.Body))?.keys[0]?.requests).toBe(3);
  });

  test("a failed write is logged once, retried at the next flush, and serving goes on", async () => {
    // Given a bucket that refuses the task's writes
    const { guard, key, puts, bucket, reporter, logs } = setUp();
    bucket.failing = true;
    guard.admit(["x-api-key", key], responder(), "r1");
    // When it flushes twice, then one line says why, and nothing throws
    await reporter.flush();
    await reporter.flush();
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain(`writing the key usage to s3://${BUCKET}/api-keys/${API}/usage/`);
    expect(logs[0]).toContain("AccessDenied");
    // When the bucket takes writes again, then the next flush writes the counts
    bucket.failing = false;
    await reporter.flush();
    expect(puts).toHaveLength(1);
    expect(logs[1]).toBe("key usage written again");
  });

  test("the task id comes from the ECS task metadata; without it, the host name and a suffix", async () => {
    // Given a task metadata endpoint (as the ECS agent serves it)
    const server = http.createServer((request, response) => {
      response.setHeader("content-type", "application/json");
      response.end(
        request.url === "/v4/abc/task"
          ? JSON.stringify({
              TaskARN: "arn:aws:ecs:us-east-1:123456789012:task/axon-demo/5f2e0c1b9a8d4e7f",
            })
          : "{}",
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    // Then the id is the ARN's last part
    expect(await resolveTaskId(`http://127.0.0.1:${port}/v4/abc`)).toBe("5f2e0c1b9a8d4e7f");
    // And without metadata (or when it answers nothing useful) it is unique per process
    const a = await resolveTaskId(undefined);
    const b = await resolveTaskId(`http://127.0.0.1:${port}/v4/other`);
    expect(a).toMatch(/^[\w.-]+-[0-9a-f]{8}$/);
    expect(b).not.toBe(a);
  });
});

/** A put's body as the reporter wrote it (a string, or bytes). */
function bodyText(body: unknown): string {
  if (typeof body === "string") return body;
  if (body instanceof Uint8Array) return Buffer.from(body).toString("utf8");
  throw new Error(`unexpected body ${typeof body}`);
}
