/** `axon delete <api> [job-id]`: stop an API and forget it, or stop one job of a batch API. */
import type { ApiSummary } from "@axon/control-plane/api";
import { Command } from "commander";
import { requireDaemon } from "../client/daemon.js";
import type { CliContext } from "../context.js";
import { resolveHome } from "../context.js";
import { outputOption, type OutputOptions } from "../options.js";
import { withExamples } from "../help.js";
import { printJson } from "../output.js";

interface DeleteFlags extends OutputOptions {
  yes?: boolean;
}

/**
 * An API that is serving (any live replica) has something to lose: its endpoint stops answering.
 * Cortex asked only above two replicas; a script deleting a serving API now says `--yes`.
 */
function hasSomethingToLose(api: ApiSummary): boolean {
  return api.replicas.upToDate + api.replicas.stale > 0;
}

/** Builds `axon delete`. */
export function makeDeleteCommand(ctx: CliContext): Command {
  const command = new Command("delete")
    .description("delete an api, or stop a job of a batch api")
    .argument("<api>", "name of an api")
    .argument("[job-id]", "stop this job of the batch api instead (the api stays)")
    .option("-y, --yes", "do not ask for confirmation")
    .addOption(outputOption())
    .action(async (name: string, job: string | undefined, flags: DeleteFlags, command: Command) => {
      const { targetClient } = await import("../services/target-environment.js");
      const daemon = await requireDaemon(resolveHome(ctx, command), ctx.signal);
      const client = await targetClient(ctx, command, daemon.client);
      if (job !== undefined) {
        // Stopping a job asks nothing (as Cortex's `delete API JOB`): the job is named, the
        // batches already done stay done, and the API stays deployed.
        const stopped = await client.stopJob(name, job);
        if (flags.output === "json") printJson(ctx.stdout, stopped);
        else ctx.stdout.write(`${stopped.message}\n`);
        return;
      }
      if (flags.yes !== true) {
        const api = await client.getApi(name);
        if (hasSomethingToLose(api)) {
          const live = api.replicas.upToDate + api.replicas.stale;
          const { confirmOrCancel } = await import("../ui/prompt.js");
          await confirmOrCancel(
            ctx,
            `delete ${name} (serving on ${live} ${live === 1 ? "replica" : "replicas"} at ${api.endpoint})?`,
            "--yes",
          );
        }
      }
      const result = await client.deleteApi(name);
      if (flags.output === "json") printJson(ctx.stdout, result);
      else ctx.stdout.write(`${result.message}\n`);
    });
  return withExamples(command, [
    ["axon delete iris-classifier", "asks first on a terminal when the api is serving"],
    ["axon delete iris-classifier --yes", "no question (scripts: required when it is serving)"],
    ["axon delete image-classifier 69d6faf8a4", "stop that job (the batch api stays)"],
  ]);
}
