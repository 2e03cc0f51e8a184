/** `axon monitor`: prediction monitoring's tools (`baseline`); `axon get <api>` shows the numbers. */
import { Command } from "commander";
import type { CliContext } from "../context.js";
import { withExamples } from "../help.js";
import { makeMonitorBaselineCommand } from "./monitor/baseline.js";

export function makeMonitorCommand(ctx: CliContext): Command {
  const command = new Command("monitor")
    .description("prediction monitoring: what an api answers, and whether that has shifted")
    .addCommand(makeMonitorBaselineCommand(ctx));
  return withExamples(command, [
    ["axon get iris-classifier --since 1h", "what it predicted in the last hour, and its drift"],
    ["axon monitor baseline iris-classifier", "pin the last hour as the normal to compare with"],
  ]);
}
