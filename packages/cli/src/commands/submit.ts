/** `axon submit <batch-api> <job.json>`: start a job of a BatchAPI and say how to follow it. */
import { Command } from "commander";
import { requireDaemon } from "../client/daemon.js";
import type { CliContext } from "../context.js";
import { resolveHome } from "../context.js";
import { withExamples } from "../help.js";
import { outputOption, type OutputOptions } from "../options.js";
import { printJson } from "../output.js";

/** Builds `axon submit`. */
export function makeSubmitCommand(ctx: CliContext): Command {
  const command = new Command("submit")
    .description("submit a job to a batch api (kind: BatchAPI) and print its id")
    .argument("<api>", "name of a batch api")
    .argument(
      "<file>",
      "the job spec, a JSON file (workers, item_list or an S3 lister, config), or - for stdin",
    )
    .addOption(outputOption())
    .action(async (name: string, file: string, flags: OutputOptions, self: Command) => {
      // The file first: a typo in it is reported without starting or asking the daemon.
      const { readJobFile } = await import("../services/job-file.js");
      const submission = await readJobFile(file === "-" ? { stdin: ctx.stdin } : { file }, ctx.cwd);
      const { targetClient } = await import("../services/target-environment.js");
      const daemon = await requireDaemon(resolveHome(ctx, self), ctx.signal);
      const client = await targetClient(ctx, self, daemon.client);
      const spec = await client.submitJob(name, submission);
      if (flags.output === "json") {
        printJson(ctx.stdout, spec);
        return;
      }
      // The id alone on stdout (so `job=$(axon submit …)` captures it); how to follow it on stderr.
      ctx.stdout.write(`${spec.job_id}\n`);
      const { env } = self.optsWithGlobals<{ env?: string }>();
      const on = env === undefined ? "" : ` --env ${env}`;
      const batches =
        spec.total_batch_count === undefined
          ? ""
          : `: ${spec.total_batch_count} ${spec.total_batch_count === 1 ? "batch" : "batches"}`;
      const workers = `${spec.workers} ${spec.workers === 1 ? "worker" : "workers"}`;
      ctx.stderr.write(
        [
          `submitted job ${spec.job_id} to ${spec.api_name}${batches}, ${workers}`,
          `  follow it:  axon get ${spec.api_name} ${spec.job_id} --watch${on}`,
          `  its logs:   axon logs ${spec.api_name} ${spec.job_id} -f${on}`,
          `  stop it:    axon delete ${spec.api_name} ${spec.job_id}${on}`,
          "",
        ].join("\n"),
      );
    });
  return withExamples(command, [
    ["axon submit image-classifier job.json", "prints the job's id; how to follow it on stderr"],
    ["job=$(axon submit image-classifier job.json)", "the id in a shell variable"],
    ["axon submit image-classifier - < job.json", "the spec from stdin"],
    ["axon submit image-classifier job.json -o json", "the job's spec (Cortex's answer) as JSON"],
  ]);
}
