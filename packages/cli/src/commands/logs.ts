/** `axon logs <api>`: print an API's log lines, and keep streaming them with `--follow`. */
import { Command } from "commander";
import { requireDaemon } from "../client/daemon.js";
import type { CliContext } from "../context.js";
import { resolveHome } from "../context.js";
import { parseCount } from "../options.js";

interface LogsFlags {
  follow?: boolean;
  tail: number;
}

/** Builds `axon logs`. */
export function makeLogsCommand(ctx: CliContext): Command {
  return new Command("logs")
    .description("print an api's logs (all replicas and worker processes, interleaved)")
    .argument("<api>", "name of an api")
    .option("-f, --follow", "keep streaming new lines until Ctrl-C")
    .option("--tail <lines>", "how many recent lines to start with", parseCount, 100)
    .action(async (name: string, flags: LogsFlags, command: Command) => {
      const { client } = await requireDaemon(resolveHome(ctx, command), ctx.signal);
      await client.streamLogs(name, { follow: flags.follow === true, tail: flags.tail }, (text) =>
        ctx.stdout.write(text),
      );
    });
}
