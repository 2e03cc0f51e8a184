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
    .addCommand(
      withExamples(makeClusterUpCommand(ctx), [
        ["axon cluster up", "start the local control plane (axon deploy does it too)"],
        [
          "AXON_PYTHON=/usr/bin/python3 axon cluster up --gateway-port 9000",
          "another interpreter and port",
        ],
        ["axon cluster up --service", "write a systemd unit that starts it at boot"],
        [
          "axon cluster up --provider aws --config cluster.yaml",
          "create an aws cluster: shows its cost and asks first",
        ],
      ]),
    )
    .addCommand(
      withExamples(makeClusterDownCommand(ctx), [
        ["axon cluster down", "stop it (asks first on a terminal when apis are serving)"],
        ["axon cluster down --yes", "no question (scripts)"],
        ["axon cluster down --env prod --yes", "delete an aws cluster's stack and bucket"],
      ]),
    )
    .addCommand(
      withExamples(makeClusterInfoCommand(ctx), [
        ["axon cluster info", "where it listens, its python, replicas and disk use"],
        ["axon cluster info -o json", "the same as one JSON document"],
      ]),
    );
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
