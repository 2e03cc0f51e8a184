/**
 * Real builds with real pip, offline: tiny hand-written wheels are installed with
 * `PIP_NO_INDEX=1 PIP_FIND_LINKS=<dir>` and the machine's pip configuration switched off. Each
 * virtual environment takes a few seconds to create, so tests run concurrently and keep builds few.
 */
import { execFileSync, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, onTestFinished, test } from "vitest";
import {
  probeBaseInterpreter,
  readEnvironmentInputs,
  type EnvironmentInputs,
  type BaseInterpreter,
} from "./environment-inputs.js";
import {
  EnvironmentBuildError,
  EnvironmentManager,
  RECORD_FILE,
  type PythonEnvironmentRecord,
} from "./environment-manager.js";
import { buildTinyWheel } from "./testing/wheels.js";
import { TS_SOURCES_PRELUDE } from "../../../testing/ts-child.js";

const DEBIAN_PYTHON = "/usr/bin/python3";

type OnFinished = (cleanup: () => void) => void;

/** Temp folders, projects, wheels and managers that are removed when the calling test finishes. */
function fixtures(onFinished: OnFinished) {
  const tempDir = (prefix: string): string => {
    const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), prefix)));
    onFinished(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  return {
    tempDir,
    /** A folder with axontiny 1.0 and 2.0 wheels. */
    wheelhouse: (): string => {
      const dir = tempDir("axon-wheels-");
      buildTinyWheel(dir, "axontiny", "1.0");
      buildTinyWheel(dir, "axontiny", "2.0");
      return dir;
    },
    project: (files: Record<string, string>): string => {
      const dir = tempDir("axon-project-");
      for (const [name, content] of Object.entries(files))
        writeFileSync(path.join(dir, name), content);
      return dir;
    },
    manager: (env: NodeJS.ProcessEnv): { root: string; manager: EnvironmentManager } => {
      const root = path.join(tempDir("axon-home-"), "envs");
      return { root, manager: new EnvironmentManager({ root, env }) };
    },
  };
}

/** The daemon's environment plus an offline pip configuration pointing at `wheels`. */
function offlineEnv(wheels: string): NodeJS.ProcessEnv {
  return { ...process.env, PIP_NO_INDEX: "1", PIP_FIND_LINKS: wheels, PIP_CONFIG_FILE: os.devNull };
}

function pythonPrints(python: string, code: string): string {
  return execFileSync(python, ["-c", code], { encoding: "utf8" }).trim();
}

