import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { ApiSpec } from "./api-spec.js";
import { ConfigError, type Diagnostic } from "./diagnostics.js";
import { parseApiConfig, type ParseApiConfigOptions } from "./parse-config.js";

/** Parses text that must be rejected and returns every diagnostic. */
function problemsOf(text: string, options?: ParseApiConfigOptions): Diagnostic[] {
  try {
    parseApiConfig(text, "axon.yaml", options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).diagnostics;
  }
  throw new Error("expected the config to be rejected");
}

const PREDICTOR = `  predictor:
    type: python
    path: predictor.py`;

interface BrokenCase {
  title: string;
  yaml: string;
  path: string;
  line: number;
  fragment: string;
  options?: ParseApiConfigOptions;
}

const BROKEN: BrokenCase[] = [
  {
    title: "name with upper case and underscore",
    yaml: `- name: Iris_Classifier\n${PREDICTOR}`,
    path: "Iris_Classifier.name",
    line: 1,
    fragment:
      'must contain only lower-case letters, digits and dashes, start with a letter and not end with a dash (for example iris-classifier) (got "Iris_Classifier")',
  },
  {
    title: "name longer than 42 characters",
    yaml: `- name: ${"a".repeat(43)}\n${PREDICTOR}`,
    path: `${"a".repeat(43)}.name`,
    line: 1,
    fragment: "must be at most 42 characters long (got 43)",
  },
  {
    title: "name missing",
    yaml: `- kind: RealtimeAPI\n${PREDICTOR}`,
    path: "[0].name",
    line: 1,
    fragment: "must be provided (every API needs a name",
  },
  {
    title: "BatchAPI with autoscaling",
    yaml: `- name: iris\n  kind: BatchAPI\n${PREDICTOR}\n  autoscaling:\n    min_replicas: 2`,
    path: "iris.autoscaling",
    line: 6,
    fragment: "a BatchAPI has no autoscaling: each job runs the `workers` its submission asks for",
  },
  {
    title: "BatchAPI with a RealtimeAPI's networking key (auth)",
    yaml: `- name: iris\n  kind: BatchAPI\n${PREDICTOR}\n  networking:\n    auth: api_key`,
    path: "iris.networking.auth",
    line: 7,
    fragment: "key auth is not supported (supported keys: endpoint, api_gateway)",
  },
  {
    title: "TrafficSplitter weights not totalling 100",
    yaml: `- name: split\n  kind: TrafficSplitter\n  apis:\n    - name: iris\n      weight: 90`,
    path: "split.apis",
    line: 4,
    fragment: "expected weights to sum to 100 but found 90",
  },
  {
    title: "unknown kind",
    yaml: `- name: iris\n  kind: StreamAPI\n${PREDICTOR}`,
    path: "iris.kind",
    line: 2,
    fragment: 'must be RealtimeAPI, BatchAPI or TrafficSplitter (got "StreamAPI")',
  },
  {
    title: "onnx predictor",
    yaml: `- name: iris\n  kind: RealtimeAPI\n  predictor:\n    type: onnx\n    path: predictor.py\n    model_path: s3://bucket/model.onnx`,
    path: "iris.predictor.type",
    line: 4,
    fragment: "predictor type onnx is not supported: only python predictors are",
  },
  {
    title: "predictor missing",
    yaml: `- name: iris\n  kind: RealtimeAPI`,
    path: "iris.predictor",
    line: 1,
    fragment: "must be provided (e.g. predictor: {type: python, path: predictor.py})",
  },
  {
    title: "predictor.path missing",
    yaml: `- name: iris\n  kind: RealtimeAPI\n  predictor:\n    type: python`,
    path: "iris.predictor.path",
    line: 3,
    fragment: "must be provided (the .py file that defines PythonPredictor",
  },
  {
    title: "processes_per_replica above 100",
    yaml: `- name: iris\n${PREDICTOR}\n    processes_per_replica: 101`,
    path: "iris.predictor.processes_per_replica",
    line: 5,
    fragment: "must be less than or equal to 100 (got 101)",
  },
  {
    title: "threads_per_process of 0",
    yaml: `- name: iris\n${PREDICTOR}\n    threads_per_process: 0`,
    path: "iris.predictor.threads_per_process",
    line: 5,
    fragment: "must be greater than or equal to 1 (got 0)",
  },
  {
    title: "unknown top-level key",
    yaml: `- name: iris\n${PREDICTOR}\n  replicas: 3`,
    path: "iris.replicas",
    line: 5,
    fragment: "key replicas is not supported (supported keys: name, kind, predictor",
  },
  {
    title: "misspelt compute key",
    yaml: `- name: iris\n${PREDICTOR}\n  compute:\n    gpus: 1`,
    path: "iris.compute.gpus",
    line: 6,
    fragment: "key gpus is not supported (did you mean gpu?)",
  },
  {
    title: "key in the wrong section",
    yaml: `- name: iris\n${PREDICTOR}\n  autoscaling:\n    processes_per_replica: 2`,
    path: "iris.autoscaling.processes_per_replica",
    line: 6,
    fragment: "key processes_per_replica is not supported (it belongs under predictor)",
  },
  {
    title: "cpu that is not a quantity",
    yaml: `- name: iris\n${PREDICTOR}\n  compute:\n    cpu: lots`,
    path: "iris.compute.cpu",
    line: 6,
    fragment: "lots: invalid quantity, some valid examples are 1, 200m, 500Mi, 2G",
  },
  {
    title: "cpu below 20m",
    yaml: `- name: iris\n${PREDICTOR}\n  compute:\n    cpu: 10m`,
    path: "iris.compute.cpu",
    line: 6,
    fragment: "must be greater than or equal to 20m (got 10m)",
  },
  {
    title: "cpu number below 20m",
    yaml: `- name: iris\n${PREDICTOR}\n  compute:\n    cpu: 0.01`,
    path: "iris.compute.cpu",
    line: 6,
    fragment: "must be greater than or equal to 20m (got 0.01)",
  },
  {
    title: "cpu that overflows to infinity",
    yaml: `- name: iris\n${PREDICTOR}\n  compute:\n    cpu: 1e400`,
    path: "iris.compute.cpu",
    line: 6,
    fragment: "must be a finite number (got Infinity)",
  },
  {
    title: "mem below 20Mi",
    yaml: `- name: iris\n${PREDICTOR}\n  compute:\n    mem: 10Mi`,
    path: "iris.compute.mem",
    line: 6,
    fragment: "must be greater than or equal to 20Mi (got 10Mi)",
  },
  {
    title: "fractional gpu",
    yaml: `- name: iris\n${PREDICTOR}\n  compute:\n    gpu: 1.5`,
    path: "iris.compute.gpu",
    line: 6,
    fragment: "must be an integer (got 1.5)",
  },
  {
    title: "gpu and inf together",
    yaml: `- name: iris\n${PREDICTOR}\n  compute:\n    gpu: 1\n    inf: 1`,
    path: "iris.compute.inf",
    line: 7,
    fragment: "cannot be combined with gpu (gpu: 1, inf: 1)",
  },
  {
    title: "min_replicas below 0",
    yaml: `- name: iris\n${PREDICTOR}\n  autoscaling:\n    min_replicas: -1`,
    path: "iris.autoscaling.min_replicas",
    line: 6,
    fragment: "must be greater than or equal to 0 (got -1)",
  },
  {
    title: "scale_to_zero_after without min_replicas 0",
    yaml: `- name: iris\n${PREDICTOR}\n  autoscaling:\n    min_replicas: 1\n    scale_to_zero_after: 5m`,
    path: "iris.autoscaling.scale_to_zero_after",
    line: 7,
    fragment: "applies only with min_replicas: 0 (got min_replicas 1)",
  },
  {
    title: "scale_to_zero_after under one autoscaler tick",
    yaml: `- name: iris\n${PREDICTOR}\n  autoscaling:\n    min_replicas: 0\n    scale_to_zero_after: 5s`,
    path: "iris.autoscaling.scale_to_zero_after",
    line: 7,
    fragment: "must be between 10s (one autoscaler tick) and 24h (got 5s)",
  },
  {
    title: "min_replicas above max_replicas",
    yaml: `- name: iris\n${PREDICTOR}\n  autoscaling:\n    min_replicas: 3\n    max_replicas: 2`,
    path: "iris.autoscaling.min_replicas",
    line: 6,
    fragment: "min_replicas cannot be greater than max_replicas (3 > 2)",
  },
  {
    title: "init_replicas below min_replicas",
    yaml: `- name: iris\n${PREDICTOR}\n  autoscaling:\n    min_replicas: 2\n    init_replicas: 1`,
    path: "iris.autoscaling.init_replicas",
    line: 7,
    fragment: "init_replicas cannot be less than min_replicas (1 < 2)",
  },
  {
    title: "init_replicas above max_replicas",
    yaml: `- name: iris\n${PREDICTOR}\n  autoscaling:\n    max_replicas: 4\n    init_replicas: 5`,
    path: "iris.autoscaling.init_replicas",
    line: 7,
    fragment: "init_replicas cannot be greater than max_replicas (5 > 4)",
  },
  {
    title: "window not a multiple of 10s",
    yaml: `- name: iris\n${PREDICTOR}\n  autoscaling:\n    window: 15s`,
    path: "iris.autoscaling.window",
    line: 6,
    fragment: "15s is not a multiple of 10s",
  },
  {
    title: "window below 10s",
    yaml: `- name: iris\n${PREDICTOR}\n  autoscaling:\n    window: 5s`,
    path: "iris.autoscaling.window",
    line: 6,
    fragment: "must be greater than or equal to 10s (got 5s)",
  },
  {
    title: "window that is not a Go duration",
    yaml: `- name: iris\n${PREDICTOR}\n  autoscaling:\n    window: 1 minute`,
    path: "iris.autoscaling.window",
    line: 6,
    fragment: "1 minute: invalid duration",
  },
  {
    title: "negative stabilization period",
    yaml: `- name: iris\n${PREDICTOR}\n  autoscaling:\n    upscale_stabilization_period: -1m`,
    path: "iris.autoscaling.upscale_stabilization_period",
    line: 6,
    fragment: "must be greater than or equal to 0s (got -1m)",
  },
  {
    title: "max_downscale_factor of 1",
    yaml: `- name: iris\n${PREDICTOR}\n  autoscaling:\n    max_downscale_factor: 1`,
    path: "iris.autoscaling.max_downscale_factor",
    line: 6,
    fragment: "must be less than 1 (got 1)",
  },
  {
    title: "max_upscale_factor of 1",
    yaml: `- name: iris\n${PREDICTOR}\n  autoscaling:\n    max_upscale_factor: 1`,
    path: "iris.autoscaling.max_upscale_factor",
    line: 6,
    fragment: "must be greater than 1 (got 1)",
  },
  {
    title: "max_replica_concurrency above 65535",
    yaml: `- name: iris\n${PREDICTOR}\n  autoscaling:\n    max_replica_concurrency: 70000`,
    path: "iris.autoscaling.max_replica_concurrency",
    line: 6,
    fragment: "must be less than or equal to 65535 (got 70000)",
  },
  {
    title: "target_replica_concurrency above max_replica_concurrency",
    yaml: `- name: iris\n${PREDICTOR}\n  autoscaling:\n    target_replica_concurrency: 10\n    max_replica_concurrency: 5`,
    path: "iris.autoscaling.target_replica_concurrency",
    line: 6,
    fragment: "target_replica_concurrency (10) cannot be greater than max_replica_concurrency (5)",
  },
  {
    title: "defaulted target above max_replica_concurrency",
    yaml: `- name: iris\n${PREDICTOR}\n    processes_per_replica: 4\n    threads_per_process: 4\n  autoscaling:\n    max_replica_concurrency: 8`,
    path: "iris.autoscaling.target_replica_concurrency",
    line: 7,
    fragment:
      "(16) cannot be greater than max_replica_concurrency (8) (it defaults to processes_per_replica × threads_per_process)",
  },
  {
    title: "max_batch_size above processes × threads",
    yaml: `- name: iris\n${PREDICTOR}\n    threads_per_process: 4\n    server_side_batching:\n      max_batch_size: 8\n      batch_interval: 100ms`,
    path: "iris.predictor.server_side_batching.max_batch_size",
    line: 7,
    fragment:
      "max_batch_size cannot be greater than processes_per_replica × threads_per_process (8 > 4)",
  },
  {
    title: "max_batch_size of 1",
    yaml: `- name: iris\n${PREDICTOR}\n    server_side_batching:\n      max_batch_size: 1\n      batch_interval: 100ms`,
    path: "iris.predictor.server_side_batching.max_batch_size",
    line: 6,
    fragment: "must be greater than or equal to 2 (got 1)",
  },
  {
    title: "batch_interval of 0",
    yaml: `- name: iris\n${PREDICTOR}\n    threads_per_process: 8\n    server_side_batching:\n      max_batch_size: 8\n      batch_interval: 0s`,
    path: "iris.predictor.server_side_batching.batch_interval",
    line: 8,
    fragment: "must be greater than 0s (got 0s)",
  },
  {
    title: "predictor timeout of 0",
    yaml: `- name: iris\n${PREDICTOR}\n    timeout: 0s`,
    path: "iris.predictor.timeout",
    line: 5,
    fragment: "must be greater than 0s (got 0s)",
  },
  {
    title: "predictor timeout above 24h",
    yaml: `- name: iris\n${PREDICTOR}\n    timeout: 25h`,
    path: "iris.predictor.timeout",
    line: 5,
    fragment: "must be at most 24h (got 25h)",
  },
  {
    title: "batch_interval not shorter than the timeout",
    yaml: `- name: iris\n${PREDICTOR}\n    threads_per_process: 8\n    timeout: 3s\n    server_side_batching:\n      max_batch_size: 8\n      batch_interval: 6s`,
    path: "iris.predictor.server_side_batching.batch_interval",
    line: 9,
    fragment: "batch_interval (6s) must be shorter than predictor.timeout (3s)",
  },
  {
    title: "batch_interval not shorter than the default timeout (and past setTimeout's range)",
    yaml: `- name: iris\n${PREDICTOR}\n    threads_per_process: 8\n    server_side_batching:\n      max_batch_size: 8\n      batch_interval: 1000h`,
    path: "iris.predictor.server_side_batching.batch_interval",
    line: 8,
    fragment: "batch_interval (1000h) must be shorter than predictor.timeout (60s, the default)",
  },
  {
    title: "monitoring without a model_type",
    yaml: `- name: iris\n${PREDICTOR}\n  monitoring:\n    key: label`,
    path: "iris.monitoring",
    line: 6,
    fragment: "model_type is required (classification or regression)",
  },
  {
    title: "max_surge and max_unavailable both zero",
    yaml: `- name: iris\n${PREDICTOR}\n  update_strategy:\n    max_surge: 0\n    max_unavailable: 0%`,
    path: "iris.update_strategy",
    line: 6,
    fragment: "max_surge and max_unavailable cannot both be 0",
  },
  {
    title: "max_surge above 100%",
    yaml: `- name: iris\n${PREDICTOR}\n  update_strategy:\n    max_surge: 150%`,
    path: "iris.update_strategy.max_surge",
    line: 6,
    fragment:
      'must be a whole number of replicas (e.g. 1) or a percentage from 0% to 100% (e.g. 25%) (got "150%")',
  },
  {
    title: "negative max_unavailable",
    yaml: `- name: iris\n${PREDICTOR}\n  update_strategy:\n    max_unavailable: -1`,
    path: "iris.update_strategy.max_unavailable",
    line: 6,
    fragment: "must be greater than or equal to 0 (got -1)",
  },
  {
    title: "canary traffic_percent of 100",
    yaml: `- name: iris\n${PREDICTOR}\n  update_strategy:\n    canary:\n      traffic_percent: 100`,
    path: "iris.update_strategy.canary.traffic_percent",
    line: 7,
    fragment: "must be less than or equal to 99 (got 100)",
  },
  {
    title: "canary bake_time in seconds",
    yaml: `- name: iris\n${PREDICTOR}\n  update_strategy:\n    canary:\n      bake_time: 90s`,
    path: "iris.update_strategy.canary.bake_time",
    line: 7,
    fragment:
      "must be a whole number of minutes (got 90s): ECS bakes a canary in minutes; e.g. use 2m",
  },
  {
    title: "canary bake_time above 24h",
    yaml: `- name: iris\n${PREDICTOR}\n  update_strategy:\n    canary:\n      bake_time: 25h`,
    path: "iris.update_strategy.canary.bake_time",
    line: 7,
    fragment: "must be at most 24h (got 25h)",
  },
  {
    title: "canary with an unknown key",
    yaml: `- name: iris\n${PREDICTOR}\n  update_strategy:\n    canary:\n      percent: 5`,
    path: "iris.update_strategy.canary.percent",
    line: 7,
    fragment: "key percent is not supported",
  },
  {
    title: "endpoint of just /",
    yaml: `- name: iris\n${PREDICTOR}\n  networking:\n    endpoint: /`,
    path: "iris.networking.endpoint",
    line: 6,
    fragment: "a path must be specified",
  },
  {
    title: "endpoint with //",
    yaml: `- name: iris\n${PREDICTOR}\n  networking:\n    endpoint: /models//iris`,
    path: "iris.networking.endpoint",
    line: 6,
    fragment: "must not contain //",
  },
  {
    title: "endpoint with a query string",
    yaml: `- name: iris\n${PREDICTOR}\n  networking:\n    endpoint: /iris?v=1`,
    path: "iris.networking.endpoint",
    line: 6,
    fragment: "must contain only letters, digits, _, -, . and /",
  },
  {
    title: "local_port of 0",
    yaml: `- name: iris\n${PREDICTOR}\n  networking:\n    local_port: 0`,
    path: "iris.networking.local_port",
    line: 6,
    fragment: "must be greater than 0 (got 0)",
  },
  {
    title: "api_gateway not public/none",
    yaml: `- name: iris\n${PREDICTOR}\n  networking:\n    api_gateway: private`,
    path: "iris.networking.api_gateway",
    line: 6,
    fragment: 'must be one of public, none (got "private")',
  },
  {
    title: "auth not none/api_key",
    yaml: `- name: iris\n${PREDICTOR}\n  networking:\n    auth: token`,
    path: "iris.networking.auth",
    line: 6,
    fragment: 'must be none or api_key (got "token")',
  },
  {
    title: "env name with the CORTEX_ prefix",
    yaml: `- name: iris\n${PREDICTOR}\n    env:\n      CORTEX_VERSION: "0.20"`,
    path: "iris.predictor.env.CORTEX_VERSION",
    line: 6,
    fragment: "environment variable names starting with CORTEX_ are reserved",
  },
  {
    title: "env name with the AXON_ prefix",
    yaml: `- name: iris\n${PREDICTOR}\n    env:\n      AXON_TOKEN: x`,
    path: "iris.predictor.env.AXON_TOKEN",
    line: 6,
    fragment: "environment variable names starting with AXON_ are reserved",
  },
  {
    title: "env value that is a number",
    yaml: `- name: iris\n${PREDICTOR}\n    env:\n      WORKERS: 4`,
    path: "iris.predictor.env.WORKERS",
    line: 6,
    fragment: 'must be a string (got 4); quote it to pass it as text, e.g. "4"',
  },
  {
    title: "duration written as a bare number",
    yaml: `- name: iris\n${PREDICTOR}\n  autoscaling:\n    window: 60`,
    path: "iris.autoscaling.window",
    line: 6,
    fragment: "must be a duration with a unit, e.g. 60s or 1m (got 60)",
  },
  {
    title: "config that is a list",
    yaml: `- name: iris\n${PREDICTOR}\n    config: [a, b]`,
    path: "iris.predictor.config",
    line: 5,
    fragment: "must be a map (got a list)",
  },
  {
    title: "explicit null section",
    yaml: `- name: iris\n${PREDICTOR}\n  autoscaling: null`,
    path: "iris.autoscaling",
    line: 5,
    fragment: "cannot be null (specify a value, or remove the key to use the default value)",
  },
  {
    title: "unknown monitoring model_type",
    yaml: `- name: iris\n${PREDICTOR}\n  monitoring:\n    model_type: clustering`,
    path: "iris.monitoring.model_type",
    line: 6,
    fragment: 'must be one of classification, regression (got "clustering")',
  },
  {
    title: "absolute predictor.path",
    yaml: `- name: iris\n  predictor:\n    type: python\n    path: /home/me/predictor.py`,
    path: "iris.predictor.path",
    line: 4,
    fragment: 'must be relative to the project folder (got "/home/me/predictor.py")',
  },
  {
    title: "predictor.path outside the project",
    yaml: `- name: iris\n  predictor:\n    type: python\n    path: ../shared/predictor.py`,
    path: "iris.predictor.path",
    line: 4,
    fragment: "must stay inside the project folder",
  },
  {
    title: "predictor.path that is not a .py file",
    yaml: `- name: iris\n  predictor:\n    type: python\n    path: predictor`,
    path: "iris.predictor.path",
    line: 4,
    fragment: "must be a Python file ending in .py",
  },
  {
    title: "predictor.path missing from the project",
    yaml: `- name: iris\n  predictor:\n    type: python\n    path: ./src/predictor.py`,
    path: "iris.predictor.path",
    line: 4,
    fragment:
      "file src/predictor.py does not exist in the project (paths are relative to the folder that holds axon.yaml)",
    options: { fileExists: () => false },
  },
  {
    title: "python_path folder missing from the project",
    yaml: `- name: iris\n${PREDICTOR}\n    python_path: lib/`,
    path: "iris.predictor.python_path",
    line: 5,
    fragment: "folder lib does not exist in the project",
    options: { fileExists: (path) => path === "predictor.py" },
  },
  {
    title: "legacy endpoint next to networking.endpoint",
    yaml: `- name: iris\n  endpoint: /old\n${PREDICTOR}\n  networking:\n    endpoint: /new`,
    path: "iris.endpoint",
    line: 2,
    fragment: "cannot be combined with networking.endpoint",
  },
  {
    title: "legacy workers_per_replica out of range (reported where it was written)",
    yaml: `- name: iris\n${PREDICTOR}\n  autoscaling:\n    workers_per_replica: 0`,
    path: "iris.autoscaling.workers_per_replica",
    line: 6,
    fragment: "must be greater than or equal to 1 (got 0)",
  },
  {
    title: "entry that is not a map",
    yaml: `- name: iris\n${PREDICTOR}\n- just-a-string`,
    path: "[1]",
    line: 5,
    fragment:
      'must be a map describing one API, e.g. "- name: iris-classifier" (got "just-a-string")',
  },
  {
    title: "duplicate names",
    yaml: `- name: iris\n${PREDICTOR}\n- name: iris\n${PREDICTOR}\n  networking:\n    endpoint: /iris-2`,
    path: "iris.name",
    line: 5,
    fragment: "name iris must be unique across APIs (also defined at line 1)",
  },
  {
    title: "duplicate endpoints after canonicalisation",
    yaml: `- name: iris\n${PREDICTOR}\n- name: iris-v2\n${PREDICTOR}\n  networking:\n    endpoint: iris/`,
    path: "iris-v2.networking.endpoint",
    line: 10,
    fragment: "endpoint /iris must be unique across APIs (also used by iris at line 1)",
  },
  {
    title: "duplicate local ports",
    yaml: `- name: a\n${PREDICTOR}\n  networking:\n    local_port: 9000\n- name: b\n${PREDICTOR}\n  networking:\n    local_port: 9000`,
    path: "b.networking.local_port",
    line: 12,
    fragment: "local_port 9000 is already used by a at line 6",
  },
  {
    title: "YAML syntax error",
    yaml: `- name: iris\n  predictor: {type: python, path: predictor.py\n  compute:\n    cpu: 1`,
    path: "",
    line: 3,
    fragment: "invalid YAML",
  },
  {
    title: "duplicate YAML key",
    yaml: `- name: iris\n  name: iris-2\n${PREDICTOR}`,
    path: "iris",
    line: 2,
    fragment: "repeats the key name in the same map; remove one of the two",
  },
  {
    title: "several YAML documents",
    yaml: `- name: a\n${PREDICTOR}\n---\n- name: b\n${PREDICTOR}`,
    path: "",
    line: 5,
    fragment: "holds several YAML documents",
  },
  {
    title: "single API written as a map",
    yaml: `name: iris\npredictor:\n  type: python\n  path: predictor.py`,
    path: "",
    line: 1,
    fragment:
      'must contain a list of APIs, but holds a single map; put "- " in front of its first key',
  },
  {
    title: "scalar file",
    yaml: `iris`,
    path: "",
    line: 1,
    fragment: 'must contain a list of APIs, each item starting with "- name: …" (got "iris")',
  },
  {
    title: "empty list",
    yaml: `[]`,
    path: "",
    line: 1,
    fragment: "must contain at least one API",
  },
];

