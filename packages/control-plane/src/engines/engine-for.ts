/**
 * `engineFor`: the one place that looks at an environment's provider and picks the engine its
 * API verbs run on. Everything above (routes, the deploy plan) talks to `ApiEngine` only.
 */
import { isForwardedAwsVariable } from "@axon/config";
import { AWS_SETTINGS_HEADER, ENV_HEADER } from "../contract/index.js";
import { DomainError, REQUEST_INVALID } from "../errors.js";
import { resolveEnvironment } from "../services/environments.js";
import type { ApiEngine } from "./api-engine.js";
import { EcsEngine, type EcsEngineDeps } from "./ecs-engine.js";
import { LocalEngine, type LocalEngineDeps } from "./local-engine.js";

/** What both engines are built from: the daemon's parts (see `RouteContext`). */
export type EngineContext = LocalEngineDeps & Pick<EcsEngineDeps, "connect">;

/** The part of an HTTP request that says where it acts: its `Axon-Env` and AWS settings headers. */
export interface EngineRequest {
  headers: Record<string, string | string[] | undefined>;
}

/**
 * The engine of the environment `request` names (`Axon-Env`), else of the default one.
 * @throws DomainError env.not_found when the environment is not registered
 */
export function engineFor(context: EngineContext, request: EngineRequest): ApiEngine {
  const header = request.headers[ENV_HEADER];
  const env = resolveEnvironment(context.store, typeof header === "string" ? header : undefined);
  if (env.provider === "aws") {
    return new EcsEngine(env.record, {
      bundles: context.bundles,
      awsSettings: awsSettingsOf(request),
      ...(context.connect === undefined ? {} : { connect: context.connect }),
    });
  }
  return new LocalEngine(context);
}

/**
 * The calling shell's AWS settings, sent by the CLI in `AWS_SETTINGS_HEADER` (base64 JSON); only
 * the variables Axon forwards are kept, a malformed header is refused by name, none is `{}`.
 */
export function awsSettingsOf(request: EngineRequest): Record<string, string> {
  const header = request.headers[AWS_SETTINGS_HEADER];
  if (typeof header !== "string" || header === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(header, "base64").toString("utf8"));
  } catch (error) {
    throw new DomainError(REQUEST_INVALID, `the ${AWS_SETTINGS_HEADER} header is not base64 JSON`, {
      cause: error,
    });
  }
  const settings: Record<string, string> = {};
  if (typeof value !== "object" || value === null) return settings;
  for (const [name, setting] of Object.entries(value)) {
    if (typeof setting === "string" && isForwardedAwsVariable(name)) settings[name] = setting;
  }
  return settings;
}
