/**
 * One look of `axon get [api]` (no `--watch`): the daemon's answer printed as JSON or as the table
 * or the detail view. Shared by the `get` command's action and by `main.ts`'s fast path, which runs
 * the plain forms (`axon get`, `axon get NAME`, with `-o json|pretty`) without loading commander —
 * commander alone costs about as much start-up as the rest of `axon get` (DESIGN's 2.5x budget), and
 * `get` is the command scripts poll. So this module imports nothing of commander.
 */
import { notRunningWhenRefused, requireRecordedDaemon } from "../client/daemon.js";
import type { CliContext } from "../context.js";
import { ApiError } from "../errors.js";
import type { OutputFormat } from "../output.js";
import { printJson } from "../output.js";
import { targetClientFor } from "../services/target-environment.js";

/** What one look needs, whichever parser produced it. */
export interface GetOnceRequest {
  /** The `$AXON_HOME` folder, resolved. */
  home: string;
  /** `--env`, when given. */
  env?: string;
  /** One api's details instead of the list. */
  name?: string;
  /** `--since`: the start of the prediction monitoring range, for one api. */
  since?: string;
  output: OutputFormat;
}

/** Prints the api list, or one api's details, once. */
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
  let api;
  try {
    api = await notRunningWhenRefused(
      client.getApi(request.name, request.since === undefined ? {} : { since: request.since }),
    );
  } catch (error) {
    // Not an api: a TrafficSplitter of that name is shown from the list (its weights, shares
    // and error rates are there); anything else stays the error it was.
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
    const splitter = (await client.listApis()).trafficSplitters?.find(
      (candidate) => candidate.name === request.name,
    );
    if (splitter === undefined) throw error;
    if (request.output === "json") return printJson(ctx.stdout, splitter);
    const { renderSplitterDetail } = await import("../ui/splitter-detail.js");
    ctx.stdout.write(`${renderSplitterDetail(splitter, ctx.now())}\n`);
    return;
  }
  if (request.output === "json") return printJson(ctx.stdout, api);
  const { renderApiDetail } = await import("../ui/apis.js");
  ctx.stdout.write(`${renderApiDetail(api, ctx.now())}\n`);
}