describe("parseApiConfig rejects broken configs", () => {
  it.each(BROKEN)("Given $title, When parsed, Then it names $path at line $line", (testCase) => {
    // Given a config with one problem
    // When it is parsed
    const problems = problemsOf(testCase.yaml, testCase.options);
    // Then a diagnostic names the field, its line, and says what is wrong
    const match = problems.find((problem) => problem.message.includes(testCase.fragment));
    expect(match, JSON.stringify(problems, null, 2)).toBeDefined();
    expect(match).toMatchObject({ file: "axon.yaml", path: testCase.path, line: testCase.line });
    expect(match?.column).toBeGreaterThanOrEqual(1);
  });

  it("Given update_strategy.canary with and without values, When parsed, Then the spec carries the canary with ECS's defaults and canonical durations, and specs without it have no canary key", () => {
    // Given three APIs: a canary with defaults, one with values, and none
    const yaml = [
      "- name: iris",
      PREDICTOR,
      "  update_strategy:",
      "    canary: {}",
      "- name: sentiment",
      PREDICTOR,
      "  update_strategy:",
      "    canary:",
      "      traffic_percent: 20",
      "      bake_time: 1h30m",
      "- name: plain",
      PREDICTOR,
    ].join("\n");
    // When it is parsed
    const [iris, sentiment, plain] = parseApiConfig(yaml, "axon.yaml").apis;
    // Then the defaults are 5% for 10 minutes, durations are canonical, and no canary stays absent
    expect(iris?.update_strategy.canary).toEqual({ traffic_percent: 5, bake_time: "10m0s" });
    expect(sentiment?.update_strategy.canary).toEqual({
      traffic_percent: 20,
      bake_time: "1h30m0s",
    });
    expect(plain?.update_strategy).toEqual({ max_surge: "25%", max_unavailable: "25%" });
    expect("canary" in (plain?.update_strategy ?? {})).toBe(false);
  });

  it("Given an empty file, When parsed, Then it says the file is empty", () => {
    const problems = problemsOf("# nothing here yet\n");
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toContain("is empty: it must contain a list of APIs");
  });

  it("Given several problems in several APIs, When parsed, Then all are reported at once, in file order", () => {
    // Given three APIs with five independent problems
    const yaml = [
      "- name: iris", //                       1
      "  predictor:", //                        2
      "    type: python", //                    3
      "    path: predictor.py", //              4
      "    threads_per_process: 0", //          5  threads_per_process ≥ 1
      "  compute:", //                          6
      "    cpu: 5m", //                         7  cpu ≥ 20m
      "  autoscaling:", //                      8
      "    min_replicas: 5", //                 9  min > max
      "    max_replicas: 2", //                 10
      "- name: bad_name", //                    11 name pattern
      `${PREDICTOR}`, //                        12-14
      "- name: other", //                       15
      "  predictor:", //                        16 path missing
      "    type: python", //                    17
      "  update_strategy:", //                  18
      "    max_surge: 0", //                    19
      "    max_unavailable: 0", //              20 both zero
    ].join("\n");
    // When it is parsed
    const problems = problemsOf(yaml);
    // Then every problem is there, sorted by line
    expect(problems.map((problem) => [problem.path, problem.line])).toEqual([
      ["iris.predictor.threads_per_process", 5],
      ["iris.compute.cpu", 7],
      ["iris.autoscaling.min_replicas", 9],
      ["bad_name.name", 11],
      ["other.predictor.path", 16],
      ["other.update_strategy", 19],
    ]);
  });

  it("Given a ConfigError, When shown, Then its message lists every problem as file:line:column", () => {
    try {
      parseApiConfig(
        `- name: iris\n${PREDICTOR}\n  compute:\n    cpu: 1m\n    gpu: -1`,
        "cortex.yaml",
      );
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const { message, code } = error as ConfigError;
      expect(code).toBe("config.invalid");
      expect(message).toContain("cortex.yaml: 2 problems found:");
      expect(message).toContain(
        "cortex.yaml:6:10: iris.compute.cpu: must be greater than or equal to 20m (got 1m)",
      );
      expect(message).toContain(
        "cortex.yaml:7:10: iris.compute.gpu: must be greater than or equal to 0 (got -1)",
      );
    }
  });
});

