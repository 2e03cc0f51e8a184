import { mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, onTestFinished, test } from "vitest";
import {
  environmentKey,
  isEnvironmentKey,
  needsEnvironment,
  probeBaseInterpreter,
  readEnvironmentInputs,
  shortPythonVersion,
  type EnvironmentInputs,
} from "./environment-inputs.js";

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function inputs(overrides: Partial<EnvironmentInputs> = {}): EnvironmentInputs {
  return {
    basePython: "/usr/bin/python3.11",
    baseVersion: "3.11.2 (main) [GCC 12.2.0]",
    requirements: null,
    condaPackages: null,
    dependenciesSh: null,
    isolated: false,
    ...overrides,
  };
}

describe("readEnvironmentInputs", () => {
  test("reads the three files, absent ones as null, and resolves the interpreter's real path", () => {
    // Given a project with requirements.txt and an empty dependencies.sh, and a symlinked interpreter
    const project = tempDir("axon-inputs-");
    writeFileSync(path.join(project, "requirements.txt"), "numpy\n");
    writeFileSync(path.join(project, "dependencies.sh"), "");
    const link = path.join(project, "python-link");
    symlinkSync(process.execPath, link);

    // When its inputs are read
    const read = readEnvironmentInputs(project, { python: link, version: "3.11.7 (x)" }, true);

    // Then each file is its content or null, and the link is resolved
    expect(read).toEqual({
      basePython: realpathSync(process.execPath),
      baseVersion: "3.11.7 (x)",
      requirements: "numpy\n",
      condaPackages: null,
      dependenciesSh: "",
      isolated: true,
    });
  });

  test("keeps a bare interpreter name as given", () => {
    // Given a project without any input file
    const project = tempDir("axon-inputs-");

    // When read with a command name as the interpreter
    const read = readEnvironmentInputs(project, { python: "python3", version: "3.11.7" }, false);

    // Then the name is kept and nothing needs an environment
    expect(read.basePython).toBe("python3");
    expect(needsEnvironment(read)).toBe(false);
  });
});

describe("needsEnvironment", () => {
  test("is false without files and for blank or comment-only files, true for any entry", () => {
    expect(needsEnvironment(inputs())).toBe(false);
    expect(needsEnvironment(inputs({ requirements: "" }))).toBe(false);
    expect(needsEnvironment(inputs({ requirements: "# pinned later\n\n" }))).toBe(false);
    expect(needsEnvironment(inputs({ requirements: "boto3==1.34\n" }))).toBe(true);
    expect(needsEnvironment(inputs({ condaPackages: "conda-forge::tesseract\n" }))).toBe(true);
    expect(needsEnvironment(inputs({ dependenciesSh: "apt-get install -y libgl1\n" }))).toBe(true);
  });
});

describe("environmentKey", () => {
  test("is stable for equal inputs and changes with every input", () => {
    // Given a reference set of inputs
    const reference = inputs({ requirements: "axontiny==1.0\n" });
    const key = environmentKey(reference);

    // Then the key is a 32-hex key, equal for equal inputs
    expect(isEnvironmentKey(key)).toBe(true);
    expect(environmentKey({ ...reference })).toBe(key);

    // And every input changes it
    const variants: Partial<EnvironmentInputs>[] = [
      { basePython: "/usr/local/bin/python3.11" },
      { baseVersion: "3.11.2 (main) [GCC 12.3.0]" },
      { requirements: "axontiny==2.0\n" },
      { condaPackages: "" },
      { dependenciesSh: "" },
      { isolated: true },
    ];
    const keys = variants.map((variant) => environmentKey({ ...reference, ...variant }));
    expect(new Set([key, ...keys]).size).toBe(variants.length + 1);
  });

  test("tells an absent file from an empty one, and content from the file it is in", () => {
    const absent = environmentKey(inputs());
    const empty = environmentKey(inputs({ requirements: "" }));
    const inRequirements = environmentKey(inputs({ requirements: "x" }));
    const inConda = environmentKey(inputs({ condaPackages: "x" }));
    expect(absent).not.toBe(empty);
    expect(inRequirements).not.toBe(inConda);
  });
});

describe("probeBaseInterpreter", () => {
  test("returns the real executable and full version of a Python found on PATH", async () => {
    // When the default python3 is probed
    const base = await probeBaseInterpreter("python3");

    // Then it is an absolute real path with a full version string
    expect(path.isAbsolute(base.python)).toBe(true);
    expect(realpathSync(base.python)).toBe(base.python);
    expect(shortPythonVersion(base.version)).toMatch(/^3\.\d+\.\d+$/);
    expect(base.version.length).toBeGreaterThan(shortPythonVersion(base.version)?.length ?? 0);
  });

  test("names the interpreter when it cannot be run", async () => {
    await expect(probeBaseInterpreter("/nonexistent/python3")).rejects.toThrow(
      /'\/nonexistent\/python3' cannot be run/,
    );
  });
});
