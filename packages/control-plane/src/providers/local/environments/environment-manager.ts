/**
 * The store of built Python environments under one root directory (the daemon passes
 * `$AXON_HOME/envs`): `<root>/<key>/` is the environment with that content key (see
 * `environmentKey`) and `<root>/<key>/axon-env.json` its completion record.
 *
 * Decisions recorded here:
 * - **Build in place, record last.** Virtual environments are not relocatable (scripts carry
 *   absolute shebangs), so a build happens at its final path and `axon-env.json` is written last,
 *   through a temp file and a rename. A directory without the record is incomplete, whoever left
 *   it: the next `ensure` (or `collectGarbage`) kills any process of the interrupted build that is
 *   still running (found by `AXON_ENV_BUILD_DIR` in its environment), deletes the directory and
 *   builds again. Deletion renames to `.trash-*` first, so an environment is whole or absent.
 * - **One build per key.** Concurrent `ensure` calls for one key share one build (one daemon per
 *   home, so in-process de-duplication is enough). A shared build is aborted only when every
 *   caller waiting on it aborted.
 * - **Venv of the base interpreter.** `<base> -m venv --system-site-packages <dir>` by default, so
 *   the base interpreter's packages satisfy requirements offline; with `isolated` (the cluster's
 *   `AXON_ENV_ISOLATED=1`) plain `<base> -m venv <dir>`. When the base has pip ≥ 22.3 (the usual
 *   case) the venv is made `--without-pip` and pip runs from the base as `<base> -m pip --python
 *   <venv python>`: ten times faster than seeding pip into every environment, and it works on
 *   Debian without `python3-venv` (no ensurepip). Otherwise the venv seeds its own pip; when that
 *   is impossible too, the error names the apt packages.
 * - **conda-packages.txt** switches to a conda environment: `conda create --prefix <dir>
 *   python=<base major.minor> --file conda-packages.txt` (mamba preferred when on PATH), then the
 *   same dependencies.sh and pip steps with the conda env's Python. A conda environment never sees
 *   the base interpreter's packages. Without conda or mamba on PATH, the build fails naming the file.
 * - **Order**: environment created → `bash -e dependencies.sh` in the project folder (env's `bin`
 *   first on PATH) → `pip install --disable-pip-version-check -r requirements.txt` in the project
 *   folder (so relative paths in it work). Unlike Cortex, dependencies.sh runs as the daemon's
 *   user on the host (no root, no container), once per environment build rather than at every
 *   replica start, and conda packages are installed before it rather than after.
 * - **Processes**: every step runs in its own process group, killed as a group on abort. So a
 *   terminal's Ctrl-C reaches the daemon only; the daemon stops its builds by aborting `signal`
 *   (what it does not stop, the next `ensure`/`collectGarbage` of that key kills).
 * - **pip configuration is the user's**: the manager's `env` (default: the daemon's) is passed to
 *   every step, so `PIP_INDEX_URL`, `PIP_FIND_LINKS`, `PIP_NO_INDEX`, `PIP_CONFIG_FILE` and
 *   pip.conf apply. `PYTHONHOME` is dropped (it would break the venv). In dependencies.sh, use
 *   `pip install …` (the environment's `bin/pip`), not `python -m pip`, which needs pip inside an
 *   isolated environment.
 * - **Distributions** in the record come from `importlib.metadata` in the built environment: every
 *   distribution the environment's Python would import (the first of each name on `sys.path`),
 *   marked `location: "environment"` when installed in the environment itself and `"base"` when
 *   seen through system site packages (or user site).
 * - **Reuse is observable**: each build gets a fresh `buildId` and counts its `pipRuns`; a reuse
 *   returns the stored record unchanged apart from `lastUsedAt`.
 *
 * POSIX only (`bin/python`, process groups, `/proc` on Linux for leftover processes).
 */
import { randomUUID } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import {
  BUILD_MARKER_VARIABLE,
  killLeftoverBuildProcesses,
  runBuildStep,
  type RunStepResult,
} from "./build-process.js";
import {
  environmentKey,
  hasEntries,
  isEnvironmentKey,
  shortPythonVersion,
  type EnvironmentInputFile,
  type EnvironmentInputs,
} from "./environment-inputs.js";
import { checkPackageIndex } from "./package-index.js";
import { describePipFailure } from "./pip-failure.js";