describe("parseApiConfig resolves specs", () => {
  it("Given a minimal API, When parsed, Then every default is filled in", () => {
    // Given the smallest valid config
    const yaml = `- name: iris-classifier\n  kind: RealtimeAPI\n${PREDICTOR}`;
    // When it is parsed
    const { apis, deprecations } = parseApiConfig(yaml, "axon.yaml");
    // Then the spec carries Cortex 0.20's defaults in canonical form
    const expected: ApiSpec = {
      name: "iris-classifier",
      kind: "RealtimeAPI",
      predictor: {
        type: "python",
        path: "predictor.py",
        processes_per_replica: 1,
        threads_per_process: 1,
        config: {},
        python_path: null,
        image: null,
        env: {},
        server_side_batching: null,
      },
      compute: { cpu: "200m", gpu: 0, inf: 0, mem: null },
      autoscaling: {
        min_replicas: 1,
        max_replicas: 100,
        init_replicas: 1,
        target_replica_concurrency: 1,
        max_replica_concurrency: 1024,
        window: "1m0s",
        downscale_stabilization_period: "5m0s",
        upscale_stabilization_period: "1m0s",
        max_downscale_factor: 0.75,
        max_upscale_factor: 1.5,
        downscale_tolerance: 0.05,
        upscale_tolerance: 0.05,
      },
      update_strategy: { max_surge: "25%", max_unavailable: "25%" },
      networking: {
        endpoint: "/iris-classifier",
        local_port: null,
        api_gateway: "public",
        auth: "none",
      },
      monitoring: null,
    };
    expect(apis).toEqual([expected]);
    expect(deprecations).toEqual([]);
  });

  it("Given a predictor timeout (an Axon extension), When parsed, Then it is canonical, and absent without one", () => {
    const [withTimeout] = parseApiConfig(
      `- name: iris\n${PREDICTOR}\n    timeout: 90s`,
      "axon.yaml",
    ).apis;
    expect(withTimeout?.predictor.timeout).toBe("1m30s");
    const [without] = parseApiConfig(`- name: iris\n${PREDICTOR}`, "axon.yaml").apis;
    expect(without?.predictor).not.toHaveProperty("timeout");
  });

  it("Given min_replicas 0, When parsed, Then it starts with one replica and scales to zero after 15m by default", () => {
    const [spec] = parseApiConfig(
      `- name: iris\n${PREDICTOR}\n  autoscaling:\n    min_replicas: 0\n`,
      "axon.yaml",
    ).apis;
    expect(spec?.autoscaling).toMatchObject({
      min_replicas: 0,
      init_replicas: 1,
      scale_to_zero_after: "15m0s",
    });
    // And an API that does not idle at zero has no such key (its spec hash is unchanged)
    const [other] = parseApiConfig(`- name: iris\n${PREDICTOR}\n`, "axon.yaml").apis;
    expect(other?.autoscaling).not.toHaveProperty("scale_to_zero_after");
  });

  it("Given derived defaults, When parsed, Then init_replicas follows min_replicas and the target is processes × threads", () => {
    const yaml = `- name: iris\n  kind: RealtimeAPI\n${PREDICTOR}\n    processes_per_replica: 3\n    threads_per_process: 2\n  autoscaling:\n    min_replicas: 4`;
    const [api] = parseApiConfig(yaml, "axon.yaml").apis;
    expect(api?.autoscaling.init_replicas).toBe(4);
    expect(api?.autoscaling.target_replica_concurrency).toBe(6);
  });

  it("Given user spellings, When parsed, Then values are canonical strings and null maps become empty", () => {
    // Given numbers where Cortex cast to strings, and nulls where it substituted defaults
    const yaml = [
      "- name: iris",
      "  kind: RealtimeAPI",
      PREDICTOR,
      "    config:",
      "    env:",
      "    python_path: ./lib/",
      "    server_side_batching:",
      "      max_batch_size: 2",
      "      batch_interval: 0.25s",
      "    threads_per_process: 2",
      "  compute:",
      "    cpu: 1",
      "    mem: 512Mi",
      "  autoscaling:",
      "    window: 90s",
      '    downscale_stabilization_period: "0"',
      "  update_strategy:",
      "    max_surge: 1",
      "    max_unavailable: 0",
      "  networking:",
      "    endpoint: models/iris/",
      "    local_port: 9001",
    ].join("\n");
    // When it is parsed
    const [api] = parseApiConfig(yaml, "axon.yaml").apis;
    // Then the spec is canonical
    expect(api?.predictor.config).toEqual({});
    expect(api?.predictor.env).toEqual({});
    expect(api?.predictor.python_path).toBe("lib");
    expect(api?.predictor.server_side_batching).toEqual({
      max_batch_size: 2,
      batch_interval: "250ms",
    });
    expect(api?.compute).toEqual({ cpu: "1", gpu: 0, inf: 0, mem: "512Mi" });
    expect(api?.autoscaling.window).toBe("1m30s");
    expect(api?.autoscaling.downscale_stabilization_period).toBe("0s");
    expect(api?.update_strategy).toEqual({ max_surge: "1", max_unavailable: "0" });
    expect(api?.networking).toEqual({
      endpoint: "/models/iris",
      local_port: 9001,
      api_gateway: "public",
      auth: "none",
    });
  });

  it("Given project files that exist, When parsed with fileExists, Then paths are checked as normalised project paths", () => {
    const asked: string[] = [];
    const yaml = `- name: iris\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: ./src/predictor.py\n    python_path: src/`;
    const { apis } = parseApiConfig(yaml, "axon.yaml", {
      fileExists: (path) => {
        asked.push(path);
        return true;
      },
    });
    expect(asked).toEqual(["src/predictor.py", "src/"]);
    expect(apis[0]?.predictor.path).toBe("src/predictor.py");
  });
});

