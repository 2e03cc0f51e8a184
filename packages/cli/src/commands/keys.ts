/** `axon keys`: the API keys of an API with `networking.auth: api_key`. */
import { Command } from "commander";
import type { CliContext } from "../context.js";
import { withExamples } from "../help.js";
import { makeKeysCreateCommand } from "./keys/create.js";
import { makeKeysListCommand } from "./keys/list.js";
import { makeKeysRevokeCommand } from "./keys/revoke.js";

/** Builds `axon keys` and its subcommands. */
export function makeKeysCommand(ctx: CliContext): Command {
  const command = new Command("keys")
    .description("create, list and revoke the API keys of an api (networking.auth: api_key)")
    .addCommand(
      withExamples(makeKeysCreateCommand(ctx), [
        ["axon keys create iris-classifier --name ci", "a key for CI; printed once"],
        ["axon keys create iris-classifier --expires 90d --rate 50/s", "one that expires, limited"],
      ]),
    )
    .addCommand(
      withExamples(makeKeysListCommand(ctx), [
        ["axon keys list iris-classifier", "ids, names, dates (never a key)"],
      ]),
    )
    .addCommand(
      withExamples(makeKeysRevokeCommand(ctx), [
        ["axon keys revoke iris-classifier 3f9a1c2b7d40", "requests with it get 401 from now on"],
      ]),
    );
  return withExamples(command, [
    ["axon keys create iris-classifier --name ci", "a key for CI; printed once"],
    ["axon keys list iris-classifier", "ids, names, dates (never a key)"],
    ["axon keys revoke iris-classifier 3f9a1c2b7d40", "revoke it"],
  ]);
}