function imports(python: string, module: string): boolean {
  try {
    execFileSync(python, ["-c", `import ${module}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function pyenvBase(): Promise<BaseInterpreter> {
  return probeBaseInterpreter("python3");
}

/** Keys of the directories under `root` (complete or not). */
function dirsUnder(root: string): string[] {
  return existsSync(root) ? readdirSync(root) : [];
}

function writeFakeRecord(root: string, key: string, lastUsedAt: Date): void {
  const dir = path.join(root, key);
  mkdirSync(path.join(dir, "bin"), { recursive: true });
  writeFileSync(path.join(dir, "bin", "python"), "");
  const record: PythonEnvironmentRecord = {
    formatVersion: 1,
    key,
    kind: "venv",
    python: path.join(dir, "bin", "python"),
    prefix: dir,
    basePython: "/usr/bin/python3.11",
    baseVersion: "3.11.2",
    isolated: false,
    buildId: `build-${key}`,
    createdAt: lastUsedAt.toISOString(),
    buildMs: 1,
    inputs: { requirements: true, condaPackages: false, dependenciesSh: false },
    distributions: [],
    pipRuns: 1,
    lastUsedAt: lastUsedAt.toISOString(),
  };
  writeFileSync(path.join(dir, RECORD_FILE), JSON.stringify(record));
}

describe.concurrent("EnvironmentManager builds", () => {
  test("two pins of one package get two environments, each importing its own version, built once each", async ({
    expect,
    onTestFinished,
  }) => {
    const { wheelhouse, project, manager } = fixtures(onTestFinished);
    // Given two projects pinning different versions of axontiny, and a base with numpy installed
    const wheels = wheelhouse();
    const base = await pyenvBase();
    const v1 = project({ "requirements.txt": "axontiny==1.0\n" });
    const v2 = project({ "requirements.txt": "axontiny==2.0\n" });
    const { manager: envs } = manager(offlineEnv(wheels));
    const v1Inputs = readEnvironmentInputs(v1, base, false);
    const v2Inputs = readEnvironmentInputs(v2, base, false);
    const pipLines: string[] = [];

    // When v1 is ensured twice at once and v2 once
    const [a, b, c] = await Promise.all([
      envs.ensure(v1, v1Inputs, {
        onOutput: (line, step) => step === "pip" && pipLines.push(line),
      }),
      envs.ensure(v1, v1Inputs),
      envs.ensure(v2, v2Inputs),
    ]);

    // Then the concurrent v1 calls shared one build with one pip run
    expect(a.buildId).toBe(b.buildId);
    expect(a.pipRuns).toBe(1);
    expect(
      pipLines.filter((line) => line.startsWith("Successfully installed axontiny-1.0")),
    ).toHaveLength(1);
    // And each environment imports its own version
    expect(a.key).not.toBe(c.key);
    expect(pythonPrints(a.python, "import axontiny; print(axontiny.__version__)")).toBe("1.0");
    expect(pythonPrints(c.python, "import axontiny; print(axontiny.__version__)")).toBe("2.0");
    // And the base interpreter's packages are visible (system site packages by default)
    expect(
      pythonPrints(a.python, "import numpy, sys; print(numpy.__file__.startswith(sys.prefix))"),
    ).toBe("False");
    expect(a.distributions).toContainEqual({
      name: "axontiny",
      version: "1.0",
      location: "environment",
    });
    expect(a.distributions.find((d) => d.name === "numpy")?.location).toBe("base");
    expect(a.inputs).toEqual({ requirements: true, condaPackages: false, dependenciesSh: false });
    expect(a.isolated).toBe(false);

    // When v1 is ensured again (a redeploy)
    const again = await envs.ensure(v1, readEnvironmentInputs(v1, base, false));

    // Then it is the same build, with no further pip run, and its use is recorded
    expect(again.key).toBe(a.key);
    expect(again.buildId).toBe(a.buildId);
    expect(again.pipRuns).toBe(1);
    expect(Date.parse(again.lastUsedAt)).toBeGreaterThanOrEqual(Date.parse(a.lastUsedAt));
    expect(envs.get(a.key)?.buildId).toBe(a.buildId);
    expect(
      envs
        .list()
        .map((record) => record.key)
        .sort(),
    ).toEqual([a.key, c.key].sort());
  });

  test("an isolated environment does not see the base interpreter's packages and still installs offline", async ({
    expect,
    onTestFinished,
  }) => {
    const { wheelhouse, project, manager } = fixtures(onTestFinished);
    // Given a project pinning axontiny 2.0 and the isolation setting
    const wheels = wheelhouse();
    const base = await pyenvBase();
    const dir = project({ "requirements.txt": "axontiny==2.0\n" });
    const { manager: envs } = manager(offlineEnv(wheels));

    // When its environment is built isolated
    const record = await envs.ensure(dir, readEnvironmentInputs(dir, base, true));

    // Then numpy (installed in the base) is not importable, axontiny is
    expect(record.isolated).toBe(true);
    expect(imports(base.python, "numpy")).toBe(true);
    expect(imports(record.python, "numpy")).toBe(false);
    expect(pythonPrints(record.python, "import axontiny; print(axontiny.__version__)")).toBe("2.0");
    expect(record.distributions.every((d) => d.location === "environment")).toBe(true);
  });

  test("a base interpreter without pip gets environments that carry their own pip", async ({
    expect,
    onTestFinished,
  }) => {
    const { tempDir, wheelhouse, project, manager } = fixtures(onTestFinished);
    // Given a base interpreter with no pip at all (an isolated venv made without pip)
    const bare = path.join(tempDir("axon-bare-"), "venv");
    execFileSync("python3", ["-m", "venv", "--without-pip", bare]);
    const basePython = path.join(bare, "bin", "python");
    expect(imports(basePython, "pip")).toBe(false);
    const dir = project({ "requirements.txt": "axontiny==2.0\n" });
    const { manager: envs } = manager(offlineEnv(wheelhouse()));
    const inputs: EnvironmentInputs = {
      ...readEnvironmentInputs(dir, { python: basePython, version: "" }, true),
      basePython, // not resolved: the venv's python is a symlink to an interpreter that has pip
      baseVersion: pythonPrints(basePython, "import sys; print(sys.version)"),
    };

    // When an environment is built on it
    const record = await envs.ensure(dir, inputs);

    // Then the environment seeded its own pip, which installed the requirement
    expect(record.distributions).toContainEqual(
      expect.objectContaining({ name: "pip", location: "environment" }),
    );
    expect(pythonPrints(record.python, "import axontiny; print(axontiny.__version__)")).toBe("2.0");
  });

  test("an uninstallable requirement fails with pip's message and the file name, leaving nothing", async ({
    expect,
    onTestFinished,
  }) => {
    const { wheelhouse, project, manager } = fixtures(onTestFinished);
    // Given a project requiring a package no index has
    const wheels = wheelhouse();
    const base = await pyenvBase();
    const dir = project({ "requirements.txt": "nosuchpkg==9.9\n" });
    const { root, manager: envs } = manager(offlineEnv(wheels));
    const inputs = readEnvironmentInputs(dir, base, false);

    // When its environment is ensured
    const error = await envs.ensure(dir, inputs).catch((caught: unknown) => caught);

    // Then the error names the file, carries pip's exit code and message
    expect(error).toBeInstanceOf(EnvironmentBuildError);
    const failure = error as EnvironmentBuildError;
    expect(failure.file).toBe("requirements.txt");
    expect(failure.exitCode).toBe(1);
    expect(failure.message).toMatch(
      /^requirements\.txt: pip install failed \(exit 1\): ERROR: Could not find a version that satisfies the requirement nosuchpkg==9\.9/,
    );
    expect(
      failure.outputTail.some((line) =>
        line.includes("No matching distribution found for nosuchpkg==9.9"),
      ),
    ).toBe(true);
    // And no environment, complete or not, is left
    expect(dirsUnder(root)).toEqual([]);
  });

  test("offline, an index that does not resolve is tried once, and the error says it was not reachable", async ({
    expect,
    onTestFinished,
  }) => {
    const { wheelhouse, project, manager } = fixtures(onTestFinished);
    // Given pip pointed at an index whose host never resolves (.invalid, RFC 2606) and local wheels
    const wheels = wheelhouse();
    const base = await pyenvBase();
    const dir = project({ "requirements.txt": "nosuchpkg==9.9\n" });
    const env = {
      ...process.env,
      PIP_INDEX_URL: "https://axon-test.invalid/simple",
      PIP_FIND_LINKS: wheels,
      PIP_CONFIG_FILE: os.devNull,
      PIP_NO_INDEX: undefined,
      PIP_RETRIES: undefined,
    };
    const { manager: envs } = manager(env);
    const output: string[] = [];

    // When its environment is ensured
    const error = await envs
      .ensure(dir, readEnvironmentInputs(dir, base, false), {
        onOutput: (line) => output.push(line),
      })
      .catch((caught: unknown) => caught);

    // Then pip ran without retries (no "Retrying" warning), the output and the hint say why,
    // and pip's own message is kept
    expect(error).toBeInstanceOf(EnvironmentBuildError);
    const failure = error as EnvironmentBuildError;
    expect(output.some((line) => line.includes("Retrying"))).toBe(false);
    expect(output).toContain(
      "the package index axon-test.invalid does not resolve from this machine (offline?): pip tries it once, " +
        "without retries, and installs from the local sources it is configured with (PIP_FIND_LINKS, file:// indexes)",
    );
    expect(failure.message).toMatch(
      /No matching distribution found for nosuchpkg==9\.9|Could not find a version/,
    );
    expect(failure.hint).toContain(
      "; axon-test.invalid does not resolve from this machine, so only local sources were searched",
    );
  });

  test("dependencies.sh runs first, in the project folder, with the environment's Python, its output streamed", async ({
    expect,
    onTestFinished,
  }) => {
    const { wheelhouse, project, manager } = fixtures(onTestFinished);
    // Given a project (on Debian's Python when it can make venvs) with dependencies.sh and requirements
    const wheels = wheelhouse();
    const debian = existsSync(DEBIAN_PYTHON);
    const base = await probeBaseInterpreter(debian ? DEBIAN_PYTHON : "python3");
    const dir = project({
      "requirements.txt": "axontiny==1.0\n",
      "dependencies.sh": [
        'echo "deps: cwd=$(pwd)"',
        'echo "deps: python=$(command -v python)"',
        "if python -c 'import axontiny' 2>/dev/null; then echo 'deps: axontiny present'; else echo 'deps: axontiny absent'; fi",
        "echo ran > deps-ran.txt",
        "pip install axontiny==2.0",
        "",
      ].join("\n"),
    });
    const { manager: envs } = manager(offlineEnv(wheels));
    const lines: { line: string; step: string }[] = [];

    // When its environment is built
    const record = await envs.ensure(dir, readEnvironmentInputs(dir, base, false), {
      onOutput: (line, step) => lines.push({ line, step }),
    });

    // Then the script ran in the project folder with the environment's python and pip first on
    // PATH, before requirements.txt was installed
    const text = lines.map((entry) => entry.line);
    expect(text).toContain(`deps: cwd=${dir}`);
    expect(text).toContain(`deps: python=${record.python}`);
    expect(text).toContain("deps: axontiny absent");
    expect(text).toContain("Successfully installed axontiny-2.0");
    expect(readFileSync(path.join(dir, "deps-ran.txt"), "utf8")).toBe("ran\n");
    const lastDeps = lines.findLastIndex((entry) => entry.step === "dependencies.sh");
    const firstPip = lines.findIndex((entry) => entry.step === "pip");
    expect(firstPip).toBeGreaterThan(lastDeps);
    // And requirements.txt, applied after dependencies.sh, has the last word on axontiny
    expect(record.inputs.dependenciesSh).toBe(true);
    expect(pythonPrints(record.python, "import axontiny; print(axontiny.__version__)")).toBe("1.0");
    // And on Debian's Python, the apt-installed scikit-learn is visible
    if (debian && imports(DEBIAN_PYTHON, "sklearn"))
      expect(imports(record.python, "sklearn")).toBe(true);
  });

  test("a failing dependencies.sh fails the build naming the file, with its output, leaving nothing", async ({
    expect,
    onTestFinished,
  }) => {
    const { wheelhouse, project, manager } = fixtures(onTestFinished);
    // Given a project whose dependencies.sh fails half way
    const base = await pyenvBase();
    const dir = project({
      "requirements.txt": "axontiny==1.0\n",
      "dependencies.sh": "echo 'installing system packages'\nfalse\necho never\n",
    });
    const { root, manager: envs } = manager(offlineEnv(wheelhouse()));
    const lines: string[] = [];

    // When its environment is ensured
    const error = await envs
      .ensure(dir, readEnvironmentInputs(dir, base, false), {
        onOutput: (line) => lines.push(line),
      })
      .catch((caught: unknown) => caught);

    // Then it fails naming dependencies.sh, bash -e stopped at the failure, and pip never ran
    expect(error).toBeInstanceOf(EnvironmentBuildError);
    const failure = error as EnvironmentBuildError;
    expect(failure.file).toBe("dependencies.sh");
    expect(failure.exitCode).toBe(1);
    expect(failure.message).toMatch(
      /^dependencies\.sh: bash -e dependencies\.sh failed \(exit 1\)/,
    );
    expect(failure.outputTail).toContain("installing system packages");
    expect(lines).toContain("installing system packages");
    expect(lines).not.toContain("never");
    expect(lines.some((line) => line.includes("axontiny"))).toBe(false);
    expect(dirsUnder(root)).toEqual([]);
  });

  test("an aborted build kills its processes and leaves nothing", async ({
    expect,
    onTestFinished,
  }) => {
    const { wheelhouse, project, manager } = fixtures(onTestFinished);
    // Given a build whose dependencies.sh hangs
    const base = await pyenvBase();
    const dir = project({ "dependencies.sh": "echo $$ > hanging.pid\nsleep 30\n" });
    const { root, manager: envs } = manager(offlineEnv(wheelhouse()));
    const controller = new AbortController();
    const pending = envs.ensure(dir, readEnvironmentInputs(dir, base, false), {
      signal: controller.signal,
    });
    const outcome = pending.catch((caught: unknown) => caught);
    const pidFile = path.join(dir, "hanging.pid");
    await waitFor(
      () => existsSync(pidFile) && readFileSync(pidFile, "utf8").endsWith("\n"),
      "dependencies.sh to start",
    );
    const pid = Number(readFileSync(pidFile, "utf8"));
    onTestFinished(() => killQuietly(pid));
    expect(isAlive(pid)).toBe(true);
    // (and garbage collection leaves a directory under construction alone)
    expect(await envs.collectGarbage(new Set(), 0)).toEqual([]);
    expect(dirsUnder(root)).toHaveLength(1);

    // When the caller aborts
    controller.abort(new Error("deploy cancelled"));

    // Then ensure rejects with the reason, the script is killed and the directory removed
    expect(await outcome).toEqual(new Error("deploy cancelled"));
    await waitFor(() => !isAlive(pid), "the script to die", 5_000);
    await waitFor(() => dirsUnder(root).length === 0, "the directory to be removed", 5_000);
  });

  test("a build killed with its process is detected as incomplete, its leftovers stopped, and rebuilt", async ({
    expect,
    onTestFinished,
  }) => {
    const { project, manager } = fixtures(onTestFinished);
    // Given a build in another Node process, stuck in dependencies.sh (slow only there)
    const base = await pyenvBase();
    const dir = project({
      "dependencies.sh":
        'if [ -n "${AXON_TEST_SLOW:-}" ]; then echo $$ > slow.pid; sleep 30; fi\necho fast\n',
    });
    const { root, manager: envs } = manager(process.env);
    const indexModule = new URL("./index.ts", import.meta.url).href;
    const script = `
      ${TS_SOURCES_PRELUDE}
      const { EnvironmentManager, readEnvironmentInputs } = await import(${JSON.stringify(indexModule)});
      const [root, dir, python, version] = process.argv.slice(1);
      const manager = new EnvironmentManager({ root, env: { ...process.env, AXON_TEST_SLOW: "1" } });
      await manager.ensure(dir, readEnvironmentInputs(dir, { python, version }, false));
      console.log("finished");
    `;
    const child = spawn(
      process.execPath,
      ["--input-type=module", "-e", script, root, dir, base.python, base.version],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    onTestFinished(() => killQuietly(child.pid ?? -1));
    const pidFile = path.join(dir, "slow.pid");
    await waitFor(
      () =>
        child.exitCode !== null ||
        (existsSync(pidFile) && readFileSync(pidFile, "utf8").endsWith("\n")),
      "the child's dependencies.sh to start",
    );
    if (child.exitCode !== null) throw new Error(`the building process exited early: ${stderr}`);
    const scriptPid = Number(readFileSync(pidFile, "utf8"));
    onTestFinished(() => killQuietly(scriptPid));

    // When that process is killed with SIGKILL mid-build
    child.kill("SIGKILL");
    await waitFor(
      () => child.exitCode !== null || child.signalCode !== null,
      "the child to die",
      5_000,
    );

    // Then an incomplete directory is left, with the script still running as an orphan
    const [leftover] = dirsUnder(root);
    expect(leftover).toBeDefined();
    const leftoverDir = path.join(root, leftover ?? "");
    expect(existsSync(path.join(leftoverDir, RECORD_FILE))).toBe(false);
    expect(envs.get(leftover ?? "")).toBeUndefined();
    expect(isAlive(scriptPid)).toBe(true);
    writeFileSync(path.join(leftoverDir, "planted-by-test"), "");

    // When the environment is ensured again
    const lines: string[] = [];
    const record = await envs.ensure(dir, readEnvironmentInputs(dir, base, false), {
      onOutput: (line) => lines.push(line),
    });

    // Then the leftover was stopped and removed, and a fresh complete build took its place
    expect(record.key).toBe(leftover);
    expect(isAlive(scriptPid)).toBe(false);
    expect(lines.some((line) => line.startsWith("Removing an incomplete environment"))).toBe(true);
    expect(lines).toContain("fast");
    expect(existsSync(path.join(leftoverDir, "planted-by-test"))).toBe(false);
    expect(envs.get(record.key)?.buildId).toBe(record.buildId);
    expect(dirsUnder(root)).toEqual([record.key]);
  });
});

describe("EnvironmentManager without builds", () => {
  test("conda-packages.txt without conda or mamba on PATH fails with what to do, creating nothing", async () => {
    const { project, manager } = fixtures(onTestFinished);
    // Given a project with conda-packages.txt and a PATH without conda or mamba
    const base = await pyenvBase();
    const dir = project({
      "conda-packages.txt": "conda-forge::tesseract\n",
      "requirements.txt": "axontiny\n",
    });
    const { root, manager: envs } = manager({
      ...process.env,
      PATH: path.dirname(process.execPath),
    });

    // When its environment is ensured
    const error = await envs
      .ensure(dir, readEnvironmentInputs(dir, base, false))
      .catch((caught: unknown) => caught);

    // Then the error names the file and both ways out, and nothing was created
    expect(error).toBeInstanceOf(EnvironmentBuildError);
    const failure = error as EnvironmentBuildError;
    expect(failure.file).toBe("conda-packages.txt");
    expect(failure.message).toMatch(/^conda-packages\.txt: .*needs conda or mamba/);
    expect(failure.hint).toMatch(/install conda or mamba.*move the packages to requirements\.txt/);
    expect(dirsUnder(root)).toEqual([]);
  });

  test("garbage collection removes unused environments past the grace period and incomplete ones only", async () => {
    const { manager } = fixtures(onTestFinished);
    // Given environments: unused and old, in use and old, unused but recent, old but just marked
    // used, an incomplete one, a half-deleted one, and an unrelated folder
    const { root, manager: envs } = manager(process.env);
    const hourAgo = new Date(Date.now() - 3_600_000);
    const [oldUnused, oldInUse, recent, marked, incomplete] = ["a", "b", "c", "d", "e"].map((c) =>
      c.repeat(32),
    ) as [string, string, string, string, string];
    writeFakeRecord(root, oldUnused, hourAgo);
    writeFakeRecord(root, oldInUse, hourAgo);
    writeFakeRecord(root, recent, new Date());
    writeFakeRecord(root, marked, hourAgo);
    envs.markUsed(marked);
    mkdirSync(path.join(root, incomplete, "lib"), { recursive: true });
    mkdirSync(path.join(root, `.trash-${"f".repeat(32)}-1234`));
    mkdirSync(path.join(root, "notes"));

    // When garbage is collected with a 10-minute grace period
    const removed = await envs.collectGarbage(new Set([oldInUse]), 600_000);

    // Then only the old unused and the incomplete environments are gone (plus the trash)
    expect(removed.sort()).toEqual([oldUnused, incomplete].sort());
    expect(dirsUnder(root).sort()).toEqual([oldInUse, recent, marked, "notes"].sort());
    expect(envs.get(oldInUse)).toBeDefined();
    expect(envs.get(oldUnused)).toBeUndefined();
  });
});
