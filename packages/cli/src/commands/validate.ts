/** `axon validate [config-or-dir]`: check a config locally, without a daemon. */
import { Command } from "commander";
import { resolveHome, type CliContext } from "../context.js";
import { UserError } from "../errors.js";
import { outputOption, type OutputOptions } from "../options.js";
import { withExamples } from "../help.js";
import { printJson } from "../output.js";

/** Builds `axon validate`. */
export function makeValidateCommand(ctx: CliContext): Command {
  const command = new Command("validate")
    .description("check a config file (and that its predictor files exist) without deploying")
    .argument(
      "[config-or-dir]",
      "config file, or folder holding axon.yaml / cortex.yaml (default: .)",
    )
    .addOption(outputOption())
    .action(async (target: string | undefined, flags: OutputOptions, command: Command) => {
      const [{ locateConfig, validateConfig }, { renderDeprecations }] = await Promise.all([
        import("../services/config.js"),
        import("../ui/deploy.js"),
      ]);
      const located = locateConfig(target, ctx.cwd);
      try {
        // Checked against what `axon deploy` would upload, which never includes Axon's own state.
        const config = await validateConfig(located, {
          env: ctx.env,
          skipDirs: [resolveHome(ctx, command)],
        });
        // RealtimeAPIs and BatchAPIs are both "apis" (Cortex's word for every kind it deploys).
        const names = [...config.apis.map((api) => api.name), ...config.batchApis];
        if (flags.output === "json") {
          printJson(ctx.stdout, {
            file: config.file,
            valid: true,
            apis: names,
            ...(config.batchApis.length === 0 ? {} : { batchApis: config.batchApis }),
            ...(config.splitters.length === 0 ? {} : { trafficSplitters: config.splitters }),
            deprecations: config.deprecations,
            pythonSyntax: config.pythonSyntax,
          });
          return;
        }
        if (config.deprecations.length > 0)
          ctx.stderr.write(`${renderDeprecations(config.deprecations)}\n`);
        if ("skipped" in config.pythonSyntax) {
          ctx.stderr.write(`note: Python syntax not checked: ${config.pythonSyntax.skipped}\n`);
        }
        const split = config.splitters;
        const parts = [
          names.length === 0 && split.length > 0
            ? ""
            : `${names.length} ${names.length === 1 ? "api" : "apis"} valid (${names.join(", ")})`,
          split.length === 0
            ? ""
            : `${split.length} traffic ${split.length === 1 ? "splitter" : "splitters"} valid (${split.join(", ")})`,
        ].filter((part) => part !== "");
        ctx.stdout.write(`✓ ${config.fileName}: ${parts.join(", ")}\n`);
      } catch (error) {
        // In JSON mode the diagnostics are the result, so they go to stdout as the one document.
        if (flags.output === "json" && error instanceof UserError && error.diagnostics.length > 0) {
          printJson(ctx.stdout, {
            file: located.file,
            valid: false,
            diagnostics: error.diagnostics,
          });
        }
        throw error;
      }
    });
  return withExamples(command, [
    ["axon validate", "check ./axon.yaml (or ./cortex.yaml) and its predictor files"],
    ["axon validate examples/iris-sklearn", "check another project"],
    ["axon validate -o json", "every problem as data (file, line, field, message)"],
  ]);
}
