import { describe, expect, it } from "vitest";
import { makeApiDetail } from "../testing/fake-control-plane.js";
import { makeTempDir, startFakeDaemon } from "../testing/fixtures.js";
import { runCli } from "../testing/run-cli.js";

describe("axon get", () => {
  it("lists the apis as a table", async () => {
    // Given a daemon with one live api updated 19 hours ago
    const daemon = await startFakeDaemon();
    daemon.apis.set(
      "iris-classifier",
      makeApiDetail("iris-classifier", "http://localhost:8888/iris-classifier", "live"),
    );

    // When listing
    const run = await runCli(["get"], { env: daemon.env, now: new Date(19 * 3600 * 1000 + 5000) });

    // Then the table is printed
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatchInlineSnapshot(`
      "api               status   up-to-date   requested   last update   endpoint
      iris-classifier   live     1            1           19h           http://localhost:8888/iris-classifier
      "
    `);
  });

  it("prints only the ApiListResponse with -o json", async () => {
    // Given a daemon with one api
    const daemon = await startFakeDaemon();
    daemon.apis.set(
      "iris-classifier",
      makeApiDetail("iris-classifier", "http://x/iris-classifier", "live"),
    );

    // When listing as JSON
    const run = await runCli(["get", "-o", "json"], { env: daemon.env });

    // Then stdout is that one document
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      apis: [{ name: "iris-classifier", status: "live" }],
    });
  });

  it("prints the ApiDetail of one api with -o json", async () => {
    // Given a daemon with one api
    const daemon = await startFakeDaemon();
    daemon.apis.set(
      "iris-classifier",
      makeApiDetail("iris-classifier", "http://x/iris-classifier", "live"),
    );

    // When asking for it
    const run = await runCli(["get", "iris-classifier", "--output", "json"], { env: daemon.env });

    // Then the detail comes back
    expect(JSON.parse(run.stdout)).toMatchObject({
      name: "iris-classifier",
      specYaml: expect.any(String) as unknown,
    });
  });

  it("turns the daemon's 404 into exit 1 with its message and hint", async () => {
    // Given a daemon without that api
    const daemon = await startFakeDaemon();

    // When asking for it
    const run = await runCli(["get", "nope"], { env: daemon.env });

    // Then the ErrorBody is shown
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      "error: api nope is not deployed\nhint: run `axon get` to see the deployed apis\n",
    );
  });

  it("says the local cluster is not running when there is no daemon", async () => {
    // Given an empty AXON_HOME
    const home = await makeTempDir();

    // When listing
    const run = await runCli(["get"], { env: { AXON_HOME: home } });

    // Then the error says how to start it
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      "error: the local cluster is not running\nhint: run `axon cluster up` (or `axon deploy`, which starts it)\n",
    );
  });

  it("ignores a daemon.json left behind by a dead daemon", async () => {
    // Given a daemon that has gone away without removing its record
    const daemon = await startFakeDaemon();
    await daemon.close();

    // When listing
    const run = await runCli(["get"], { env: daemon.env });

    // Then it is reported as not running, not as a network error
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("error: the local cluster is not running");
  });
});