describe("parseApiConfig maps legacy Cortex spellings", () => {
  it("Given a Cortex 0.14 file, When parsed, Then old keys are mapped and each spelling is noted once", () => {
    // Given the 0.14-era fixture (two APIs, both using every old spelling)
    const text = readFileSync(new URL("fixtures/cortex-0.14.yaml", import.meta.url), "utf8");
    // When it is parsed
    const { apis, deprecations } = parseApiConfig(text, "cortex.yaml");
    // Then values moved to today's fields
    const [iris, sentiment] = apis;
    expect(iris?.kind).toBe("RealtimeAPI");
    expect(iris?.networking.endpoint).toBe("/iris-classifier");
    expect(iris?.predictor.processes_per_replica).toBe(2);
    expect(iris?.predictor.threads_per_process).toBe(1);
    expect(iris?.predictor.config).toEqual({
      bucket: "cortex-examples",
      key: "sklearn/iris-classifier/model.pkl",
    });
    expect(iris?.monitoring).toEqual({ model_type: "classification", key: null });
    expect(iris?.compute).toEqual({ cpu: "0.2", gpu: 0, inf: 0, mem: "200M" });
    expect(iris?.autoscaling.target_replica_concurrency).toBe(2);
    expect(iris?.autoscaling.downscale_stabilization_period).toBe("5m0s");
    expect(iris?.autoscaling.upscale_stabilization_period).toBe("0s");
    expect(iris?.update_strategy).toEqual({ max_surge: "1", max_unavailable: "0" });
    expect(sentiment?.networking.endpoint).toBe("/sentiment");
    expect(sentiment?.predictor.threads_per_process).toBe(4);
    expect(sentiment?.predictor.python_path).toBe("sentiment");
    expect(sentiment?.monitoring).toEqual({ model_type: "classification", key: "label" });
    expect(sentiment?.update_strategy).toEqual({ max_surge: "50%", max_unavailable: "0%" });
    // And each old spelling is reported once, at its first use, counting the other API
    expect(deprecations.map((note) => [note.path, note.line])).toEqual([
      ["iris-classifier", 4],
      ["iris-classifier.endpoint", 5],
      ["iris-classifier.tracker", 12],
      ["iris-classifier.autoscaling.workers_per_replica", 20],
      ["iris-classifier.autoscaling.threads_per_worker", 21],
    ]);
    expect(deprecations[0]?.message).toContain("kind is missing");
    expect(deprecations[1]?.message).toContain("networking.endpoint");
    for (const note of deprecations) expect(note.message).toMatch(/\(also in 1 more API\)$/);
  });

  it("Given a Cortex 0.20 file, When parsed, Then it is accepted unchanged with only the image note", () => {
    const text = readFileSync(new URL("fixtures/cortex-0.20.yaml", import.meta.url), "utf8");
    const { apis, deprecations } = parseApiConfig(text, "cortex.yaml");
    expect(apis.map((api) => [api.name, api.networking.endpoint])).toEqual([
      ["iris-classifier", "/iris"],
      ["text-generator", "/text-generator"],
    ]);
    expect(apis[0]?.autoscaling).toMatchObject({
      init_replicas: 3,
      window: "1m0s",
      upscale_stabilization_period: "30s",
    });
    expect(apis[1]?.autoscaling).toMatchObject({
      min_replicas: 1,
      init_replicas: 1,
      window: "2m30s",
    });
    expect(apis[1]?.compute).toEqual({ cpu: "1", gpu: 1, inf: 0, mem: "4G" });
    expect(deprecations).toHaveLength(1);
    expect(deprecations[0]).toMatchObject({ path: "text-generator.predictor.image", line: 49 });
    expect(deprecations[0]?.message).toContain("image is ignored by the local provider");
  });

  it("Given kind SyncAPI, When parsed, Then it is read as RealtimeAPI with a note", () => {
    const { apis, deprecations } = parseApiConfig(
      `- name: iris\n  kind: SyncAPI\n${PREDICTOR}`,
      "axon.yaml",
    );
    expect(apis[0]?.kind).toBe("RealtimeAPI");
    expect(deprecations).toEqual([
      expect.objectContaining({
        path: "iris.kind",
        line: 2,
        message: expect.stringContaining("SyncAPI"),
      }),
    ]);
  });
});
