/** `axon autoscale simulate <config> --trace trace.csv --service-time 20ms`: a what-if, no daemon. */
import { Command, Option } from "commander";
import type { CliContext } from "../../context.js";
import { withExamples } from "../../help.js";
import { outputOption, type OutputOptions } from "../../options.js";
import { printJson } from "../../output.js";

interface SimulateFlags extends OutputOptions {
  trace: string;
  serviceTime: string;
  startup: string;
  api?: string;
}

export function makeAutoscaleSimulateCommand(ctx: CliContext): Command {
  const command = new Command("simulate")
    .description(
      "replay a request-rate trace through the autoscaler with the config's settings: replicas, in-flight per replica and estimated 503s over time",
    )
    .argument("[config]", "axon.yaml / cortex.yaml, or the folder that holds it (default: .)")
    .addOption(
      new Option(
        "--trace <file>",
        "CSV of `seconds,requests_per_second` rows",
      ).makeOptionMandatory(),
    )
    .addOption(
      new Option(
        "--service-time <duration>",
        "how long the predictor takes per request",
      ).makeOptionMandatory(),
    )
    .option("--startup <duration>", "from a replica being requested to it being ready", "5s")
    .option("--api <name>", "which api of the config (when it has several)")
    .addOption(outputOption())
    .action(async (config: string | undefined, flags: SimulateFlags) => {
      // Loaded here: the simulator pulls in @axon/config, the autoscaler and tar, which no other
      // command's start-up should pay for.
      const [{ simulateAutoscaling }, { renderSimulation }] = await Promise.all([
        import("../../services/simulate.js"),
        import("../../ui/simulate.js"),
      ]);
      const report = await simulateAutoscaling({
        config,
        trace: flags.trace,
        serviceTime: flags.serviceTime,
        startup: flags.startup,
        api: flags.api,
        cwd: ctx.cwd,
        env: ctx.env,
      });
      if (flags.output === "json") printJson(ctx.stdout, report);
      else ctx.stdout.write(renderSimulation(report));
    });
  return withExamples(command, [
    [
      "axon autoscale simulate examples/iris-sklearn --trace examples/iris-sklearn/traffic.csv --service-time 20ms",
      "the iris example's settings against a morning's traffic",
    ],
    [
      "axon autoscale simulate . --trace peak.csv --service-time 120ms -o json",
      "the timeline as JSON",
    ],
  ]);
}
