/** `axon predict <api> [file|-]`: POST a JSON payload to an API and print its answer. */
import { Command } from "commander";
import { requireDaemon } from "../client/daemon.js";
import type { CliContext } from "../context.js";
import { resolveHome } from "../context.js";
import { UserError } from "../errors.js";

/** Builds `axon predict`. */
export function makePredictCommand(ctx: CliContext): Command {
  return new Command("predict")
    .description("send a JSON payload to an api and print the response")
    .argument("<api>", "name of an api")
    .argument("[file]", "JSON file to send, or - to read stdin")
    .action(async (name: string, file: string | undefined, _flags: unknown, command: Command) => {
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
      const { client } = await requireDaemon(resolveHome(ctx, command), ctx.signal);
      const response = await service.predict(client, name, payload, ctx.signal);
      ctx.stdout.write(response.body.endsWith("\n") ? response.body : `${response.body}\n`);
    });
}
