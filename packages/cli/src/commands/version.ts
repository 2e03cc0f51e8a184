/** `axon version`: the CLI's version and, when one is running, the control plane's. */
import { Command } from "commander";
import { readCliVersion } from "../cli-version.js";
import { findDaemon } from "../client/daemon.js";
import type { CliContext } from "../context.js";
import { resolveHome } from "../context.js";
import { outputOption, type OutputOptions } from "../options.js";
import { withExamples } from "../help.js";
import { printJson } from "../output.js";

/** Builds `axon version`. */
export function makeVersionCommand(ctx: CliContext): Command {
  const command = new Command("version")
    .description("print the cli version and the local cluster's version")
    .addOption(outputOption())
    .action(async (flags: OutputOptions, command: Command) => {
      const [cli, daemon] = await Promise.all([
        readCliVersion(),
        findDaemon(resolveHome(ctx, command), ctx.signal),
      ]);
      const controlPlane = daemon?.health.version ?? null;
      if (flags.output === "json") {
        printJson(ctx.stdout, { cli, controlPlane });
        return;
      }
      ctx.stdout.write(`cli version: ${cli}\n`);
      ctx.stdout.write(
        controlPlane === null
          ? "local cluster: not running\n"
          : `local cluster version: ${controlPlane}\n`,
      );
    });
  return withExamples(command, [
    ["axon version", "the cli's version and the running cluster's"],
    ["axon version -o json", "{ cli, controlPlane } (null when no cluster runs)"],
  ]);
}
