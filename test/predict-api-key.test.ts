/**
 * `axon predict` against an API that requires keys (issue 29), end to end: the built CLI, a real
 * daemon, real Python replicas of examples/iris-sklearn with `networking.auth: api_key`, real
 * HTTP. The key goes by `--key` or `AXON_API_KEY` (the flag wins) and is in no output; the curls
 * `deploy` and `get` suggest send `$AXON_API_KEY`, never a key.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import type { ApiDetail, DeployResponse } from "@axon/control-plane/api";
import { copyExample, makeTestCluster } from "./helpers.js";

const KEY_HEADER = '-H "Authorization: Bearer $AXON_API_KEY"';

describe("axon predict with API keys", () => {
  test("without a key: 401 saying how to make and pass one; --key and AXON_API_KEY succeed, the flag first; the key is printed nowhere", async () => {
    // Given the iris example deployed with `networking.auth: api_key`
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    const config = path.join(project, "axon.yaml");
    writeFileSync(config, `${readFileSync(config, "utf8")}  networking:\n    auth: api_key\n`);
    const deploy = await c.axon(["deploy", project, "--wait", "-o", "json"], {
      timeoutMs: 180_000,
    });
    expect(deploy.code, deploy.stderr).toBe(0);
    // And deploy's example curl sends the key from the environment
    const deployed = JSON.parse(deploy.stdout) as DeployResponse;
    expect(deployed.results[0]?.exampleCurl).toContain(KEY_HEADER);
    const sample = path.join(project, "sample.json");

    // When predict is run with no key (and none in the environment)
    const noKey = { AXON_API_KEY: "" };
    const refused = await c.axon(["predict", "iris-classifier", sample], { env: noKey });
    // Then it fails with the 401 and says how to make and pass a key
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("iris-classifier answered 401");
    expect(refused.stderr).toContain("axon keys create iris-classifier");
    expect(refused.stderr).toContain("--key KEY or the AXON_API_KEY environment variable");

    // When a key is made and passed with --key
    const made = await c.axon(["keys", "create", "iris-classifier"]);
    expect(made.code, made.stderr).toBe(0);
    const key = made.stdout.trim();
    const byFlag = await c.axon(["predict", "iris-classifier", sample, "--key", key], {
      env: noKey,
    });
    // Then the api answers
    expect(byFlag.code, byFlag.stderr).toBe(0);
    expect(byFlag.stdout).toBe("virginica\n");

    // When it is passed in AXON_API_KEY instead
    const byEnv = await c.axon(["predict", "iris-classifier", sample, "-o", "json"], {
      env: { AXON_API_KEY: key },
    });
    // Then the api answers too
    expect(byEnv.code, byEnv.stderr).toBe(0);
    expect(JSON.parse(byEnv.stdout)).toMatchObject({ status: 200, body: "virginica" });

    // When the environment holds a wrong key and the flag the right one
    const wrong = `${key.slice(0, -3)}xyz`;
    const flagWins = await c.axon(["predict", "iris-classifier", sample, "--key", key], {
      env: { AXON_API_KEY: wrong },
    });
    // Then the flag's key is the one sent
    expect(flagWins.code, flagWins.stderr).toBe(0);

    // When only the wrong key is given
    const refusedKey = await c.axon(["predict", "iris-classifier", sample], {
      env: { AXON_API_KEY: wrong },
    });
    // Then the 401 names where the key came from and not the key
    expect(refusedKey.code).toBe(1);
    expect(refusedKey.stderr).toContain("the key from AXON_API_KEY was refused");
    expect(refusedKey.stderr).toContain("axon keys list iris-classifier");

    // And `get`'s example curl, as text and as JSON, sends $AXON_API_KEY
    const detail = await c.axon(["get", "iris-classifier"]);
    expect(detail.stdout).toContain(KEY_HEADER);
    const json = JSON.parse(
      (await c.axon(["get", "iris-classifier", "-o", "json"])).stdout,
    ) as ApiDetail;
    expect(json.exampleCurl).toContain(KEY_HEADER);

    // And the secret part of the key is in no output of any of these commands
    const secret = key.slice(18);
    for (const run of [deploy, refused, byFlag, byEnv, flagWins, refusedKey, detail]) {
      expect(run.stdout + run.stderr).not.toContain(secret);
      expect(run.stdout + run.stderr).not.toContain(wrong.slice(18));
    }
  }, 300_000);
});
