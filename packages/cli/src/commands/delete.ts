/** `axon delete <api>`: stop an API and forget it. */
import { Command } from "commander";
import { requireDaemon } from "../client/daemon.js";
import type { CliContext } from "../context.js";
import { resolveHome } from "../context.js";
import { outputOption, type OutputOptions } from "../options.js";
import { printJson } from "../output.js";

interface DeleteFlags extends OutputOptions {
  yes?: boolean;
}

/** Like Cortex, only an API serving on more than this many replicas needs a confirmation. */
const CONFIRM_ABOVE_REPLICAS = 2;

/** Builds `axon delete`. */
export function makeDeleteCommand(ctx: CliContext): Command {
  return new Command("delete")
    .description("delete an api")
    .argument("<api>", "name of an api")
    .option("-y, --yes", "do not ask for confirmation")
    .addOption(outputOption())
    .action(async (name: string, flags: DeleteFlags, command: Command) => {
      const { client } = await requireDaemon(resolveHome(ctx, command), ctx.signal);
      if (flags.yes !== true) {
        const api = await client.getApi(name);
        const live = api.replicas.upToDate + api.replicas.stale;
        if (live > CONFIRM_ABOVE_REPLICAS) {
          const { confirmOrCancel } = await import("../ui/prompt.js");
          await confirmOrCancel(
            ctx,
            `are you sure you want to delete ${name} (which has ${live} live replicas)?`,
            "--yes",
          );
        }
      }
      const result = await client.deleteApi(name);
      if (flags.output === "json") printJson(ctx.stdout, result);
      else ctx.stdout.write(`${result.message}\n`);
    });
}