/** File name of the completion record inside an environment directory. */
export const RECORD_FILE = "axon-env.json";
const RECORD_FORMAT = 1;
/** Output lines kept for an EnvironmentBuildError (pip's own message is at the end). */
const OUTPUT_TAIL_LINES = 30;
const TRASH_PREFIX = ".trash-";

/** One installed distribution visible to the environment's Python. */
export interface EnvironmentDistribution {
  name: string;
  version: string;
  /** `environment`: installed into the environment; `base`: seen from the base interpreter. */
  location: "environment" | "base";
}

/**
 * The completion record of a Python environment, `<root>/<key>/axon-env.json`: its presence means
 * the build finished. (Not a deploy target: that is `state/store.ts`'s `EnvironmentRecord`.)
 */
export interface PythonEnvironmentRecord {
  formatVersion: 1;
  key: string;
  /** `venv` normally; `conda` when the project has conda-packages.txt. */
  kind: "venv" | "conda";
  /** The environment's interpreter: run workers with this (`<root>/<key>/bin/python`). */
  python: string;
  /** The environment directory. */
  prefix: string;
  basePython: string;
  baseVersion: string;
  isolated: boolean;
  /** Fresh for every build; equal across calls means the environment was reused. */
  buildId: string;
  /** ISO 8601. */
  createdAt: string;
  buildMs: number;
  /** Which input files the project had. */
  inputs: { requirements: boolean; condaPackages: boolean; dependenciesSh: boolean };
  /** Sorted by name. */
  distributions: EnvironmentDistribution[];
  /** `pip install` runs made by this build (0 when requirements.txt had no requirement). */
  pipRuns: number;
  /** ISO 8601; set by the build, `ensure` reusing it and `markUsed`. Drives `collectGarbage`. */
  lastUsedAt: string;
}

/** A step of a build, passed with each output line. */
export type EnvironmentBuildStep = "create" | "dependencies.sh" | "pip" | "inspect";

/** Receives every output line of a build (step announcements, venv/conda, dependencies.sh, pip). */
export type EnvironmentOutputListener = (line: string, step: EnvironmentBuildStep) => void;

/** Why an environment could not be built. */
export class EnvironmentBuildError extends Error {
  /** Stable code for the HTTP boundary. */
  readonly code = "environment.build_failed";
  /** The project file whose step failed; null when the base interpreter or the host is at fault. */
  readonly file: EnvironmentInputFile | null;
  /** Exit code of the failed command; null when it could not be started or was killed. */
  readonly exitCode: number | null;
  /** The failed command's last output lines (pip's or the script's own message). */
  readonly outputTail: string[];
  /** What to do about it. */
  readonly hint: string | undefined;

  constructor(
    message: string,
    options: {
      file: EnvironmentInputFile | null;
      exitCode?: number | null;
      outputTail?: string[];
      hint?: string;
      cause?: unknown;
    },
  ) {
    super(message, { cause: options.cause });
    this.name = "EnvironmentBuildError";
    this.file = options.file;
    this.exitCode = options.exitCode ?? null;
    this.outputTail = options.outputTail ?? [];
    this.hint = options.hint;
  }
}

export interface EnvironmentManagerOptions {
  /** Directory holding the environments, e.g. `$AXON_HOME/envs`; created when needed. */
  root: string;
  /** Environment of every build step (pip configuration, PATH for conda); default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

export interface EnsureOptions {
  onOutput?: EnvironmentOutputListener;
  /** Stops waiting; the build itself is stopped (processes killed, directory removed) once no caller waits. */
  signal?: AbortSignal;
}

type StepRunner = (
  step: EnvironmentBuildStep,
  command: string,
  args: string[],
  options?: { quiet?: boolean },
) => Promise<RunStepResult>;

/** How to run pip for an environment: `command ...prefixArgs install ...`. */
interface PipCommand {
  command: string;
  prefixArgs: string[];
}

