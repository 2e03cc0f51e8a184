/** The daemon every `axon env` command talks to (started if needed: it keeps the environments). */
import type { Command } from "commander";
import type { ApiClient } from "../../client/api-client.js";
import type { CliContext } from "../../context.js";
import { resolveHome } from "../../context.js";

export async function environmentsClient(ctx: CliContext, command: Command): Promise<ApiClient> {
  const { connectOrStartDaemon } = await import("../../client/start-daemon.js");
  const { connection } = await connectOrStartDaemon(ctx, { home: resolveHome(ctx, command) });
  return connection.client;
}
