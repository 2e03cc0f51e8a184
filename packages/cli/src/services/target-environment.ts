/**
 * `--env NAME` on a command about APIs (deploy, get, logs, delete, predict, rollback). Only the
 * local environment runs APIs until APIs on ECS land (issue 20): an AWS environment gets a clear
 * "not yet", and an unknown name is listed against the known ones. (Without `--env`, the daemon
 * applies its default environment itself.)
 */
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { resolveHome } from "../context.js";
import { UserError } from "../errors.js";

const API_COMMANDS = new Set(["deploy", "get", "logs", "delete", "predict", "rollback"]);

/** Throws when `--env` names an environment `command` cannot act on. */
export async function checkTargetEnvironment(ctx: CliContext, command: Command): Promise<void> {
  const { env } = command.optsWithGlobals<{ env?: string }>();
  if (env === undefined || env === "local" || !API_COMMANDS.has(command.name())) return;
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
  if (found.provider === "aws") {
    throw new UserError(
      `not yet: ${env} is an AWS cluster, and APIs on ECS come with issue 20 (axon ${command.name()} works on the local environment only)`,
      {
        hint: `axon cluster info --env ${env} and axon cluster down --env ${env} work on it now`,
        nextSteps: [`axon ${command.name()} --env local …`],
      },
    );
  }
}
