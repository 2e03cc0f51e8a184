/** `axon autoscale`: the group for the autoscaler's tools (`simulate`). */
import { Command } from "commander";
import type { CliContext } from "../context.js";
import { withExamples } from "../help.js";
import { makeAutoscaleSimulateCommand } from "./autoscale/simulate.js";

export function makeAutoscaleCommand(ctx: CliContext): Command {
  const command = new Command("autoscale")
    .description("try autoscaling settings before traffic does")
    .addCommand(makeAutoscaleSimulateCommand(ctx));
  return withExamples(command, [
    [
      "axon autoscale simulate examples/iris-sklearn --trace examples/iris-sklearn/traffic.csv --service-time 20ms",
      "replicas, in-flight and estimated 503s for a morning's traffic",
    ],
  ]);
}
