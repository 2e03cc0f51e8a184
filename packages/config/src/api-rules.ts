/**
 * Rules a JSON Schema cannot express, run on one API map after schema validation (defaults already
 * filled): quantity and duration bounds, cross-field limits, endpoint canonicalisation, reserved env
 * names and project files. Every rule only reads fields that passed the schema, so one bad value
 * never hides or garbles the report on another; all problems are reported together.
 * `buildApiSpec` then turns a clean map into the resolved `ApiSpec`.
 */

import { posix } from "node:path";
import {
  type ApiSpec,
  type AutoscalingSpec,
  DEFAULT_PREDICTOR_TIMEOUT_MS,
  DEFAULT_SCALE_TO_ZERO_AFTER,
  MAX_CANARY_BAKE_MS,
  MAX_PREDICTOR_TIMEOUT_MS,
} from "./api-spec.js";
import { closestMatch } from "./did-you-mean.js";
import { formatDuration, parseDuration } from "./duration.js";
import { canonicalizeEndpoint } from "./endpoint.js";
import { parseQuantity } from "./quantity.js";
import type { FieldPath } from "./schema.js";

/** What the rules need from the caller: the API map, which fields are sound, and where to report. */
export interface ApiRuleContext {
  /** One API map after legacy rewrites and schema defaults. */
  api: Record<string, unknown>;
  /** False when the schema already reported a problem at `path` or one of its parents. */
  isSound(path: FieldPath): boolean;
  report(path: FieldPath, message: string): void;
  /** Non-fatal notes (returned alongside deprecations). */
  note(path: FieldPath, message: string): void;
  /** Name of the config file, for messages about project-relative paths. */
  configFileName: string;
  /** Project file check; a path ending in `/` asks about a folder. */
  fileExists?: (relativePath: string) => boolean;
  /** The project's files (POSIX paths), for a "did you mean" when a named file is missing. */
  projectFiles?: readonly string[];
}

/** Facts the file-wide checks (duplicates) need from each API. */
export interface ApiFacts {
  /** Canonical endpoint, when it could be worked out. */
  endpoint?: string;
  localPort?: number;
}

const MIN_CPU_CORES = 0.02;
/** Far above any one machine or Fargate task (16 vCPU, 120 GiB); a typo, not a plan, beyond. */
const MAX_CPU_CORES = 512;
const MIN_MEM_BYTES = 20 * 1024 * 1024;
const MAX_MEM_BYTES = 4 * 1024 ** 4;
const AUTOSCALING_TICK_MS = 10_000;
const MAX_WINDOW_MS = 3_600_000;
const MAX_STABILIZATION_MS = 24 * 3_600_000;
const RESERVED_ENV_PREFIXES = ["CORTEX_", "AXON_"];
/**
 * Variables that change how the interpreter or the dynamic loader start, which the platform owns
 * (a preloaded library runs in every process before the runtime, and differs on Fargate).
 * `PYTHONPATH` is not among them: the runtime's folder is put first and the user's follow.
 */
const RESERVED_ENV_NAMES = new Set(["LD_PRELOAD", "LD_AUDIT", "PYTHONHOME"]);
/** Kubernetes' rule for container env names (what Cortex passed through). */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
/** Far above any real name; the schema states it too (`propertyNames.maxLength`). */
export const MAX_ENV_NAME_LENGTH = 256;
/**
 * Linux refuses to start a process (`E2BIG`) when one `NAME=value` string of its environment is
 * longer than MAX_ARG_STRLEN, 32 pages = 131072 bytes counting the final NUL, or when its
 * arguments and environment together pass ARG_MAX (a quarter of the stack limit, 2 MiB by
 * default). See "Limits on size of arguments and environment" in execve(2):
 * https://man7.org/linux/man-pages/man2/execve.2.html
 */
export const MAX_ENV_STRING_BYTES = 131_072;
/**
 * Bytes of `predictor.env` and `predictor.config` (which reaches the worker as the variable
 * AXON_PREDICTOR_CONFIG) together: half of the default ARG_MAX, leaving the other half for the
 * daemon's own environment and the runtime's variables.
 */