interface Build {
  readonly promise: Promise<PythonEnvironmentRecord>;
  readonly controller: AbortController;
  readonly listeners: Set<EnvironmentOutputListener>;
  waiters: number;
  settled: boolean;
}

/** Builds, finds, reuses and deletes environments; see the module comment. */
export class EnvironmentManager {
  readonly #root: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #builds = new Map<string, Build>();
  /** Whether a base interpreter (path and version) has pip ≥ 22.3; asked once per manager. */
  readonly #basePipUsable = new Map<string, boolean>();

  constructor(options: EnvironmentManagerOptions) {
    this.#root = path.resolve(options.root);
    this.#env = options.env ?? process.env;
  }

  /** The directory of the environment with this key (whether or not it exists). */
  environmentDir(key: string): string {
    return path.join(this.#root, key);
  }

  /**
   * The complete environment for `inputs`, built first when needed (or joining a build of the same
   * key already under way). `projectDir` is where dependencies.sh and pip run; it must hold the
   * files `inputs` was read from. Reusing an environment updates its `lastUsedAt`.
   * Rejects with EnvironmentBuildError when a step fails, or with the signal's reason when aborted.
   */
  async ensure(
    projectDir: string,
    inputs: EnvironmentInputs,
    options: EnsureOptions = {},
  ): Promise<PythonEnvironmentRecord> {
    options.signal?.throwIfAborted();
    const key = environmentKey(inputs);
    let build = this.#builds.get(key);
    if (build === undefined) {
      const record = this.#readComplete(key);
      if (record !== undefined) return this.#touch(record);
      build = this.#startBuild(key, path.resolve(projectDir), inputs, options.onOutput);
    }
    return this.#wait(build, options);
  }

  /** The complete environment with this key, or undefined (unknown, incomplete or being built). */
  get(key: string): PythonEnvironmentRecord | undefined {
    return isEnvironmentKey(key) ? this.#readComplete(key) : undefined;
  }

  /** Every complete environment, sorted by key. */
  list(): PythonEnvironmentRecord[] {
    return this.#keysOnDisk()
      .map((key) => this.#readComplete(key))
      .filter((record): record is PythonEnvironmentRecord => record !== undefined);
  }

  /** Records that an API version still uses the environment (postpones its garbage collection). */
  markUsed(key: string): void {
    const record = this.get(key);
    if (record !== undefined) this.#touch(record);
  }

  /**
   * Deletes complete environments whose key is not in `inUse` and that were last used more than
   * `graceMs` ago, and incomplete directories that no build of this manager is writing (killing
   * leftover processes of an interrupted build first). Never touches keys in `inUse` or being
   * built. Returns the keys removed.
   */
  async collectGarbage(inUse: Set<string>, graceMs: number): Promise<string[]> {
    const removed: string[] = [];
    for (const name of this.#namesOnDisk()) {
      if (name.startsWith(TRASH_PREFIX)) {
        await rm(path.join(this.#root, name), { recursive: true, force: true });
        continue;
      }
      if (!isEnvironmentKey(name) || this.#builds.has(name) || inUse.has(name)) continue;
      const record = this.#readComplete(name);
      if (record === undefined) {
        if (await this.#discardIncomplete(name)) removed.push(name);
        continue;
      }
      const lastUsed = Date.parse(record.lastUsedAt);
      if (Date.now() - lastUsed < graceMs) continue;
      // Decided and renamed in one synchronous stretch: no ensure() can reuse it in between.
      await this.#remove(name);
      removed.push(name);
    }
    return removed;
  }

  /** Starts a build; `firstListener` subscribes before it can print anything. */
  #startBuild(
    key: string,
    projectDir: string,
    inputs: EnvironmentInputs,
    firstListener: EnvironmentOutputListener | undefined,
  ): Build {
    const controller = new AbortController();
    const listeners = new Set<EnvironmentOutputListener>(
      firstListener === undefined ? [] : [firstListener],
    );
    const emit: EnvironmentOutputListener = (line, step) => {
      for (const listener of listeners) {
        try {
          listener(line, step);
        } catch {
          // A faulty progress sink must not break the build it reports on.
        }
      }
    };
    const promise = this.#build(key, projectDir, inputs, controller.signal, emit);
    const build: Build = { promise, controller, listeners, waiters: 0, settled: false };
    this.#builds.set(key, build);
    const settle = (): void => {
      build.settled = true;
      if (this.#builds.get(key) === build) this.#builds.delete(key);
    };
    promise.then(settle, settle);
    return build;
  }

  async #wait(build: Build, options: EnsureOptions): Promise<PythonEnvironmentRecord> {
    const { onOutput, signal } = options;
    if (onOutput !== undefined) build.listeners.add(onOutput);
    build.waiters += 1;
    try {
      if (signal === undefined) return await build.promise;
      return await new Promise<PythonEnvironmentRecord>((resolve, reject) => {
        const onAbort = (): void => reject(signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
        build.promise
          .then(resolve, reject)
          .finally(() => signal.removeEventListener("abort", onAbort));
      });
    } finally {
      if (onOutput !== undefined) build.listeners.delete(onOutput);
      build.waiters -= 1;
      if (build.waiters === 0 && !build.settled) build.controller.abort(signal?.reason);
    }
  }

  async #build(
    key: string,
    projectDir: string,
    inputs: EnvironmentInputs,
    signal: AbortSignal,
    emit: EnvironmentOutputListener,
  ): Promise<PythonEnvironmentRecord> {
    const started = Date.now();
    const dir = this.environmentDir(key);
    // Checked before anything is created: a missing tool is the user's to fix, not a build to clean.
    const conda = inputs.condaPackages === null ? null : this.#findConda();
    const basePython = this.#resolveCommand(inputs.basePython) ?? inputs.basePython;
    mkdirSync(this.#root, { recursive: true });
    if (existsSync(dir)) {
      emit(`Removing an incomplete environment left by an interrupted build (${key})`, "create");
      await killLeftoverBuildProcesses(dir);
      await this.#remove(key);
    }
    try {
      const env = this.#stepEnv(dir, conda !== null);
      const run: StepRunner = (step, command, args, options = {}) =>
        runBuildStep({
          command,
          args,
          cwd: projectDir,
          env,
          signal,
          onLine: options.quiet === true ? () => {} : (line) => emit(line, step),
          tailLines: OUTPUT_TAIL_LINES,
        });

      const python = path.join(dir, "bin", "python");
      const pip =
        conda === null
          ? await this.#createVenv(run, basePython, dir, inputs, emit)
          : await this.#createConda(run, conda, dir, inputs, emit);

      if (inputs.dependenciesSh !== null) {
        emit("Running dependencies.sh", "dependencies.sh");
        const result = await run("dependencies.sh", "bash", ["-e", "dependencies.sh"]);
        if (!succeeded(result)) {
          throw stepError("dependencies.sh", "bash -e dependencies.sh failed", result, {
            hint: "fix dependencies.sh (it runs with bash -e in the project folder, before pip) and deploy again",
          });
        }
      }

      let pipRuns = 0;
      if (hasEntries(inputs.requirements)) {
        emit("Installing requirements.txt with pip", "pip");
        const index = await checkPackageIndex(env);
        if (index?.note !== undefined) emit(index.note, "pip");
        const args = [
          ...pip.prefixArgs,
          "install",
          "--disable-pip-version-check",
          "--no-input",
          "--no-color",
          "--progress-bar",
          "off",
          ...(index?.pipArgs ?? []),
          "-r",
          "requirements.txt",
        ];
        const result = await run("pip", pip.command, args);
        pipRuns += 1;
        if (!succeeded(result)) {
          const offline =
            index?.note === undefined
              ? ""
              : `; ${index.host} does not resolve from this machine, so only local sources were searched`;
          throw stepError("requirements.txt", "pip install failed", result, {
            hint: `fix requirements.txt (or make the packages reachable through your pip configuration: PIP_INDEX_URL, PIP_FIND_LINKS, pip.conf) and deploy again${offline}`,
            pipMessage: true,
          });
        }
      }

      emit("Listing installed distributions", "inspect");
      const distributions = await this.#listDistributions(run, python, dir);
      signal.throwIfAborted();
      const now = new Date();
      const record: PythonEnvironmentRecord = {
        formatVersion: RECORD_FORMAT,
        key,
        kind: conda === null ? "venv" : "conda",
        python,
        prefix: dir,
        basePython: inputs.basePython,
        baseVersion: inputs.baseVersion,
        isolated: inputs.isolated,
        buildId: randomUUID(),
        createdAt: now.toISOString(),
        buildMs: now.getTime() - started,
        inputs: {
          requirements: inputs.requirements !== null,
          condaPackages: inputs.condaPackages !== null,
          dependenciesSh: inputs.dependenciesSh !== null,
        },
        distributions,
        pipRuns,
        lastUsedAt: now.toISOString(),
      };
      writeRecord(dir, record);
      emit(`Python environment ${key} built in ${(record.buildMs / 1000).toFixed(1)} s`, "inspect");
      return record;
    } catch (error) {
      // Nothing of a failed or aborted build is kept: the directory could only ever be rebuilt.
      await killLeftoverBuildProcesses(dir);
      await this.#remove(key);
      throw error;
    }
  }

  /**
   * Creates the venv; returns how to run pip for it. With a base pip ≥ 22.3 the venv is made
   * `--without-pip` and managed by the base's pip (`<base> -m pip --python <venv python>`): that
   * skips seeding pip into every environment (most of a venv's creation time, ~0.4 s instead of
   * ~5 s) and needs no ensurepip (absent on Debian without python3-venv). `bin/pip` and `bin/pip3`
   * are small scripts doing the same, so `pip install` in dependencies.sh targets the environment.
   * Otherwise the venv gets its own pip from ensurepip.
   */
  async #createVenv(
    run: StepRunner,
    basePython: string,
    dir: string,
    inputs: EnvironmentInputs,
    emit: EnvironmentOutputListener,
  ): Promise<PipCommand> {
    const python = path.join(dir, "bin", "python");
    const probeKey = JSON.stringify([basePython, inputs.baseVersion]);
    let basePip = this.#basePipUsable.get(probeKey);
    if (basePip === undefined) {
      const probe = await run("create", basePython, ["-m", "pip", "--version"], { quiet: true });
      if (probe.spawnError !== null) {
        throw new EnvironmentBuildError(
          `the base Python interpreter '${basePython}' cannot be run: ${probe.spawnError.message}`,
          {
            file: null,
            hint: "configure the cluster with a working Python interpreter",
            cause: probe.spawnError,
          },
        );
      }
      basePip = succeeded(probe) && pipSupportsPythonOption(probe.tail);
      this.#basePipUsable.set(probeKey, basePip);
    }
    const venvArgs = ["-m", "venv", ...(inputs.isolated ? [] : ["--system-site-packages"])];
    const sees = inputs.isolated ? "isolated" : "with the base interpreter's packages";
    emit(`Creating a virtual environment of ${basePython} (${sees})`, "create");
    const created = await run("create", basePython, [
      ...venvArgs,
      ...(basePip ? ["--without-pip"] : []),
      dir,
    ]);
    if (!succeeded(created)) {
      const ensurepip = created.tail.some((line) => line.includes("ensurepip"));
      throw stepError(null, `creating a virtual environment with ${basePython} failed`, created, {
        hint: ensurepip
          ? "the base interpreter has neither pip 22.3+ nor ensurepip: install pip for it (Debian/Ubuntu: apt-get install python3-pip python3-venv), or configure the cluster with another Python interpreter"
          : "check that the base interpreter can run `-m venv`, or configure the cluster with another Python interpreter",
      });
    }
    if (!basePip) return { command: python, prefixArgs: ["-m", "pip"] };
    writePipScripts(dir, basePython, python);
    return { command: basePython, prefixArgs: ["-m", "pip", "--python", python] };
  }

  /** Creates a conda environment with the packages of conda-packages.txt; returns how to run pip. */
  async #createConda(
    run: StepRunner,
    conda: string,
    dir: string,
    inputs: EnvironmentInputs,
    emit: EnvironmentOutputListener,
  ): Promise<PipCommand> {
    const full = shortPythonVersion(inputs.baseVersion);
    const pythonSpec = full === null ? "python" : `python=${full.split(".").slice(0, 2).join(".")}`;
    emit(`Creating a conda environment with ${path.basename(conda)} (${pythonSpec})`, "create");
    const args = ["create", "--yes", "--prefix", dir, pythonSpec, "--file", "conda-packages.txt"];
    const result = await run("create", conda, args);
    if (!succeeded(result)) {
      throw stepError("conda-packages.txt", `${path.basename(conda)} create failed`, result, {
        hint: "fix conda-packages.txt (one conda package spec per line) and deploy again",
      });
    }
    return { command: path.join(dir, "bin", "python"), prefixArgs: ["-m", "pip"] };
  }

  async #listDistributions(
    run: StepRunner,
    python: string,
    dir: string,
  ): Promise<EnvironmentDistribution[]> {
    const out = path.join(dir, ".axon-distributions.json");
    const result = await run("inspect", python, ["-c", LIST_DISTRIBUTIONS_SCRIPT, out]);
    if (!succeeded(result)) {
      throw stepError(null, "listing the environment's distributions failed", result, {});
    }
    const distributions = JSON.parse(readFileSync(out, "utf8")) as EnvironmentDistribution[];
    rmSync(out, { force: true });
    return distributions;
  }

  #stepEnv(dir: string, conda: boolean): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...this.#env };
    delete env["PYTHONHOME"];
    env["PATH"] = [path.join(dir, "bin"), env["PATH"]].filter(Boolean).join(path.delimiter);
    env[conda ? "CONDA_PREFIX" : "VIRTUAL_ENV"] = dir;
    env["PYTHONUNBUFFERED"] = "1";
    env[BUILD_MARKER_VARIABLE] = dir;
    return env;
  }

  #findConda(): string {
    const found = this.#resolveCommand("mamba") ?? this.#resolveCommand("conda");
    if (found !== null && found.includes("/")) return found;
    throw new EnvironmentBuildError(
      "conda-packages.txt: installing conda packages needs conda or mamba on the control plane's PATH, and neither was found",
      {
        file: "conda-packages.txt",
        hint: "install conda or mamba (e.g. Miniforge) and restart the cluster with it on PATH, or move the packages to requirements.txt",
      },
    );
  }

  /** `command` as an absolute path found on the manager's PATH; paths are returned as given. */
  #resolveCommand(command: string): string | null {
    if (command.includes("/")) return command;
    for (const dir of (this.#env["PATH"] ?? "").split(path.delimiter)) {
      if (dir === "") continue;
      const candidate = path.join(dir, command);
      try {
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // not in this directory
      }
    }
    return null;
  }

  #touch(record: PythonEnvironmentRecord): PythonEnvironmentRecord {
    const touched = { ...record, lastUsedAt: new Date().toISOString() };
    try {
      writeRecord(this.environmentDir(record.key), touched);
    } catch {
      // Only garbage collection reads lastUsedAt; failing to refresh it must not fail a deploy.
    }
    return touched;
  }

