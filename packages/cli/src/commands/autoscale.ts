/** `axon autoscale`: the group for the autoscaler's tools (`simulate`). */
import { Command } from "commander";
import type { CliContext } from "../context.js";
import { makeAutoscaleSimulateCommand } from "./autoscale/simulate.js";

export function makeAutoscaleCommand(ctx: CliContext): Command {
  return new Command("autoscale")
    .description("try autoscaling settings before traffic does")
    .addCommand(makeAutoscaleSimulateCommand(ctx));
}