export const MAX_ENV_TOTAL_BYTES = 1024 * 1024;
/** How the worker receives `predictor.config` (packages/control-plane replica/worker-pool.ts). */
const CONFIG_ENV_NAME = "AXON_PREDICTOR_CONFIG";

/** Runs every cross-field and bounds rule on one API, reporting through `ctx`. */
export function checkApiRules(ctx: ApiRuleContext): ApiFacts {
  checkCompute(ctx);
  checkDurations(ctx);
  checkConcurrency(ctx);
  checkReplicaCounts(ctx);
  checkUpdateStrategy(ctx);
  checkCanary(ctx);
  checkEnv(ctx);
  checkEnvironmentSize(ctx);
  checkMonitoring(ctx);
  checkProjectPaths(ctx);
  if (typeof read(ctx, ["predictor", "image"]) === "string") {
    ctx.note(
      ["predictor", "image"],
      "image is ignored by the local provider: predictors run with the local Python interpreter",
    );
  }
  const localPort = read(ctx, ["networking", "local_port"]);
  return {
    endpoint: resolveEndpoint(ctx),
    localPort: typeof localPort === "number" ? localPort : undefined,
  };
}

function checkCompute(ctx: ApiRuleContext): void {
  const cpu = read(ctx, ["compute", "cpu"]);
  if (typeof cpu === "number" || typeof cpu === "string") {
    checkQuantityRange(
      ctx,
      ["compute", "cpu"],
      String(cpu),
      [MIN_CPU_CORES, "20m"],
      [MAX_CPU_CORES, "512"],
    );
  }
  const mem = read(ctx, ["compute", "mem"]);
  if (typeof mem === "string")
    checkQuantityRange(
      ctx,
      ["compute", "mem"],
      mem,
      [MIN_MEM_BYTES, "20Mi"],
      [MAX_MEM_BYTES, "4Ti"],
    );
  const gpu = readNumber(ctx, ["compute", "gpu"]);
  const inf = readNumber(ctx, ["compute", "inf"]);
  if (gpu !== undefined && inf !== undefined && gpu > 0 && inf > 0) {
    ctx.report(
      ["compute", "inf"],
      `cannot be combined with gpu (gpu: ${gpu}, inf: ${inf}); a replica uses either GPUs or Inferentia chips`,
    );
  }
}

function checkQuantityRange(
  ctx: ApiRuleContext,
  path: FieldPath,
  text: string,
  [minimum, minimumText]: [number, string],
  [maximum, maximumText]: [number, string],
): void {
  let value: number;
  try {
    value = parseQuantity(text);
  } catch (error) {
    // Numbers skip the schema's string format check (e.g. `.inf`), so parse errors land here.
    ctx.report(path, errorMessage(error));
    return;
  }
  if (value < minimum)
    ctx.report(path, `must be greater than or equal to ${minimumText} (got ${text})`);
  else if (!(value <= maximum))
    ctx.report(path, `must be less than or equal to ${maximumText} (got ${text})`);
}

