/** `axon cluster down`: stop the local control plane and every replica it runs. */
import { Command } from "commander";
import { findDaemon } from "../../client/daemon.js";
import type { CliContext } from "../../context.js";
import { resolveHome } from "../../context.js";

/** Builds `axon cluster down`. */
export function makeClusterDownCommand(ctx: CliContext): Command {
  return (
    new Command("down")
      .description("stop the local cluster (deployed apis come back on the next `axon cluster up`)")
      // Stopping is not destructive locally (state stays under $AXON_HOME), so there is nothing to
      // confirm; -y is accepted so Cortex scripts keep working.
      .option("-y, --yes", "do not ask for confirmation")
      .action(async (_flags: unknown, command: Command) => {
        const connection = await findDaemon(resolveHome(ctx, command), ctx.signal);
        if (connection === undefined) {
          ctx.stdout.write("the local cluster is not running\n");
          return;
        }
        const { stopCluster } = await import("../../services/cluster.js");
        ctx.stderr.write(`stopping the local cluster (pid ${connection.record.pid})...\n`);
        await stopCluster(connection, ctx.signal);
        ctx.stdout.write("local cluster stopped\n");
      })
  );
}