  #readComplete(key: string): PythonEnvironmentRecord | undefined {
    let record: PythonEnvironmentRecord;
    try {
      record = JSON.parse(
        readFileSync(path.join(this.environmentDir(key), RECORD_FILE), "utf8"),
      ) as PythonEnvironmentRecord;
    } catch {
      return undefined;
    }
    if (record.formatVersion !== RECORD_FORMAT || record.key !== key || !existsSync(record.python))
      return undefined;
    return record;
  }

  /** Kills leftovers and deletes an incomplete directory unless a build started meanwhile. */
  async #discardIncomplete(key: string): Promise<boolean> {
    await killLeftoverBuildProcesses(this.environmentDir(key));
    if (this.#builds.has(key) || this.#readComplete(key) !== undefined) return false;
    await this.#remove(key);
    return true;
  }

  /** Renames the directory out of the way first, so it is whole or absent, never half deleted. */
  async #remove(key: string): Promise<void> {
    const trash = path.join(this.#root, `${TRASH_PREFIX}${key}-${randomUUID().slice(0, 8)}`);
    try {
      renameSync(this.environmentDir(key), trash);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    await rm(trash, { recursive: true, force: true });
  }

  #namesOnDisk(): string[] {
    try {
      return readdirSync(this.#root).sort();
    } catch {
      return [];
    }
  }

  #keysOnDisk(): string[] {
    return this.#namesOnDisk().filter(isEnvironmentKey);
  }
}

