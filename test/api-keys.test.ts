/**
 * API keys on the local engine, end to end (issue 29): the built CLI, a real daemon in a temp
 * $AXON_HOME, real Python replicas of examples/iris-sklearn behind the gateway, real HTTP.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { copyExample, freePort, IRIS_REQUEST, makeTestCluster, waitFor } from "./helpers.js";

async function post(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(IRIS_REQUEST),
  });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

interface Created {
  key: string;
  info: { id: string; name: string | null; expiresAt: string | null };
  warning?: string;
}

interface Listed {
  required: boolean;
  unauthorized?: number;
  keys: Array<{ id: string; name: string | null; requests?: number; lastUsedAt: string | null }>;
}

describe("API keys on the local engine", () => {
  test("auth api_key: 401 without a key, each header admits, revoke and expiry refuse, the rate limit answers 429", async () => {
    // Given the iris example deployed with `networking.auth: api_key`
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    const config = path.join(project, "axon.yaml");
    writeFileSync(config, `${readFileSync(config, "utf8")}  networking:\n    auth: api_key\n`);
    const deploy = await c.axon(["deploy", project, "--wait"]);
    expect(deploy.code, deploy.stderr).toBe(0);
    const endpoint = `http://127.0.0.1:${c.gatewayPort}/iris-classifier`;

    // When it is called without a key
    const anonymous = await post(endpoint);
    // Then a 401 says which header to send
    expect(anonymous.status).toBe(401);
    const refusal = JSON.parse(anonymous.text) as { error: string; request_id: string };
    expect(refusal.error).toContain("Authorization: Bearer <key>");
    expect(refusal.error).toContain("X-Api-Key: <key>");
    expect(anonymous.headers.get("www-authenticate")).toBe('Bearer realm="iris-classifier"');

    // When a key is made (printed once: stdout is the key alone)
    const made = await c.axon(["keys", "create", "iris-classifier", "--name", "ci"]);
    expect(made.code, made.stderr).toBe(0);
    const key = made.stdout.trim();
    expect(key).toMatch(/^axon_[0-9a-f]{12}_/);
    const id = key.slice(5, 17);
    // Then it works at once, in either header, and a wrong key is a 401
    const bearer = await post(endpoint, { Authorization: `Bearer ${key}` });
    expect(bearer.status, bearer.text).toBe(200);
    expect(bearer.text).toBe("virginica");
    expect((await post(endpoint, { "X-Api-Key": key })).status).toBe(200);
    expect((await post(endpoint, { "X-Api-Key": `${key.slice(0, -3)}xyz` })).status).toBe(401);

    // And `keys list` shows it with its counts, never the key; `-o json` too
    const listed = JSON.parse(
      (await c.axon(["keys", "list", "iris-classifier", "-o", "json"])).stdout,
    ) as Listed;
    expect(listed.required).toBe(true);
    expect(listed.keys).toEqual([
      expect.objectContaining({ id, name: "ci", requests: 2, lastUsedAt: expect.any(String) }),
    ]);
    expect(listed.unauthorized).toBe(2);
    const table = await c.axon(["keys", "list", "iris-classifier"]);
    expect(table.stdout).toMatch(new RegExp(`${id}\\s+ci\\s+`));
    expect(table.stdout + JSON.stringify(listed)).not.toContain(key.slice(18));

    // And `get` and `/metrics` count requests by key id
    const detail = JSON.parse((await c.axon(["get", "iris-classifier", "-o", "json"])).stdout) as {
      apiKeys?: Listed;
    };
    expect(detail.apiKeys?.keys[0]).toMatchObject({ id, requests: 2 });
    const detailText = await c.axon(["get", "iris-classifier"]);
    expect(detailText.stdout).toContain("api keys (networking.auth: api_key):");
    expect(detailText.stdout).toMatch(new RegExp(`${id}\\s+ci\\s+.*\\s2\\n`));
    const token = readFileSync(path.join(c.home, "token"), "utf8").trim();
    const { apiUrl } = JSON.parse(readFileSync(path.join(c.home, "daemon.json"), "utf8")) as {
      apiUrl: string;
    };
    const metrics = await (
      await fetch(`${apiUrl}/metrics`, {
        headers: { Authorization: `Bearer ${token}` },
      })
    ).text();
    expect(metrics).toContain(
      `axon_api_key_requests_total{api="iris-classifier",key_id="${id}"} 2`,
    );
    expect(metrics).toContain(`axon_api_unauthorized_requests_total{api="iris-classifier"} 2`);

    // And the API's log names refused requests, with key ids and never a key
    const logs = await c.axon(["logs", "iris-classifier"]);
    expect(logs.stdout).toContain("refused (401)");
    expect(logs.stdout).not.toContain(key.slice(18));

    // When the key is revoked
    const revoked = await c.axon(["keys", "revoke", "iris-classifier", id, "-o", "json"]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ id });
    // Then it is refused at once on this machine (the gateway re-reads on change)
    expect((await post(endpoint, { "X-Api-Key": key })).status).toBe(401);
    // And revoking it again names what to do
    const again = await c.axon(["keys", "revoke", "iris-classifier", id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`has no key ${id}`);

    // When a key expires
    const shortLived = (
      JSON.parse(
        (await c.axon(["keys", "create", "iris-classifier", "--expires", "2s", "-o", "json"]))
          .stdout,
      ) as Created
    ).key;
    expect((await post(endpoint, { "X-Api-Key": shortLived })).status).toBe(200);
    // Then after its expiry it gets a 401 saying so
    const expired = await waitFor("the key to expire", async () => {
      const answer = await post(endpoint, { "X-Api-Key": shortLived });
      return answer.status === 401 ? answer : undefined;
    });
    expect(expired.text).toContain("expired at");

    // When a key limited to 2/s sends 6 requests at once
    const limited = (
      JSON.parse(
        (await c.axon(["keys", "create", "iris-classifier", "--rate", "2/s", "-o", "json"])).stdout,
      ) as Created
    ).key;
    const burst = await Promise.all(
      Array.from({ length: 6 }, () => post(endpoint, { "X-Api-Key": limited })),
    );
    // Then the bucket's 2 pass and the rest get 429 with Retry-After
    const statuses = burst.map((answer) => answer.status).sort((a, b) => a - b);
    expect(statuses).toEqual([200, 200, 429, 429, 429, 429]);
    expect(burst.find((answer) => answer.status === 429)?.headers.get("retry-after")).toBe("1");

    // And a bad --rate is refused by name
    const badRate = await c.axon(["keys", "create", "iris-classifier", "--rate", "fast"]);
    expect(badRate.code).toBe(1);
    expect(badRate.stderr).toContain("--rate fast is not a request rate");
  });

  test("an API without auth: no key needed, and a key made for it warns that it is not required", async () => {
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    expect((await c.axon(["deploy", project, "--wait"])).code).toBe(0);
    const endpoint = `http://127.0.0.1:${c.gatewayPort}/iris-classifier`;
    expect((await post(endpoint)).status).toBe(200);
    const made = await c.axon(["keys", "create", "iris-classifier"]);
    expect(made.code).toBe(0);
    expect(made.stderr).toContain("does not require keys yet");
    expect((await post(endpoint)).status).toBe(200);
  });

  test("cluster up --listen beyond loopback is refused while an API requires no keys, naming it; the daemon never binds", async () => {
    // Given an API without auth deployed on a loopback gateway, and the cluster stopped
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    expect((await c.axon(["deploy", project, "--wait"])).code).toBe(0);
    expect((await c.axon(["cluster", "down"])).code).toBe(0);

    // When it is started to serve other machines
    const port = await freePort();
    const up = await c.axon(["cluster", "up", "--listen", `0.0.0.0:${port}`]);

    // Then it refuses, naming the API that lacks auth and what to do; nothing listens there
    expect(up.code).not.toBe(0);
    expect(up.stderr).toContain("api iris-classifier does not require API keys");
    expect(up.stderr).toContain("networking: {auth: api_key}");
    expect(c.daemonPid()).toBeUndefined();

    // And --insecure-no-auth without --listen is a usage error, said before anything starts
    const stray = await c.axon(["cluster", "up", "--insecure-no-auth"]);
    expect(stray.code).toBe(1);
    expect(stray.stderr).toContain("--insecure-no-auth only applies with --listen");
  });
});