function checkDurations(ctx: ApiRuleContext): void {
  const window = readDuration(ctx, ["autoscaling", "window"]);
  if (window !== undefined) {
    if (window.ms < AUTOSCALING_TICK_MS) {
      ctx.report(
        ["autoscaling", "window"],
        `must be greater than or equal to 10s (got ${window.text})`,
      );
    } else if (window.ms > MAX_WINDOW_MS) {
      ctx.report(
        ["autoscaling", "window"],
        `must be less than or equal to 1h (got ${window.text})`,
      );
    } else if (window.ms % AUTOSCALING_TICK_MS !== 0) {
      ctx.report(
        ["autoscaling", "window"],
        `${window.text} is not a multiple of 10s (the autoscaler samples every 10s; e.g. use ${formatDuration(Math.round(window.ms / AUTOSCALING_TICK_MS) * AUTOSCALING_TICK_MS)})`,
      );
    }
  }
  for (const key of ["downscale_stabilization_period", "upscale_stabilization_period"]) {
    const period = readDuration(ctx, ["autoscaling", key]);
    if (period !== undefined && period.ms < 0) {
      ctx.report(["autoscaling", key], `must be greater than or equal to 0s (got ${period.text})`);
    } else if (period !== undefined && period.ms > MAX_STABILIZATION_MS) {
      ctx.report(["autoscaling", key], `must be less than or equal to 24h (got ${period.text})`);
    }
  }
  const timeout = readDuration(ctx, ["predictor", "timeout"]);
  if (timeout !== undefined && timeout.ms <= 0) {
    ctx.report(["predictor", "timeout"], `must be greater than 0s (got ${timeout.text}); e.g. 30s`);
  } else if (timeout !== undefined && timeout.ms > MAX_PREDICTOR_TIMEOUT_MS) {
    ctx.report(
      ["predictor", "timeout"],
      `must be at most 24h (got ${timeout.text}); a prediction that takes longer is a job, not a request`,
    );
  }
  const intervalPath = ["predictor", "server_side_batching", "batch_interval"];
  const interval = readDuration(ctx, intervalPath);
  if (interval !== undefined && interval.ms <= 0) {
    ctx.report(intervalPath, `must be greater than 0s (got ${interval.text}); e.g. 100ms`);
  } else if (interval !== undefined && ctx.isSound(["predictor", "timeout"])) {
    // A request waits up to batch_interval for its batch and its timeout counts from arrival, so
    // a lone request would always time out before its batch left.
    const limit =
      timeout === undefined
        ? {
            ms: DEFAULT_PREDICTOR_TIMEOUT_MS,
            text: `${DEFAULT_PREDICTOR_TIMEOUT_MS / 1000}s, the default`,
          }
        : timeout;
    if (limit.ms > 0 && interval.ms >= limit.ms) {
      ctx.report(
        intervalPath,
        `batch_interval (${interval.text}) must be shorter than predictor.timeout (${limit.text}): a request waits up to batch_interval for its batch, so one arriving alone would time out first; lower batch_interval or raise predictor.timeout`,
      );
    }
  }
}

/** processes × threads: how many requests one replica runs at once. */
function replicaCapacity(ctx: ApiRuleContext): number | undefined {
  const processes = readNumber(ctx, ["predictor", "processes_per_replica"]);
  const threads = readNumber(ctx, ["predictor", "threads_per_process"]);
  return processes === undefined || threads === undefined ? undefined : processes * threads;
}

function checkConcurrency(ctx: ApiRuleContext): void {
  const capacity = replicaCapacity(ctx);
  const targetPath = ["autoscaling", "target_replica_concurrency"];
  const explicitTarget = read(ctx, targetPath);
  let target = typeof explicitTarget === "number" ? explicitTarget : undefined;
  if (explicitTarget === undefined && ctx.isSound(targetPath)) target = capacity;
  const maxConcurrency = readNumber(ctx, ["autoscaling", "max_replica_concurrency"]);
  if (target !== undefined && maxConcurrency !== undefined && target > maxConcurrency) {
    const origin =
      explicitTarget === undefined
        ? " (it defaults to processes_per_replica × threads_per_process)"
        : "";
    ctx.report(
      targetPath,
      `target_replica_concurrency (${target}) cannot be greater than max_replica_concurrency (${maxConcurrency})${origin}; lower the target or raise max_replica_concurrency`,
    );
  }
  const batchPath = ["predictor", "server_side_batching", "max_batch_size"];
  const maxBatchSize = readNumber(ctx, batchPath);
  if (maxBatchSize !== undefined && capacity !== undefined && maxBatchSize > capacity) {
    ctx.report(
      batchPath,
      `max_batch_size cannot be greater than processes_per_replica × threads_per_process (${maxBatchSize} > ${capacity}); a batch is filled by concurrent requests, so raise threads_per_process or lower max_batch_size`,
    );
  }
}

/** A `monitoring` block without a model type would record nothing: say so instead. */
function checkMonitoring(ctx: ApiRuleContext): void {
  const monitoring = read(ctx, ["monitoring"]);
  if (typeof monitoring !== "object" || monitoring === null) return;
  const modelType = read(ctx, ["monitoring", "model_type"]);
  if (modelType === undefined || modelType === null) {
    ctx.report(
      ["monitoring"],
      "model_type is required (classification or regression): without it nothing can be recorded",
    );
  }
}

