/** `axon env`: the environments commands act on (`local`, and AWS clusters). */
import { Command } from "commander";
import type { CliContext } from "../context.js";
import { withExamples } from "../help.js";
import { makeEnvAddCommand } from "./env/add.js";
import { makeEnvListCommand } from "./env/list.js";
import { makeEnvRemoveCommand } from "./env/remove.js";
import { makeEnvUseCommand } from "./env/use.js";

/** Builds `axon env` and its subcommands. */
export function makeEnvCommand(ctx: CliContext): Command {
  const command = new Command("env")
    .description("list, add, choose and remove environments (local, or aws clusters)")
    .addCommand(
      withExamples(makeEnvListCommand(ctx), [
        ["axon env list", "every environment; * marks the default"],
        ["axon env list -o json", "the same as one JSON document"],
      ]),
    )
    .addCommand(
      withExamples(makeEnvAddCommand(ctx), [
        ["axon env add prod --provider aws --region eu-west-1", "register an existing aws cluster"],
      ]),
    )
    .addCommand(
      withExamples(makeEnvUseCommand(ctx), [
        ["axon env use prod", "make prod the default for every command"],
        ["axon env use local", "back to this machine"],
      ]),
    )
    .addCommand(
      withExamples(makeEnvRemoveCommand(ctx), [
        ["axon env remove prod", "forget the environment (its cluster is not deleted)"],
      ]),
    );
  return withExamples(command, [
    ["axon env list", "every environment; * marks the default"],
    ["axon env add prod --provider aws --region eu-west-1", "register an existing aws cluster"],
    ["axon env use prod", "make prod the default for every command"],
    ["axon cluster info --env prod", "one command on another environment"],
  ]);
}
