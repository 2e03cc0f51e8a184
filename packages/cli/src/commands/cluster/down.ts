/**
 * `axon cluster down`: stop the local control plane and every replica it runs; with `--env NAME`
 * (an AWS environment), empty its bucket and delete its stack (a no-op once it is gone).
 */
import { Command } from "commander";
import { findDaemon } from "../../client/daemon.js";
import type { CliContext } from "../../context.js";
import { resolveHome } from "../../context.js";
import { outputOption, type OutputOptions } from "../../options.js";
import { printJson } from "../../output.js";

/** Builds `axon cluster down`. */
export function makeClusterDownCommand(ctx: CliContext): Command {
  return (
    new Command("down")
      .description("stop the local cluster (deployed apis come back on the next `axon cluster up`)")
      // Stopping is not destructive locally (state stays under $AXON_HOME), so there is nothing to
      // confirm; -y is accepted so Cortex scripts keep working.
      .option("-y, --yes", "do not ask for confirmation")
      .addOption(outputOption())
      .action(async (flags: OutputOptions & { yes?: boolean }, command: Command) => {
        const aws = await import("./aws.js");
        if (aws.targetsRemoteEnvironment(command)) {
          // Deleting an AWS cluster is destructive: confirmed on a terminal, or --yes.
          await aws.runAwsClusterDown(ctx, command, flags);
          return;
        }
        const json = flags.output === "json";
        const connection = await findDaemon(resolveHome(ctx, command), ctx.signal);
        const { stopCluster, stopSupervisors } = await import("../../services/cluster.js");
        if (connection === undefined) {
          // No daemon answers, but a supervisor may be waiting out its restart delay after a
          // crash: stopped too, or it would bring the cluster back (decision 0007).
          const stopped = await stopSupervisors(resolveHome(ctx, command), ctx.signal);
          if (stopped.length > 0) {
            ctx.stderr.write(
              `stopped the local cluster's supervisor (pid ${stopped.join(", ")}), which was starting it again\n`,
            );
            if (json) printJson(ctx.stdout, { stopped: true, pid: stopped[0] ?? null });
            else ctx.stdout.write("local cluster stopped\n");
            return;
          }
          // `stopped: false`: there was nothing to stop (not an error, as before).
          if (json) printJson(ctx.stdout, { stopped: false, pid: null });
          else ctx.stdout.write("the local cluster is not running\n");
          return;
        }
        const { pid } = connection.record;
        ctx.stderr.write(`stopping the local cluster (pid ${pid})...\n`);
        await stopCluster(connection, ctx.signal);
        if (json) printJson(ctx.stdout, { stopped: true, pid });
        else ctx.stdout.write("local cluster stopped\n");
      })
  );
}