function checkReplicaCounts(ctx: ApiRuleContext): void {
  const min = readNumber(ctx, ["autoscaling", "min_replicas"]);
  const max = readNumber(ctx, ["autoscaling", "max_replicas"]);
  const init = readNumber(ctx, ["autoscaling", "init_replicas"]);
  if (min !== undefined && max !== undefined && min > max) {
    ctx.report(
      ["autoscaling", "min_replicas"],
      `min_replicas cannot be greater than max_replicas (${min} > ${max})`,
    );
  }
  if (init !== undefined && min !== undefined && init < min) {
    ctx.report(
      ["autoscaling", "init_replicas"],
      `init_replicas cannot be less than min_replicas (${init} < ${min})`,
    );
  }
  const zeroAfter = readDuration(ctx, ["autoscaling", "scale_to_zero_after"]);
  if (zeroAfter !== undefined && min !== undefined && min !== 0) {
    ctx.report(
      ["autoscaling", "scale_to_zero_after"],
      `applies only with min_replicas: 0 (got min_replicas ${min}); set min_replicas to 0 or remove it`,
    );
  } else if (zeroAfter !== undefined && (zeroAfter.ms < 10_000 || zeroAfter.ms > 86_400_000)) {
    ctx.report(
      ["autoscaling", "scale_to_zero_after"],
      `must be between 10s (one autoscaler tick) and 24h (got ${zeroAfter.text})`,
    );
  }
  if (init !== undefined && max !== undefined && init > max) {
    ctx.report(
      ["autoscaling", "init_replicas"],
      `init_replicas cannot be greater than max_replicas (${init} > ${max})`,
    );
  }
}

function checkUpdateStrategy(ctx: ApiRuleContext): void {
  const surge = read(ctx, ["update_strategy", "max_surge"]);
  const unavailable = read(ctx, ["update_strategy", "max_unavailable"]);
  if (surge === undefined || unavailable === undefined) return;
  if (isZeroRollout(surge) && isZeroRollout(unavailable)) {
    ctx.report(
      ["update_strategy"],
      "max_surge and max_unavailable cannot both be 0; an update could never replace a replica (set max_surge to 1 or 25%)",
    );
  }
}

/** ECS bakes a canary for a whole number of minutes, from 0 to 24h (`canaryBakeTimeInMinutes`). */
function checkCanary(ctx: ApiRuleContext): void {
  const path = ["update_strategy", "canary", "bake_time"];
  const bake = readDuration(ctx, path);
  if (bake === undefined) return;
  if (bake.ms < 0) {
    ctx.report(path, `must be greater than or equal to 0m (got ${bake.text})`);
  } else if (bake.ms > MAX_CANARY_BAKE_MS) {
    ctx.report(path, `must be at most 24h (got ${bake.text}); ECS bakes a canary for 24h at most`);
  } else if (bake.ms % 60_000 !== 0) {
    const minutes = Math.max(1, Math.round(bake.ms / 60_000));
    ctx.report(
      path,
      `must be a whole number of minutes (got ${bake.text}): ECS bakes a canary in minutes; e.g. use ${minutes}m`,
    );
  }
}

function isZeroRollout(value: unknown): boolean {
  return Number.parseInt(String(value), 10) === 0;
}

