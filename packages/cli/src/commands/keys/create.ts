/** `axon keys create <api>`: makes a key and prints it, once. */
import { Command } from "commander";
import { requireDaemon } from "../../client/daemon.js";
import type { CliContext } from "../../context.js";
import { resolveHome } from "../../context.js";
import { outputOption, type OutputOptions } from "../../options.js";
import { printJson } from "../../output.js";

interface CreateFlags extends OutputOptions {
  name?: string;
  expires?: string;
  rate?: string;
}

export function makeKeysCreateCommand(ctx: CliContext): Command {
  return new Command("create")
    .description("make an API key for an api; the key is printed once and only its hash is kept")
    .argument("<api>", "name of an api")
    .option("--name <name>", "a label for people (who or what uses the key)")
    .option("--expires <duration>", "refuse the key this long from now, e.g. 90d or 12h")
    .option("--rate <rate>", "requests per second the key may make on each replica, e.g. 50/s")
    .addOption(outputOption())
    .action(async (api: string, flags: CreateFlags, cmd: Command) => {
      const { targetClient } = await import("../../services/target-environment.js");
      const daemon = await requireDaemon(resolveHome(ctx, cmd), ctx.signal);
      const client = await targetClient(ctx, cmd, daemon.client);
      const result = await client.createApiKey(api, {
        ...(flags.name === undefined ? {} : { name: flags.name }),
        ...(flags.expires === undefined ? {} : { expires: flags.expires }),
        ...(flags.rate === undefined ? {} : { rate: flags.rate }),
      });
      if (flags.output === "json") {
        printJson(ctx.stdout, result);
        return;
      }
      // The key alone on stdout (so `$(axon keys create …)` captures it); the rest on stderr.
      ctx.stdout.write(`${result.key}\n`);
      ctx.stderr.write(`${result.message}\n`);
      if (result.warning !== undefined) ctx.stderr.write(`warning: ${result.warning}\n`);
    });
}
