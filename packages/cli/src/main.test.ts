import { describe, expect, it } from "vitest";
import { UserError } from "./errors.js";
import { renderUserError } from "./main.js";
import { makeTempDir } from "./testing/fixtures.js";
import { runCli } from "./testing/run-cli.js";

describe("axon (program)", () => {
  it("exits 2 on an unknown option", async () => {
    // Given no special setup
    // When passing an option deploy does not have
    const run = await runCli(["get", "--frobnicate"]);

    // Then commander's message goes to stderr and the exit code says "usage"
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("unknown option '--frobnicate'");
    expect(run.stdout).toBe("");
  });

  it("exits 2 on a missing argument and on an unknown command", async () => {
    const missing = await runCli(["logs"]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'api'");

    const unknown = await runCli(["deplyo"]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'deplyo'");
  });

  it("exits 2 on an invalid -o value", async () => {
    const run = await runCli(["get", "-o", "yaml"]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("Allowed choices are pretty, json");
  });

  it("prints help to stdout and exits 0 with --help", async () => {
    const run = await runCli(["--help"]);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain("deploy");
    expect(run.stdout).toContain("cluster");
    expect(run.stdout).not.toContain("--home");
  });

  it("honours --home over AXON_HOME", async () => {
    // Given two empty homes
    const fromEnv = await makeTempDir();
    const fromFlag = await makeTempDir();

    // When running cluster down with both (nothing runs in either)
    const run = await runCli(["--home", fromFlag, "cluster", "down"], {
      env: { AXON_HOME: fromEnv },
    });

    // Then it succeeds, saying nothing runs
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe("the local cluster is not running\n");
  });
});

describe("renderUserError", () => {
  it("shows message, details, diagnostics, hint and next steps without a stack", () => {
    // Given a user error with everything
    const error = new UserError("it broke", {
      details: "line a\nline b",
      diagnostics: [
        { file: "axon.yaml", line: 3, column: 5, path: "x.y", message: "must be a number" },
      ],
      hint: "fix it",
      nextSteps: ["axon validate"],
      cause: new Error("inner"),
    });

    // When rendering it
    const text = renderUserError(error);

    // Then it reads top to bottom
    expect(text).toMatchInlineSnapshot(`
      "error: it broke
        line a
        line b
        axon.yaml:3:5: x.y: must be a number
      hint: fix it
      next steps:
        - axon validate
      "
    `);
  });
});