function checkEnv(ctx: ApiRuleContext): void {
  const env = read(ctx, ["predictor", "env"]);
  if (env === null || typeof env !== "object") return;
  for (const [name, value] of Object.entries(env as Record<string, unknown>)) {
    const path = ["predictor", "env", name];
    const prefix = RESERVED_ENV_PREFIXES.find((reserved) => name.startsWith(reserved));
    if (!ENV_NAME.test(name)) {
      ctx.report(
        path,
        `${JSON.stringify(name)} is not a valid environment variable name: use letters, digits, _, - and ., not starting with a digit (e.g. MODEL_NAME)`,
      );
    } else if (prefix !== undefined) {
      ctx.report(
        path,
        `environment variable names starting with ${prefix} are reserved for the platform; rename ${name}`,
      );
    } else if (RESERVED_ENV_NAMES.has(name)) {
      ctx.report(
        path,
        `${name} is reserved: it changes how the interpreter starts, which the platform owns; load what it names from your predictor instead`,
      );
    }
    if (typeof value === "string" && value.includes("\0")) {
      ctx.report(path, `must not contain a NUL character (\\0): no process can receive it`);
    }
    if (typeof value === "string" && name.length <= MAX_ENV_NAME_LENGTH) {
      const bytes = envStringBytes(name, value);
      if (bytes > MAX_ENV_STRING_BYTES) {
        ctx.report(
          path,
          `is ${bytes} bytes as ${name}=value, more than the ${MAX_ENV_STRING_BYTES} bytes Linux passes in one environment variable (execve: E2BIG); put the value in a file of the project and read it in the predictor`,
        );
      }
    }
  }
}

/** `NAME=value` and its NUL, in bytes, as execve counts it. */
function envStringBytes(name: string, value: string): number {
  return Buffer.byteLength(name, "utf8") + 1 + Buffer.byteLength(value, "utf8") + 1;
}

/**
 * What reaches the worker's environment from the config: every `predictor.env` entry and
 * `predictor.config` as JSON. Each string and their sum must fit what execve(2) accepts, or the
 * replica can never start.
 */
function checkEnvironmentSize(ctx: ApiRuleContext): void {
  const config = read(ctx, ["predictor", "config"]);
  let configBytes = 0;
  if (config !== undefined) {
    configBytes = envStringBytes(CONFIG_ENV_NAME, JSON.stringify(config ?? {}));
    if (configBytes > MAX_ENV_STRING_BYTES) {
      ctx.report(
        ["predictor", "config"],
        `is ${configBytes} bytes as JSON, more than the ${MAX_ENV_STRING_BYTES} bytes a worker can receive it in (it is passed as the environment variable ${CONFIG_ENV_NAME}; execve: E2BIG); keep large data in a file of the project and read it in __init__`,
      );
      return;
    }
  }
  const env = read(ctx, ["predictor", "env"]);
  if (env === null || typeof env !== "object") return;
  let total = configBytes;
  for (const [name, value] of Object.entries(env as Record<string, unknown>)) {
    if (typeof value === "string") total += envStringBytes(name, value);
  }
  if (total > MAX_ENV_TOTAL_BYTES) {
    ctx.report(
      ["predictor", "env"],
      `adds up to ${total} bytes with predictor.config, more than the ${MAX_ENV_TOTAL_BYTES} bytes of environment an API may give its workers (Linux's ARG_MAX is 2 MiB for the whole environment; execve: E2BIG); put large values in files of the project`,
    );
  }
}

function checkProjectPaths(ctx: ApiRuleContext): void {
  const where = `paths are relative to the folder that holds ${ctx.configFileName}`;
  const payload = read(ctx, ["predictor", "smoke_test", "payload"]);
  if (typeof payload === "string") {
    const problem = projectPathProblem(payload);
    if (problem !== undefined) ctx.report(["predictor", "smoke_test", "payload"], problem);
    else if (ctx.fileExists !== undefined && !ctx.fileExists(posix.normalize(payload))) {
      ctx.report(
        ["predictor", "smoke_test", "payload"],
        `file ${posix.normalize(payload)} does not exist in the project (${where}); it is the JSON body each new replica sends to its predictor`,
      );
    }
  }
  const path = read(ctx, ["predictor", "path"]);
  if (typeof path === "string") {
    const problem = projectPathProblem(path);
    if (problem !== undefined) {
      ctx.report(["predictor", "path"], problem);
    } else if (!path.endsWith(".py")) {
      ctx.report(
        ["predictor", "path"],
        `must be a Python file ending in .py (got ${JSON.stringify(path)})`,
      );
    } else if (ctx.fileExists !== undefined && !ctx.fileExists(posix.normalize(path))) {
      const wanted = posix.normalize(path);
      const pythonFiles = (ctx.projectFiles ?? []).filter((file) => file.endsWith(".py"));
      const suggestion = closestMatch(wanted, pythonFiles);
      ctx.report(
        ["predictor", "path"],
        `file ${wanted} does not exist in the project (${where})` +
          (suggestion === undefined ? "" : `; did you mean ${suggestion}?`),
      );
    }
  }
  const pythonPath = read(ctx, ["predictor", "python_path"]);
  if (typeof pythonPath === "string" && pythonPath !== "") {
    const problem = projectPathProblem(pythonPath);
    const folder = normalizeFolder(pythonPath);
    if (problem !== undefined) {
      ctx.report(["predictor", "python_path"], problem);
    } else if (folder !== "." && ctx.fileExists !== undefined && !ctx.fileExists(`${folder}/`)) {
      ctx.report(
        ["predictor", "python_path"],
        `folder ${folder} does not exist in the project (${where})`,
      );
    }
  }
}

