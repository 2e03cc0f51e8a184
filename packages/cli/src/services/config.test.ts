import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeIrisProject } from "../testing/fixtures.js";
import { runCli } from "../testing/run-cli.js";

describe("reading a config before it is validated or deployed", () => {
  it("refuses a config larger than the control plane's request limit, naming the limit", async () => {
    // Given an axon.yaml of 20 MiB (a valid API followed by a long comment)
    const dir = await makeIrisProject();
    const file = path.join(dir, "axon.yaml");
    const config = await readFile(file, "utf8");
    await writeFile(file, `${config}# ${"x".repeat(20 * 1024 * 1024)}\n`);

    // When it is validated (deploy reads it the same way)
    const run = await runCli(["validate"], { cwd: dir });

    // Then it is refused before anything is sent, with both sizes and what to do
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(
      "error: axon.yaml is 20.0 MiB; a config must fit in the control plane's 16.0 MiB request limit",
    );
    expect(run.stderr).toContain("read it in the predictor's __init__");
  });

  it("counts the config as it travels: JSON escaping can push it over the limit", async () => {
    // Given a 9 MiB config whose comment is all backslashes (each one travels as two bytes)
    const dir = await makeIrisProject();
    const file = path.join(dir, "axon.yaml");
    const config = await readFile(file, "utf8");
    await writeFile(file, `${config}# ${"\\".repeat(9 * 1024 * 1024)}\n`);

    // When it is validated, then it is refused with the size it would have on the wire
    const run = await runCli(["validate"], { cwd: dir });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/error: axon\.yaml is 18\.\d MiB; a config must fit/);
  });

  it("refuses bytes that are not UTF-8, naming the line", async () => {
    // Given a config saved as Latin-1, with "é" in predictor.config on line 7
    const dir = await makeIrisProject();
    const file = path.join(dir, "axon.yaml");
    const config = (await readFile(file, "utf8")).trimEnd();
    const lines = config.split("\n").length;
    await writeFile(
      file,
      Buffer.concat([
        Buffer.from(`${config}\n    config:\n      greeting: caf`),
        Buffer.from([0xe9]),
        Buffer.from("\n"),
      ]),
    );

    // When it is validated
    const run = await runCli(["validate"], { cwd: dir });

    // Then the line of the byte is named, not silently replaced
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("error: axon.yaml is not UTF-8 text");
    expect(run.stderr).toContain(`axon.yaml:${lines + 2}:20: is not UTF-8 text: byte 0xE9`);
  });

  it("answers a deeply nested config with a located error, not a crash", async () => {
    // Given the 6 KB config from the issue: a list nested 3,000 levels
    const dir = await makeIrisProject();
    await writeFile(path.join(dir, "axon.yaml"), `${"[".repeat(3000)}${"]".repeat(3000)}\n`);

    // When it is validated
    const run = await runCli(["validate"], { cwd: dir });

    // Then it is a config problem at line 1
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /axon\.yaml:1:\d+: nests maps and lists more than 64 levels deep here/,
    );
    expect(run.stderr).not.toContain("bug in axon");
  });
});
