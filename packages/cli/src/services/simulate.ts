/**
 * `axon autoscale simulate`: the config's autoscaling settings and a request-rate trace through
 * the control plane's own autoscaler (`@axon/control-plane/autoscaler`), run here, no daemon
 * needed. Returns the timeline; the command renders it.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseDuration } from "@axon/config";
import {
  autoscalingParams,
  parseTrace,
  scaleToZeroAfterMs,
  simulate,
  TraceError,
  type SimulationResult,
} from "@axon/control-plane/autoscaler";
import { UserError } from "../errors.js";
import { locateConfig, validateConfig } from "./config.js";

export interface SimulateOptions {
  config: string | undefined;
  trace: string;
  /** How long the predictor takes per request, a duration (`20ms`). */
  serviceTime: string;
  /** From a replica being requested to it being ready (`5s`). */
  startup: string;
  /** Which API of the config (required when it has several). */
  api: string | undefined;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
}

export interface SimulationReport extends SimulationResult {
  api: string;
  trace: string;
  serviceTimeMs: number;
}

export async function simulateAutoscaling(options: SimulateOptions): Promise<SimulationReport> {
  const serviceTimeMs = parseDurationFlag("--service-time", options.serviceTime);
  const startupMs = parseDurationFlag("--startup", options.startup);
  if (serviceTimeMs <= 0) {
    throw new UserError(`--service-time must be longer than 0 (got ${options.serviceTime})`);
  }
  const validated = await validateConfig(locateConfig(options.config, options.cwd), {
    env: options.env,
  });
  const names = validated.apis.map((a) => a.name);
  const spec =
    options.api === undefined && validated.apis.length === 1
      ? validated.apis[0]
      : validated.apis.find((a) => a.name === options.api);
  if (spec === undefined) {
    throw new UserError(
      options.api === undefined
        ? `${validated.fileName} has ${names.length} apis; say which to simulate`
        : `${validated.fileName} has no api ${options.api}`,
      { hint: `pass --api with one of: ${names.join(", ")}` },
    );
  }
  const tracePath = path.resolve(options.cwd, options.trace);
  let text: string;
  try {
    text = await readFile(tracePath, "utf8");
  } catch (error) {
    throw new UserError(`cannot read the trace ${options.trace}`, {
      hint: "pass a CSV of `seconds,requests_per_second` rows with --trace",
      cause: error,
    });
  }
  let trace;
  try {
    trace = parseTrace(text);
  } catch (error) {
    if (error instanceof TraceError) {
      throw new UserError(`${options.trace}:${error.line}: ${error.message}`, {
        hint: "each row is `seconds,requests_per_second`, seconds increasing (a header row and # comments are allowed)",
      });
    }
    throw error;
  }
  const result = simulate(trace, {
    params: autoscalingParams(spec),
    initialReplicas: spec.autoscaling.init_replicas,
    concurrency: spec.predictor.processes_per_replica * spec.predictor.threads_per_process,
    maxReplicaConcurrency: spec.autoscaling.max_replica_concurrency,
    serviceTimeMs,
    startupMs,
    scaleToZeroAfterMs: scaleToZeroAfterMs(spec),
  });
  return { ...result, api: spec.name, trace: options.trace, serviceTimeMs };
}

function parseDurationFlag(flag: string, value: string): number {
  try {
    return parseDuration(value);
  } catch {
    throw new UserError(`${flag} must be a duration like 20ms, 1.5s or 1m (got ${value})`);
  }
}