/** Project paths are relative and stay inside the project (bundles never hold anything else). */
function projectPathProblem(path: string): string | undefined {
  if (path.startsWith("/") || /^[a-zA-Z]:[\\/]/.test(path) || path.startsWith("\\")) {
    return `must be relative to the project folder (got ${JSON.stringify(path)})`;
  }
  if (posix.normalize(path.replaceAll("\\", "/")).split("/")[0] === "..") {
    return `must stay inside the project folder (got ${JSON.stringify(path)})`;
  }
  return undefined;
}

function normalizeFolder(path: string): string {
  return posix.normalize(path).replace(/\/+$/, "") || ".";
}

function resolveEndpoint(ctx: ApiRuleContext): string | undefined {
  const endpoint = read(ctx, ["networking", "endpoint"]);
  if (typeof endpoint === "string") {
    try {
      return canonicalizeEndpoint(endpoint);
    } catch (error) {
      ctx.report(["networking", "endpoint"], errorMessage(error));
      return undefined;
    }
  }
  const name = read(ctx, ["name"]);
  return typeof name === "string" ? `/${name}` : undefined;
}

/**
 * Builds the resolved spec from an API map that passed the schema and every rule. The casts are
 * sound because the schema has checked each field's type and filled its default.
 */
export function buildApiSpec(api: Record<string, unknown>): ApiSpec {
  const raw = api as unknown as ValidatedApi;
  const { predictor, compute, autoscaling, networking } = raw;
  const capacity = predictor.processes_per_replica * predictor.threads_per_process;
  const batching = predictor.server_side_batching;
  const pythonPath = predictor.python_path;
  return {
    name: raw.name,
    kind: "RealtimeAPI",
    predictor: {
      type: "python",
      path: posix.normalize(predictor.path),
      processes_per_replica: predictor.processes_per_replica,
      threads_per_process: predictor.threads_per_process,
      config: predictor.config ?? {},
      python_path:
        pythonPath === undefined || pythonPath === null || pythonPath === ""
          ? null
          : normalizeFolder(pythonPath),
      image: predictor.image ?? null,
      env: predictor.env ?? {},
      server_side_batching:
        batching === undefined || batching === null
          ? null
          : {
              max_batch_size: batching.max_batch_size,
              batch_interval: formatDuration(parseDuration(batching.batch_interval)),
            },
      ...(typeof predictor.timeout === "string"
        ? { timeout: formatDuration(parseDuration(predictor.timeout)) }
        : {}),
      ...(predictor.smoke_test === undefined || predictor.smoke_test === null
        ? {}
        : {
            smoke_test: {
              payload: posix.normalize(predictor.smoke_test.payload),
              expect_status: predictor.smoke_test.expect_status,
              ...(predictor.smoke_test.expect_json === undefined
                ? {}
                : { expect_json: predictor.smoke_test.expect_json }),
            },
          }),
    },
    compute: {
      cpu: String(compute.cpu),
      gpu: compute.gpu,
      inf: compute.inf,
      mem: compute.mem ?? null,
    },
    autoscaling: {
      min_replicas: autoscaling.min_replicas,
      max_replicas: autoscaling.max_replicas,
      // An API that may idle at zero still starts with one replica: the deploy proves it runs.
      init_replicas: autoscaling.init_replicas ?? Math.max(1, autoscaling.min_replicas),
      target_replica_concurrency: autoscaling.target_replica_concurrency ?? capacity,
      max_replica_concurrency: autoscaling.max_replica_concurrency,
      window: formatDuration(parseDuration(autoscaling.window)),
      downscale_stabilization_period: formatDuration(
        parseDuration(autoscaling.downscale_stabilization_period),
      ),
      upscale_stabilization_period: formatDuration(
        parseDuration(autoscaling.upscale_stabilization_period),
      ),
      max_downscale_factor: autoscaling.max_downscale_factor,
      max_upscale_factor: autoscaling.max_upscale_factor,
      downscale_tolerance: autoscaling.downscale_tolerance,
      upscale_tolerance: autoscaling.upscale_tolerance,
      ...(autoscaling.min_replicas === 0
        ? {
            scale_to_zero_after: formatDuration(
              parseDuration(autoscaling.scale_to_zero_after ?? DEFAULT_SCALE_TO_ZERO_AFTER),
            ),
          }
        : {}),
    },
    update_strategy: {
      max_surge: canonicalRollout(raw.update_strategy.max_surge),
      max_unavailable: canonicalRollout(raw.update_strategy.max_unavailable),
      ...(raw.update_strategy.canary === undefined
        ? {}
        : {
            canary: {
              traffic_percent: raw.update_strategy.canary.traffic_percent,
              bake_time: formatDuration(parseDuration(raw.update_strategy.canary.bake_time)),
            },
          }),
    },
    networking: {
      endpoint:
        networking.endpoint === undefined
          ? `/${raw.name}`
          : canonicalizeEndpoint(networking.endpoint),
      local_port: networking.local_port ?? null,
      api_gateway: networking.api_gateway,
      auth: networking.auth,
    },
    monitoring:
      raw.monitoring === undefined || raw.monitoring === null
        ? null
        : { model_type: raw.monitoring.model_type ?? null, key: raw.monitoring.key ?? null },
  };
}

