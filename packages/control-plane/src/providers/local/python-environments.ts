/**
 * Which interpreter a version's replicas run: the base interpreter directly when the project has
 * no `requirements.txt` / `conda-packages.txt` / `dependencies.sh`, otherwise the environment built
 * (once, by content) from those files.
 */
import {
  EnvironmentBuildError,
  environmentKey,
  needsEnvironment,
  readEnvironmentInputs,
  type EnvironmentManager,
  type PythonEnvironmentRecord,
} from "./environments/index.js";
import { DomainError } from "../../errors.js";

/** The base Python interpreter cannot be run (400). */
export const PYTHON_UNAVAILABLE = "python.unavailable";

/** The project's environment (requirements.txt, conda-packages.txt, dependencies.sh) failed to build (422). */
export const ENVIRONMENT_BUILD_FAILED = "environment.build_failed";

export interface BasePython {
  path: string;
  /** null when the interpreter could not be run. */
  version: string | null;
}

export interface PreparedRuntime {
  envKey: string | null;
  python: string;
  /** How long the build took, when this call built the environment (null: reused or none). */
  builtInMs: number | null;
}

export class PythonEnvironments {
  readonly #manager: EnvironmentManager;
  readonly #base: () => BasePython;
  readonly #isolated: boolean;
  readonly #stopSignal: AbortSignal | undefined;

  /** `stopSignal` aborts every build in progress (the daemon is stopping). */
  constructor(
    manager: EnvironmentManager,
    base: () => BasePython,
    isolated: boolean,
    stopSignal?: AbortSignal,
  ) {
    this.#manager = manager;
    this.#base = base;
    this.#isolated = isolated;
    this.#stopSignal = stopSignal;
  }

  /** The base interpreter (real path and full version, or null when it cannot run). */
  base(): BasePython {
    return this.#base();
  }

  get isolated(): boolean {
    return this.#isolated;
  }

  /** Builds (or reuses) the environment a project needs; build failures become DomainErrors. */
  async prepare(projectDir: string, onOutput?: (line: string) => void): Promise<PreparedRuntime> {
    const signal = this.#stopSignal;
    const base = this.#base();
    if (base.version === null) {
      throw new DomainError(
        PYTHON_UNAVAILABLE,
        `the Python interpreter ${base.path} cannot be run`,
        {
          hint: "start the cluster with a working interpreter: AXON_PYTHON=/path/to/python3 or `axon cluster up --python`",
        },
      );
    }
    const inputs = readEnvironmentInputs(
      projectDir,
      { python: base.path, version: base.version },
      this.#isolated,
    );
    if (!needsEnvironment(inputs)) return { envKey: null, python: base.path, builtInMs: null };
    const existed = this.#manager.get(environmentKey(inputs)) !== undefined;
    const started = performance.now();
    try {
      const record = await this.#manager.ensure(projectDir, inputs, {
        ...(onOutput === undefined ? {} : { onOutput }),
        ...(signal === undefined ? {} : { signal }),
      });
      const builtInMs = existed ? null : performance.now() - started;
      return { envKey: record.key, python: record.python, builtInMs };
    } catch (error) {
      if (error instanceof EnvironmentBuildError) {
        const fix =
          error.file === null ? (error.hint ?? "fix the problem above") : `fix ${error.file}`;
        throw new DomainError(ENVIRONMENT_BUILD_FAILED, error.message, {
          status: 422,
          hint: `${fix} and deploy again; what was deployed before keeps running`,
          cause: error,
        });
      }
      throw error;
    }
  }

  /**
   * The environment `prepare(projectDir)` would use, by its content key, and whether it exists
   * already: pure reads of the three input files, no build (`deploy --plan`).
   */
  preview(projectDir: string): { envKey: string | null; exists: boolean } {
    const base = this.#base();
    const inputs = readEnvironmentInputs(
      projectDir,
      { python: base.path, version: base.version ?? "" },
      this.#isolated,
    );
    if (!needsEnvironment(inputs)) return { envKey: null, exists: true };
    const envKey = environmentKey(inputs);
    return { envKey, exists: this.#manager.get(envKey) !== undefined };
  }

  describe(key: string): PythonEnvironmentRecord | undefined {
    return this.#manager.get(key);
  }

  markUsed(key: string): void {
    this.#manager.markUsed(key);
  }

  collectGarbage(inUse: Set<string>, graceMs: number): Promise<string[]> {
    return this.#manager.collectGarbage(inUse, graceMs);
  }
}
