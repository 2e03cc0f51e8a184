/**
 * Environments: where commands act. `local` (this machine) always exists and is the default until
 * `axon env use` picks another; an `aws` environment is a cluster stack in a region, registered by
 * `axon cluster up --provider aws` or `axon env add`. Returns data; routes turn it into HTTP.
 */
import {
  LOCAL_ENVIRONMENT,
  type AddEnvironmentRequest,
  type EnvironmentInfo,
  type EnvironmentListResponse,
  type RemoveEnvironmentResponse,
} from "../contract/index.js";
import { DomainError } from "../errors.js";
import type { EnvironmentRecord, StateStore } from "../state/store.js";

/** No environment of that name (404). */
export const ENV_NOT_FOUND = "env.not_found";

/** An environment name, provider or region that cannot be used (400). */
export const ENV_INVALID = "env.invalid";

/** An environment of that name is already registered (409). */
export const ENV_EXISTS = "env.exists";

const ENV_NAME = /^[a-z](?!.*--)([-a-z0-9]{0,38}[a-z0-9])?$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$/;

/** The environment a request targets, resolved. */
export type ResolvedEnvironment =
  | { name: typeof LOCAL_ENVIRONMENT; provider: "local" }
  | { name: string; provider: "aws"; record: EnvironmentRecord };

export function listEnvironments(store: StateStore): EnvironmentListResponse {
  const defaultName = store.getDefaultEnvironment() ?? LOCAL_ENVIRONMENT;
  return {
    environments: [
      { name: LOCAL_ENVIRONMENT, provider: "local", isDefault: defaultName === LOCAL_ENVIRONMENT },
      ...store.listEnvironments().map((record) => toInfo(record, defaultName)),
    ],
    defaultEnvironment: defaultName,
  };
}

/**
 * The environment named `name` (from `--env`), else the default one.
 * @throws DomainError env.not_found naming the environments there are
 */
export function resolveEnvironment(
  store: StateStore,
  name: string | undefined,
): ResolvedEnvironment {
  const chosen = name ?? store.getDefaultEnvironment() ?? LOCAL_ENVIRONMENT;
  if (chosen === LOCAL_ENVIRONMENT) return { name: LOCAL_ENVIRONMENT, provider: "local" };
  const record = store.getEnvironment(chosen);
  if (record === undefined) {
    const known = [LOCAL_ENVIRONMENT, ...store.listEnvironments().map((env) => env.name)];
    throw new DomainError(ENV_NOT_FOUND, `there is no environment named ${chosen}`, {
      status: 404,
      hint: `environments: ${known.join(", ")}; axon env add or axon cluster up --provider aws registers one`,
    });
  }
  return { name: record.name, provider: "aws", record };
}

/** Registers an existing AWS cluster (e.g. one created from another machine). */
export function addEnvironment(
  store: StateStore,
  request: AddEnvironmentRequest,
  now: Date,
): EnvironmentInfo {
  checkEnvironmentName(request.name);
  if (request.provider !== "aws") {
    throw new DomainError(
      ENV_INVALID,
      `an environment's provider must be aws (got ${JSON.stringify(request.provider)}); the local environment always exists`,
      { status: 400, hint: "axon env add NAME --provider aws --region REGION" },
    );
  }
  if (request.region === undefined || !REGION.test(request.region)) {
    throw new DomainError(
      ENV_INVALID,
      `an aws environment needs a region such as us-east-1 (got ${JSON.stringify(request.region ?? null)})`,
      { status: 400, hint: "pass --region, e.g. --region us-east-1" },
    );
  }
  if (store.getEnvironment(request.name) !== undefined) {
    throw new DomainError(ENV_EXISTS, `environment ${request.name} already exists`, {
      status: 409,
      hint: `axon env remove ${request.name} first to register it again`,
    });
  }
  const record = store.putEnvironment(
    {
      name: request.name,
      provider: "aws",
      region: request.region,
      stackName: request.stackName ?? `axon-${request.name}`,
      clusterName: null,
      configFile: null,
      configYaml: null,
    },
    now,
  );
  return toInfo(record, store.getDefaultEnvironment());
}

/** Makes `name` the environment commands target without `--env`. */
export function useEnvironment(store: StateStore, name: string): EnvironmentInfo {
  const resolved = resolveEnvironment(store, name);
  store.setDefaultEnvironment(resolved.name === LOCAL_ENVIRONMENT ? undefined : resolved.name);
  if (resolved.provider === "local")
    return { name: LOCAL_ENVIRONMENT, provider: "local", isDefault: true };
  return toInfo(resolved.record, resolved.name);
}

/** Forgets an AWS environment; its stack, if any, is left as it is (axon cluster down deletes it). */
export function removeEnvironment(store: StateStore, name: string): RemoveEnvironmentResponse {
  if (name === LOCAL_ENVIRONMENT) {
    throw new DomainError(ENV_INVALID, "the local environment cannot be removed", {
      status: 400,
      hint: "axon cluster down stops the local cluster",
    });
  }
  const resolved = resolveEnvironment(store, name);
  store.deleteEnvironment(name);
  const stack =
    resolved.provider === "aws"
      ? ` (its stack ${resolved.record.stackName} in ${resolved.record.region}, if any, was not touched: axon cluster down --env ${name} deletes a stack)`
      : "";
  return { message: `environment ${name} removed${stack}` };
}

export function checkEnvironmentName(name: string): void {
  if (name === LOCAL_ENVIRONMENT || !ENV_NAME.test(name)) {
    throw new DomainError(
      ENV_INVALID,
      name === LOCAL_ENVIRONMENT
        ? "local is the name of this machine's environment; choose another name"
        : `environment names are lower-case letters, digits and single dashes, starting with a letter, at most 40 characters (got ${JSON.stringify(name)})`,
      { status: 400 },
    );
  }
}

export function toInfo(
  record: EnvironmentRecord,
  defaultName: string | undefined,
): EnvironmentInfo {
  return {
    name: record.name,
    provider: "aws",
    isDefault: defaultName === record.name,
    region: record.region,
    stackName: record.stackName,
    ...(record.clusterName === null ? {} : { clusterName: record.clusterName }),
    ...(record.configFile === null ? {} : { configFile: record.configFile }),
    createdAt: record.createdAt,
  };
}

/** The AWS environment `envName` names; the local one (or an unknown name) is refused by name. */
export function requireAwsEnvironment(store: StateStore, envName: string): EnvironmentRecord {
  const resolved = resolveEnvironment(store, envName);
  if (resolved.provider !== "aws") {
    throw new DomainError(
      ENV_INVALID,
      `environment ${envName} is this machine, not an AWS cluster`,
      {
        status: 400,
        hint: "axon cluster info and axon cluster down without --env act on the local cluster",
      },
    );
  }
  return resolved.record;
}
