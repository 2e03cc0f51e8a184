/**
 * `@axon/config` — the API-config contract shared by the CLI (fast feedback, `axon validate`) and the
 * control plane (authoritative check on deploy). It reads `axon.yaml` and Cortex 0.14–0.20
 * `cortex.yaml` files, validates them against `schemas/axon.schema.json` plus the cross-field rules,
 * reports every problem at once as `Diagnostic`s pinned to file, line, column and field path, and
 * resolves each API into a canonical, defaults-filled `ApiSpec`.
 *
 * Typical use:
 *
 *   const path = findConfigFile(process.cwd());          // axon.yaml, axon.yml, cortex.yaml, cortex.yml
 *   const { apis, deprecations } = loadApiConfigFile(path); // throws ConfigError (all diagnostics)
 *   specHash(apis[0]); specToYaml(apis[0]);
 *
 * The daemon, which receives the YAML text and a bundle, calls `parseApiConfig(text, fileName,
 * { fileExists })` instead. Nothing here touches the network or keeps state between calls; the ajv
 * validator is compiled lazily on first use.
 */

export type {
  ApiSpec,
  AutoscalingSpec,
  BatchApiSpec,
  BatchNetworkingSpec,
  CanarySpec,
  ComputeSpec,
  MonitoringSpec,
  NetworkingSpec,
  PredictorSpec,
  ServerSideBatchingSpec,
  TrafficSplitterBackend,
  TrafficSplitterSpec,
  UpdateStrategySpec,
} from "./api-spec.js";
export {
  DEFAULT_PREDICTOR_TIMEOUT_MS,
  MAX_CANARY_BAKE_MS,
  MAX_PREDICTOR_TIMEOUT_MS,
  MAX_SPLITTER_APIS_ON_ECS,
} from "./api-spec.js";
export { CONFIG_FILE_NAMES, findConfigFile, loadApiConfigFile } from "./config-file.js";
export { ConfigError, formatDiagnostic, type Diagnostic } from "./diagnostics.js";
export { formatDuration, parseDuration } from "./duration.js";
export { canonicalizeEndpoint } from "./endpoint.js";
export {
  parseApiConfig,
  type ParseApiConfigOptions,
  type ParsedApiConfig,
} from "./parse-config.js";
export { parseApiConfigOffThread, type ParseOffThreadOptions } from "./parse-off-thread.js";
export { isForwardedAwsVariable, pickForwardedAwsVariables } from "./forwarded-env.js";
export { parseQuantity } from "./quantity.js";
export { CONFIG_LIMITS, decodeConfigBytes, MAX_NESTING_DEPTH } from "./yaml-limits.js";
export { API_CONFIG_SCHEMA_ID, apiConfigSchema, type JsonSchema } from "./schema.js";
export { specHash, specToYaml } from "./spec-output.js";
export {
  checkCertificateArns,
  loadClusterConfigFile,
  parseClusterConfig,
  type ClusterConfig,
  type ClusterNetworking,
  type ParseClusterConfigOptions,
} from "./cluster-config.js";
export { CLUSTER_CONFIG_SCHEMA_ID, compileClusterValidator } from "./cluster-schema.js";
export {
  checkPythonSyntax,
  MAX_CHECKED_PYTHON_FILES,
  type PythonSyntaxCheck,
  type PythonSyntaxCheckOptions,
} from "./python-syntax.js";
