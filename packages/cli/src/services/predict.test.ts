import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import type { ApiClient } from "../client/api-client.js";
import { UserError } from "../errors.js";
import { chooseApiKey, predict } from "./predict.js";

/**
 * A real HTTP endpoint on 127.0.0.1 that answers `status` with `body` and keeps the headers it
 * got; the control plane is a one-method stand-in (only its `getApi` answer, the endpoint, matters).
 */
async function endpoint(
  status: number,
  body: (headers: IncomingHttpHeaders) => string,
): Promise<{ client: ApiClient; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on("end", () =>
      res.writeHead(status, { "content-type": "application/json" }).end(body(req.headers)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/iris`;
  const client = { getApi: async () => ({ endpoint: url }) } as unknown as ApiClient;
  return { client, seen };
}

async function failure(promise: Promise<unknown>): Promise<UserError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UserError);
  return error as UserError;
}

const KEY = "axon_0123456789ab_c2VjcmV0LXNlY3JldC1zZWNyZXQ";

describe("chooseApiKey", () => {
  it("Given a flag and the variable, When chosen, Then the flag wins; an empty variable is none", () => {
    expect(chooseApiKey("from-flag", { AXON_API_KEY: "from-env" })).toEqual({
      key: "from-flag",
      from: "--key",
    });
    expect(chooseApiKey(undefined, { AXON_API_KEY: "from-env" })).toEqual({
      key: "from-env",
      from: "AXON_API_KEY",
    });
    expect(chooseApiKey(undefined, { AXON_API_KEY: "" })).toBeUndefined();
    expect(chooseApiKey(undefined, {})).toBeUndefined();
  });
});

describe("predict", () => {
  it("Given a key, When predicting, Then it goes as Authorization: Bearer; without one no such header", async () => {
    const { client, seen } = await endpoint(200, () => '"ok"');
    const signal = new AbortController().signal;
    await predict(client, "iris", "[1]", signal, { key: KEY, from: "--key" });
    await predict(client, "iris", "[1]", signal);
    expect(seen.map((headers) => headers.authorization)).toEqual([`Bearer ${KEY}`, undefined]);
  });

  it("Given an endpoint answering 401, When predicting without a key, Then the hint says to make one and how to pass it", async () => {
    const { client } = await endpoint(401, () => '{"error":"iris requires an API key"}');
    const error = await failure(predict(client, "iris", "[1]", new AbortController().signal));
    expect(error.message).toBe("iris answered 401 Unauthorized");
    expect(error.hint).toBe(
      "iris requires an API key: make one with `axon keys create iris`, then pass it with --key KEY or the AXON_API_KEY environment variable",
    );
  });

  it("Given a predictor whose error body echoes the key it got, When predicting with it, Then no part of the error holds the key", async () => {
    const { client } = await endpoint(500, (headers) =>
      JSON.stringify({ got: headers.authorization }),
    );
    const key = { key: KEY, from: "AXON_API_KEY" } as const;
    const error = await failure(predict(client, "iris", "[1]", new AbortController().signal, key));
    expect(error.details).toBe('{"got":"Bearer <key>"}');
    expect(JSON.stringify([error.message, error.hint, error.details])).not.toContain(KEY);
  });

  it("Given an endpoint answering 401 to a key, When predicting with it, Then the hint names where the key came from, not the key", async () => {
    const { client } = await endpoint(401, () => '{"error":"not a key of iris"}');
    const key = { key: KEY, from: "AXON_API_KEY" } as const;
    const error = await failure(predict(client, "iris", "[1]", new AbortController().signal, key));
    expect(error.hint).toContain("the key from AXON_API_KEY was refused");
    expect(error.hint).not.toContain(KEY);
  });
});
