/**
 * One look of `axon get [api] [job-id]` (no `--watch`): the daemon's answer printed as JSON or as
 * the table or the detail view (a BatchAPI's jobs; with a job id, that job). Shared by the `get`
 * command's action and by `main.ts`'s fast path, which runs the plain forms (`axon get`,
 * `axon get NAME`, `axon get NAME JOB`, with `-o json|pretty`) without loading commander —
 * commander alone costs about as much start-up as the rest of `axon get` (DESIGN's 2.5x budget),
 * and `get` is the command scripts poll. So this module imports nothing of commander.
 */
import { notRunningWhenRefused, requireRecordedDaemon } from "../client/daemon.js";
import type { CliContext } from "../context.js";
import type { OutputFormat } from "../output.js";
import { printJson } from "../output.js";
import { targetClientFor } from "../services/target-environment.js";

/** What one look needs, whichever parser produced it. */
export interface GetOnceRequest {
  /** The `$AXON_HOME` folder, resolved. */
  home: string;
  /** `--env`, when given. */
  env?: string;
  /** One api's details instead of the list (a BatchAPI's: its jobs). */
  name?: string;
  /** One job of the BatchAPI `name`. */
  job?: string;
  /** `--since`: the start of the prediction monitoring range, for one api. */
  since?: string;
  output: OutputFormat;
}

/** Prints the api list, one api's details (a BatchAPI's jobs), or one job, once. */
export async function runGetOnce(ctx: CliContext, request: GetOnceRequest): Promise<void> {
  const daemon = await requireRecordedDaemon(request.home, ctx.signal);
  const client = await targetClientFor(ctx, request.env, daemon);
  // The views load only for the human form: `-o json` is the one scripts poll.
  if (request.name === undefined) {
    const list = await notRunningWhenRefused(client.listApis());
    if (request.output === "json") return printJson(ctx.stdout, list);
    const { renderApiList } = await import("../ui/apis.js");
    ctx.stdout.write(`${renderApiList(list, ctx.now(), ctx.columns)}\n`);
    return;
  }
  if (request.job !== undefined) {
    const job = await notRunningWhenRefused(client.getJob(request.name, request.job));
    if (request.output === "json") return printJson(ctx.stdout, job);
    const { renderJobDetail } = await import("../ui/jobs.js");
    ctx.stdout.write(`${renderJobDetail(job, ctx.now())}\n`);
    return;
  }
  // A name is a realtime API's or a BatchAPI's (its jobs are listed): one request for the first.
  const { lookUpApi } = await import("../services/jobs.js");
  const found = await notRunningWhenRefused(
    lookUpApi(client, request.name, request.since === undefined ? {} : { since: request.since }),
  );
  if (found.kind === "batch") {
    if (request.output === "json") return printJson(ctx.stdout, found.jobs);
    const { renderJobList } = await import("../ui/jobs.js");
    ctx.stdout.write(`${renderJobList(found.jobs, ctx.now())}\n`);
    return;
  }
  if (found.kind === "splitter") {
    if (request.output === "json") return printJson(ctx.stdout, found.splitter);
    const { renderSplitterDetail } = await import("../ui/splitter-detail.js");
    ctx.stdout.write(`${renderSplitterDetail(found.splitter, ctx.now())}\n`);
    return;
  }
  if (request.output === "json") return printJson(ctx.stdout, found.detail);
  const { renderApiDetail } = await import("../ui/apis.js");
  ctx.stdout.write(`${renderApiDetail(found.detail, ctx.now())}\n`);
}
