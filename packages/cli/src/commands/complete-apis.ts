/**
 * `axon __complete-apis` (hidden): the names of the deployed APIs, one per line, for the completion
 * scripts. Never fails loudly: a <Tab> with no cluster running completes nothing.
 */
import { Command } from "commander";
import { findDaemon } from "../client/daemon.js";
import type { CliContext } from "../context.js";
import { resolveHome } from "../context.js";
import { COMPLETE_APIS_COMMAND } from "../ui/completion.js";

/** Builds the hidden `axon __complete-apis`. */
export function makeCompleteApisCommand(ctx: CliContext): Command {
  return new Command(COMPLETE_APIS_COMMAND)
    .description("list api names for shell completion")
    .action(async (_flags: unknown, command: Command) => {
      try {
        const connection = await findDaemon(resolveHome(ctx, command), ctx.signal);
        if (connection === undefined) return;
        const { apis, batchApis = [] } = await connection.client.listApis();
        for (const api of [...apis, ...batchApis]) ctx.stdout.write(`${api.name}\n`);
      } catch {
        // Nothing to offer: the shell falls back to its default completion.
      }
    });
}
