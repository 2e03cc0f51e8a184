/**
 * `axon cluster info`: where the local cluster listens and what it runs; with `--env NAME` (an
 * AWS environment), its stack, load balancer, bucket and image.
 */
import { Command } from "commander";
import { requireDaemon } from "../../client/daemon.js";
import type { CliContext } from "../../context.js";
import { resolveHome } from "../../context.js";
import { outputOption, type OutputOptions } from "../../options.js";
import { printJson } from "../../output.js";

/** Builds `axon cluster info`. */
export function makeClusterInfoCommand(ctx: CliContext): Command {
  return new Command("info")
    .description("show where the local cluster listens, its python, apis and processes")
    .addOption(outputOption())
    .action(async (flags: OutputOptions, command: Command) => {
      const aws = await import("./aws.js");
      if (aws.targetsRemoteEnvironment(command)) {
        await aws.runAwsClusterInfo(ctx, command, flags);
        return;
      }
      const { client } = await requireDaemon(resolveHome(ctx, command), ctx.signal);
      const info = await client.info();
      if (flags.output === "json") {
        printJson(ctx.stdout, info);
        return;
      }
      const { renderClusterInfo } = await import("../../ui/cluster.js");
      ctx.stdout.write(`${renderClusterInfo(info)}\n`);
    });
}
