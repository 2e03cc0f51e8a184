/** `axon cluster`: the group for managing the local cluster and AWS clusters (`up`, `down`, `info`). */
import { Command } from "commander";
import type { CliContext } from "../context.js";
import { withExamples } from "../help.js";
import { makeClusterDownCommand } from "./cluster/down.js";
import { makeClusterInfoCommand } from "./cluster/info.js";
import { makeClusterUpCommand } from "./cluster/up.js";

/** Builds `axon cluster` and its subcommands. */
export function makeClusterCommand(ctx: CliContext): Command {
  const command = new Command("cluster")
    .description(
      "start, stop and inspect the local cluster, or an aws cluster (--provider aws, --env)",
    )
    .addCommand(makeClusterUpCommand(ctx))
    .addCommand(makeClusterDownCommand(ctx))
    .addCommand(makeClusterInfoCommand(ctx));
  return withExamples(command, [
    ["axon cluster up", "start the local control plane (axon deploy does it too)"],
    ["axon cluster info -o json", "where it listens, its python, its replicas"],
    ["axon cluster down", "stop it; deployed apis come back on the next up"],
    [
      "axon cluster up --provider aws --config cluster.yaml",
      "an ecs fargate cluster: shows what it costs, asks, creates one stack",
    ],
    ["axon cluster down --env demo --yes", "empty its bucket and delete its stack"],
  ]);
}