/**
 * Writes the environment's distributions to the file argv[1] as JSON: the first distribution of each name on
 * `sys.path` (the one `import` finds), marked by whether it lives under the environment's prefix.
 */
const LIST_DISTRIBUTIONS_SCRIPT = `
import importlib.metadata as md, json, os, re, sys
prefix = os.path.realpath(sys.prefix) + os.sep
seen = {}
for dist in md.distributions():
    name = dist.metadata["Name"]
    if not name:
        continue
    norm = re.sub(r"[-_.]+", "-", name).lower()
    if norm in seen:
        continue
    where = "base"
    location = getattr(dist, "_path", None)
    if location is not None and os.path.realpath(str(location)).startswith(prefix):
        where = "environment"
    seen[norm] = {"name": name, "version": dist.version, "location": where}
with open(sys.argv[1], "w") as out:
    json.dump([seen[k] for k in sorted(seen)], out)
`;

function succeeded(result: RunStepResult): boolean {
  return result.spawnError === null && result.exitCode === 0;
}

/** An EnvironmentBuildError whose message ends with the command's own words. */
function stepError(
  file: EnvironmentInputFile | null,
  what: string,
  result: RunStepResult,
  options: { hint?: string; pipMessage?: boolean },
): EnvironmentBuildError {
  const status =
    result.spawnError !== null
      ? `could not start: ${result.spawnError.message}`
      : result.signal !== null
        ? `killed by ${result.signal}`
        : `exit ${result.exitCode}`;
  // pip's diagnosis is its "ERROR:" lines, or the failing subprocess's own (pip-failure.ts);
  // other tools' last line is the gist.
  const detail =
    options.pipMessage === true
      ? describePipFailure(result.tail)
      : (result.tail.at(-1) ?? "(no output)");
  const prefix = file === null ? "" : `${file}: `;
  return new EnvironmentBuildError(`${prefix}${what} (${status}): ${detail}`, {
    file,
    exitCode: result.exitCode,
    outputTail: result.tail,
    ...(options.hint === undefined ? {} : { hint: options.hint }),
    ...(result.spawnError === null ? {} : { cause: result.spawnError }),
  });
}

