/** `axon monitor`: prediction monitoring's tools (`baseline`); `axon get <api>` shows the numbers. */
import { Command } from "commander";
import type { CliContext } from "../context.js";
import { makeMonitorBaselineCommand } from "./monitor/baseline.js";

export function makeMonitorCommand(ctx: CliContext): Command {
  return new Command("monitor")
    .description("prediction monitoring: what an api answers, and whether that has shifted")
    .addCommand(makeMonitorBaselineCommand(ctx));
}
