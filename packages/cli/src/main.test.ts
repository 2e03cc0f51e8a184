import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { UserError } from "./errors.js";
import { checkNodeVersion, renderUserError } from "./main.js";
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

  it("ends the program's help and every command's help with examples", async () => {
    // Given every command of the tree (the cluster subcommands belong to the cluster work)
    const paths = [
      [],
      ["deploy"],
      ["get"],
      ["logs"],
      ["delete"],
      ["predict"],
      ["validate"],
      ["cluster"],
      ["version"],
      ["completion"],
    ];

    // When asking each for help
    for (const path of paths) {
      const run = await runCli([...path, "--help"]);

      // Then it is printed to stdout, and ends with examples of that command
      expect(run.exitCode).toBe(0);
      const examples = run.stdout.slice(run.stdout.indexOf("Examples:\n"));
      expect(examples).toMatch(/^Examples:\n  \$ /);
      expect(examples).toContain(`axon ${path.join(" ")}`);
    }
    const root = await runCli(["--help"]);
    expect(root.stdout).toContain(
      "Exit codes: 0 success, 1 failure (or a declined prompt), 2 usage error, 130 interrupted (Ctrl-C).",
    );
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

describe("checkNodeVersion", () => {
  it("accepts the engines' Node.js and newer", () => {
    expect(checkNodeVersion("v22.12.0", "/x/node")).toBeUndefined();
    expect(checkNodeVersion("v24.1.0", "/x/node")).toBeUndefined();
  });

  it("refuses an older Node.js, naming the version needed and how to get it", () => {
    // Given Debian's Node 20
    // When checking it
    const error = checkNodeVersion("v20.20.2", "/usr/bin/node");

    // Then the message says what is needed, what runs, and what to do
    expect(error).toBeInstanceOf(UserError);
    expect(renderUserError(error as UserError)).toMatchInlineSnapshot(`
      "error: axon needs Node.js 22.12 or newer; this is Node.js v20.20.2 (/usr/bin/node)
      hint: run it through npm in the Axon repo, which uses the Node.js that \`npm run setup\` installed (the \`node\` devDependency)
      next steps:
        - npx axon <command>
        - or put Node.js 22.12+ first on your PATH (after set-up, the repo's node_modules/.bin has one)
      "
    `);
  });
});

describe("packages/cli/bin on the PATH", () => {
  const bin = fileURLToPath(new URL("../bin", import.meta.url));
  const run = (pathVariable: string): { status: number | null; stdout: string; stderr: string } =>
    spawnSync("sh", ["-c", "axon --version"], {
      encoding: "utf8",
      env: { PATH: pathVariable },
    });

  it("runs `axon` with a new enough node first on the PATH", () => {
    const result = run(`${bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(result.status).toBe(0);
  });

  const oldNode = spawnSync("/usr/bin/node", ["--version"], { encoding: "utf8" }).stdout ?? "";
  it.skipIf(!/^v(1\d|2[01])\./.test(oldNode))(
    "says which Node.js it needs when the PATH's node is too old",
    () => {
      const result = run(`${bin}:/usr/bin:/bin`);
      expect(result.status).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain(
        `axon needs Node.js 22.12 or newer; this is Node.js ${oldNode.trim()}`,
      );
      expect(result.stderr).toContain("npx axon");
    },
  );
});