/** True when `pip --version` output shows pip 22.3 or later, the first with `--python`. */
function pipSupportsPythonOption(versionOutput: string[]): boolean {
  const match = /^pip (\d+)\.(\d+)/.exec(
    versionOutput.find((line) => line.startsWith("pip ")) ?? "",
  );
  if (match === null) return false;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  return major > 22 || (major === 22 && minor >= 3);
}

/** `bin/pip` and `bin/pip3` for a venv without pip: the base's pip, aimed at this environment. */
function writePipScripts(dir: string, basePython: string, python: string): void {
  const script = [
    "#!/bin/sh",
    "# Written by axon: this environment has no pip of its own; the base interpreter's pip manages it.",
    `exec ${shellQuote(basePython)} -m pip --python ${shellQuote(python)} "$@"`,
    "",
  ].join("\n");
  for (const name of ["pip", "pip3"])
    writeFileSync(path.join(dir, "bin", name), script, { mode: 0o755 });
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Temp file, fsync, rename, fsync of the directory: the record is old or new, never torn. */
function writeRecord(dir: string, record: PythonEnvironmentRecord): void {
  const file = path.join(dir, RECORD_FILE);
  const temp = `${file}.tmp-${randomUUID().slice(0, 8)}`;
  writeFileSync(temp, `${JSON.stringify(record, null, 2)}\n`);
  const fd = openSync(temp, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
  const dirFd = openSync(dir, "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
