import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { CliContext } from "./context.js";
import { parseFastGet } from "./fast-get.js";
import { makeApiDetail } from "./testing/fake-control-plane.js";
import { startFakeDaemon } from "./testing/fixtures.js";
import { runCli } from "./testing/run-cli.js";

/** A context whose only use here is resolving `$AXON_HOME`. */
function contextWithHome(home: string): CliContext {
  return {
    env: { AXON_HOME: home },
    cwd: "/",
    stdout: { write: () => undefined },
    stderr: { write: () => undefined },
    stdin: Readable.from([]),
    interactive: false,
    color: false,
    signal: new AbortController().signal,
    now: () => new Date(0),
  };
}

describe("parseFastGet", () => {
  const ctx = contextWithHome("/tmp/home");

  it("takes the plain forms of `get`", () => {
    // Given the forms scripts use
    // When parsed
    // Then each is one look, with its name and output format
    expect(parseFastGet(["get"], ctx)).toEqual({ home: "/tmp/home", output: "pretty" });
    expect(parseFastGet(["get", "-o", "json"], ctx)).toEqual({
      home: "/tmp/home",
      output: "json",
    });
    expect(parseFastGet(["get", "iris", "--output=json"], ctx)).toEqual({
      home: "/tmp/home",
      name: "iris",
      output: "json",
    });
    expect(parseFastGet(["get", "-ojson", "iris"], ctx)).toEqual({
      home: "/tmp/home",
      name: "iris",
      output: "json",
    });
    expect(parseFastGet(["get", "--output", "pretty", "iris"], ctx)).toEqual({
      home: "/tmp/home",
      name: "iris",
      output: "pretty",
    });
    // (and a batch job: the API, then the job's id)
    expect(parseFastGet(["get", "scorer", "69d6faf8a4", "-o", "json"], ctx)).toEqual({
      home: "/tmp/home",
      name: "scorer",
      job: "69d6faf8a4",
      output: "json",
    });
  });

  it("leaves everything else to commander", () => {
    // Given lines with anything beyond a name and one known format
    const lines = [
      ["get", "--watch"],
      ["get", "-w", "-o", "json"],
      ["get", "iris", "--since", "1h"],
      ["get", "--help"],
      ["get", "-o"],
      ["get", "-o", "yaml"],
      ["get", "-o", "json", "-o", "pretty"],
      ["get", "iris", "69d6faf8a4", "third"],
      ["get", "--", "iris"],
      ["--env", "prod", "get"],
      ["--verbose", "get"],
      ["logs", "iris"],
      [],
    ];
    // When parsed
    // Then none is taken
    for (const line of lines) expect(parseFastGet(line, ctx), line.join(" ")).toBeUndefined();
  });
});

describe("axon get without commander", () => {
  it("prints what the same line through commander prints", async () => {
    // Given a daemon with one api
    const daemon = await startFakeDaemon();
    daemon.apis.set("iris", makeApiDetail("iris", "http://x/iris", "live"));
    const now = new Date(19 * 3600 * 1000);

    // When the same looks run on the fast path and, with a root option in front, through commander
    const looks = [["get"], ["get", "-o", "json"], ["get", "iris"], ["get", "iris", "-o", "json"]];
    const fast = await Promise.all(looks.map((argv) => runCli(argv, { env: daemon.env, now })));
    const parsed = await Promise.all(
      looks.map((argv) => runCli(["--verbose", ...argv], { env: daemon.env, now })),
    );

    // Then both print the same, and succeed
    expect(fast.map((run) => run.exitCode)).toEqual([0, 0, 0, 0]);
    expect(fast).toEqual(parsed);
  });

  it("reports an unknown api as commander's path does", async () => {
    // Given a daemon without the api
    const daemon = await startFakeDaemon();

    // When asking for it both ways
    const fast = await runCli(["get", "nope", "-o", "json"], { env: daemon.env });
    const parsed = await runCli(["--verbose", "get", "nope", "-o", "json"], { env: daemon.env });

    // Then the same failure, one JSON document on stdout
    expect(fast.exitCode).toBe(1);
    expect(fast).toEqual(parsed);
    expect(JSON.parse(fast.stdout)).toMatchObject({ error: { exitCode: 1 } });
  });
});
