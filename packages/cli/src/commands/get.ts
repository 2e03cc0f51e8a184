/** `axon get [api]`: the status of every API, or the details of one. */
import { Command } from "commander";
import { requireDaemon } from "../client/daemon.js";
import type { CliContext } from "../context.js";
import { resolveHome } from "../context.js";
import { outputOption, type OutputOptions } from "../options.js";
import { printJson } from "../output.js";

/** Builds `axon get`. */
export function makeGetCommand(ctx: CliContext): Command {
  return new Command("get")
    .description("show the status of every api, or the details of one")
    .argument("[api]", "name of an api")
    .addOption(outputOption())
    .action(async (name: string | undefined, flags: OutputOptions, command: Command) => {
      const { client } = await requireDaemon(resolveHome(ctx, command), ctx.signal);
      const ui = await import("../ui/apis.js");
      if (name === undefined) {
        const list = await client.listApis();
        if (flags.output === "json") printJson(ctx.stdout, list);
        else ctx.stdout.write(`${ui.renderApiList(list, ctx.now())}\n`);
        return;
      }
      const api = await client.getApi(name);
      if (flags.output === "json") printJson(ctx.stdout, api);
      else ctx.stdout.write(`${ui.renderApiDetail(api, ctx.now())}\n`);
    });
}
