/** `axon predict <api> [file|-]`: POST a JSON payload to an API and print its answer. */
import { Command } from "commander";
import { requireDaemon } from "../client/daemon.js";
import type { CliContext } from "../context.js";
import { resolveHome } from "../context.js";
import { UserError } from "../errors.js";
import { outputOption, type OutputOptions } from "../options.js";
import { withExamples } from "../help.js";
import { printJson } from "../output.js";

interface PredictFlags extends OutputOptions {
  key?: string;
}

/** Builds `axon predict`. */
export function makePredictCommand(ctx: CliContext): Command {
  const command = new Command("predict")
    .description("send a JSON payload to an api and print the response")
    .argument("<api>", "name of an api")
    .argument("[file]", "JSON file to send, or - to read stdin")
    .option(
      "--key <key>",
      "API key for an api with networking.auth: api_key, sent as Authorization: Bearer (default: $AXON_API_KEY, which keeps the key out of the shell history)",
    )
    .addOption(outputOption())
    .action(
      async (name: string, file: string | undefined, flags: PredictFlags, command: Command) => {
        const service = await import("../services/predict.js");
        if (file === undefined && ctx.interactive) {
          throw new UserError("no payload given", {
            hint: `pass a JSON file (\`axon predict ${name} sample.json\`) or pipe one in with -`,
          });
        }
        const payload = await service.readJsonPayload(
          file === undefined || file === "-" ? { stdin: ctx.stdin } : { file },
          ctx.cwd,
        );
        const { targetClient } = await import("../services/target-environment.js");
        const daemon = await requireDaemon(resolveHome(ctx, command), ctx.signal);
        const client = await targetClient(ctx, command, daemon.client);
        const key = service.chooseApiKey(flags.key, ctx.env);
        const response = await service.predict(client, name, payload, ctx.signal, key);
        if (flags.output === "json") {
          // The answer as data: a JSON body is nested as JSON, anything else as its text.
          printJson(ctx.stdout, {
            api: name,
            status: response.status,
            contentType: response.contentType,
            body: parseJsonBody(response.contentType, response.body),
          });
          return;
        }
        ctx.stdout.write(response.body.endsWith("\n") ? response.body : `${response.body}\n`);
      },
    );
  return withExamples(command, [
    ["axon predict iris-classifier sample.json", "POST sample.json and print the answer"],
    ["echo '[5.9, 3.0, 5.1, 1.8]' | axon predict iris-classifier -", "the payload from stdin"],
    ["axon predict iris-classifier sample.json -o json", "status, content type and body as JSON"],
    [
      "AXON_API_KEY=axon_... axon predict iris-classifier sample.json",
      "an api that requires keys (make one with `axon keys create iris-classifier`)",
    ],
  ]);
}

function parseJsonBody(contentType: string | null, body: string): unknown {
  if (contentType === null || !/^application\/(.+\+)?json\b/i.test(contentType)) return body;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}
