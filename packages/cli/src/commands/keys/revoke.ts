/** `axon keys revoke <api> <id>`: the key is refused from now on (within 30 s on ECS). */
import { Command } from "commander";
import { requireDaemon } from "../../client/daemon.js";
import type { CliContext } from "../../context.js";
import { resolveHome } from "../../context.js";
import { outputOption, type OutputOptions } from "../../options.js";
import { printJson } from "../../output.js";

export function makeKeysRevokeCommand(ctx: CliContext): Command {
  return new Command("revoke")
    .description("revoke an api key: requests with it get 401")
    .argument("<api>", "name of an api")
    .argument("<id>", "the key's id, from `axon keys list <api>`")
    .addOption(outputOption())
    .action(async (api: string, id: string, flags: OutputOptions, cmd: Command) => {
      const { targetClient } = await import("../../services/target-environment.js");
      const daemon = await requireDaemon(resolveHome(ctx, cmd), ctx.signal);
      const client = await targetClient(ctx, cmd, daemon.client);
      const result = await client.revokeApiKey(api, id);
      if (flags.output === "json") printJson(ctx.stdout, result);
      else ctx.stdout.write(`${result.message}\n`);
    });
}