/** `25%` stays a percentage, `1` / `"01"` become `"1"`. */
function canonicalRollout(value: number | string): string {
  const amount = Number.parseInt(String(value), 10);
  return String(value).endsWith("%") ? `${amount}%` : String(amount);
}

/** One API map as the schema guarantees it (after defaults). */
interface ValidatedApi {
  name: string;
  predictor: {
    path: string;
    processes_per_replica: number;
    threads_per_process: number;
    config: Record<string, unknown> | null;
    python_path?: string | null;
    image?: string | null;
    env: Record<string, string> | null;
    server_side_batching?: { max_batch_size: number; batch_interval: string } | null;
    timeout?: string | null;
    smoke_test?: { payload: string; expect_status: number; expect_json?: unknown } | null;
  };
  compute: { cpu: string | number; gpu: number; inf: number; mem: string | null };
  /** The schema fills every default but the two that depend on other fields. */
  autoscaling: Omit<AutoscalingSpec, "init_replicas" | "target_replica_concurrency"> &
    Partial<Pick<AutoscalingSpec, "init_replicas" | "target_replica_concurrency">>;
  update_strategy: {
    max_surge: number | string;
    max_unavailable: number | string;
    canary?: { traffic_percent: number; bake_time: string };
  };
  networking: {
    endpoint?: string;
    local_port?: number | null;
    api_gateway: "public" | "none";
    auth: "none" | "api_key";
  };
  monitoring?: { model_type?: "classification" | "regression" | null; key?: string | null } | null;
}

/** The value at `path` when the schema found it sound, else undefined. */
function read(ctx: ApiRuleContext, path: FieldPath): unknown {
  if (!ctx.isSound(path)) return undefined;
  let current: unknown = ctx.api;
  for (const key of path) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function readNumber(ctx: ApiRuleContext, path: FieldPath): number | undefined {
  const value = read(ctx, path);
  return typeof value === "number" ? value : undefined;
}

function readDuration(
  ctx: ApiRuleContext,
  path: FieldPath,
): { ms: number; text: string } | undefined {
  const value = read(ctx, path);
  if (typeof value !== "string") return undefined;
  try {
    return { ms: parseDuration(value), text: value };
  } catch {
    return undefined; // the schema's format check has reported it
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
