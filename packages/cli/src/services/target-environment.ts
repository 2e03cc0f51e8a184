/**
 * `--env NAME` on a command about APIs (deploy, get, logs, delete, predict, rollback). An unknown
 * name is listed against the known ones before anything runs; API commands send the environment
 * (`Axon-Env`) and this shell's AWS settings with their requests (`targetClient`), so the daemon
 * acts on that environment — locally, or on its ECS cluster with the caller's credentials. Without
 * `--env`, the daemon applies its default environment itself.
 */
import type { Command } from "commander";
import type { ApiClient } from "../client/api-client.js";
import type { CliContext } from "../context.js";
import { resolveHome } from "../context.js";
import { UserError } from "../errors.js";
import { isRemoteEnvironment } from "../local-environment.js";

const API_COMMANDS = new Set(["deploy", "get", "logs", "delete", "predict", "rollback"]);

/** Throws when `--env` names no environment. */
export async function checkTargetEnvironment(ctx: CliContext, command: Command): Promise<void> {
  const { env } = command.optsWithGlobals<{ env?: string }>();
  if (!isRemoteEnvironment(env) || !API_COMMANDS.has(command.name())) return;
  const { connectOrStartDaemon } = await import("../client/start-daemon.js");
  const { connection } = await connectOrStartDaemon(ctx, { home: resolveHome(ctx, command) });
  const list = await connection.client.listEnvironments();
  const found = list.environments.find((candidate) => candidate.name === env);
  if (found === undefined) {
    throw new UserError(`there is no environment named ${env}`, {
      hint: `environments: ${list.environments.map((candidate) => candidate.name).join(", ")}`,
      nextSteps: ["axon env list", "axon cluster up --provider aws --config cluster.yaml"],
    });
  }
}

/** `client`, acting on the command's `--env` (else the daemon's default) with this shell's AWS settings. */
export async function targetClient(
  ctx: CliContext,
  command: Command,
  client: ApiClient,
): Promise<ApiClient> {
  return targetClientFor(ctx, command.optsWithGlobals<{ env?: string }>().env, client);
}

/** The same, from the `--env` value itself (undefined when not given), for callers without commander. */
export async function targetClientFor(
  ctx: CliContext,
  env: string | undefined,
  client: ApiClient,
): Promise<ApiClient> {
  // The one small module, not @axon/config's index (its parser and schema modules): `get` and
  // `logs` run this on every call, and the start-up budget has no room for the rest.
  const { pickForwardedAwsVariables } = await import("@axon/config/forwarded-env");
  return client.withTarget({
    ...(env === undefined ? {} : { env }),
    awsSettings: pickForwardedAwsVariables(ctx.env as NodeJS.ProcessEnv),
  });
}
