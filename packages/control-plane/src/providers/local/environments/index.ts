/**
 * Python environments built once per content key from a project's requirements.txt,
 * conda-packages.txt and dependencies.sh. See environment-manager.ts for the design decisions.
 */
export {
  environmentKey,
  hasEntries,
  isEnvironmentKey,
  needsEnvironment,
  probeBaseInterpreter,
  readEnvironmentInputs,
  shortPythonVersion,
  type BaseInterpreter,
  type EnvironmentInputFile,
  type EnvironmentInputs,
} from "./environment-inputs.js";
export {
  EnvironmentBuildError,
  EnvironmentManager,
  RECORD_FILE,
  type EnsureOptions,
  type EnvironmentBuildStep,
  type EnvironmentDistribution,
  type EnvironmentManagerOptions,
  type EnvironmentOutputListener,
  type PythonEnvironmentRecord,
} from "./environment-manager.js";
