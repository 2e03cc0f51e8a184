/** `axon keys list <api>`: an API's keys — ids, names, dates; never a key. */
import { Command } from "commander";
import { requireDaemon } from "../../client/daemon.js";
import type { CliContext } from "../../context.js";
import { resolveHome } from "../../context.js";
import { outputOption, type OutputOptions } from "../../options.js";
import { printJson } from "../../output.js";

export function makeKeysListCommand(ctx: CliContext): Command {
  return new Command("list")
    .description("list an api's keys (id, name, created, last used, expires; never the key)")
    .argument("<api>", "name of an api")
    .addOption(outputOption())
    .action(async (api: string, flags: OutputOptions, cmd: Command) => {
      const { targetClient } = await import("../../services/target-environment.js");
      const daemon = await requireDaemon(resolveHome(ctx, cmd), ctx.signal);
      const client = await targetClient(ctx, cmd, daemon.client);
      const list = await client.listApiKeys(api);
      if (flags.output === "json") {
        printJson(ctx.stdout, list);
        return;
      }
      const { renderKeyList } = await import("../../ui/keys.js");
      ctx.stdout.write(`${renderKeyList(list, new Date())}\n`);
    });
}
