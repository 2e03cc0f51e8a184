/**
 * `axon get [api] [job-id]`: the status of every API, the details of one (a BatchAPI's: its jobs),
 * or one batch job; `--watch` keeps it live.
 */
import { Command } from "commander";
import type {
  BatchApiSummary,
  BatchJobResponse,
  EngineNotSupportedCode,
} from "@axon/control-plane/api";
import type { ApiClient } from "../client/api-client.js";
import type { WatchSnapshot } from "../services/watch.js";
import { requireDaemon } from "../client/daemon.js";
import type { CliContext } from "../context.js";
import { resolveHome } from "../context.js";
import { withExamples } from "../help.js";
import { outputOption, type OutputOptions } from "../options.js";

interface GetFlags extends OutputOptions {
  watch?: boolean;
  since?: string;
}

/** How often `--watch` looks at the control plane. */
const WATCH_INTERVAL_MS = 1000;
/** How often a job's `--watch` looks (Cortex's 2 s: a job's counts move by batches, not requests). */
const JOB_WATCH_INTERVAL_MS = 2000;
/** What the daemon answers for live events on an engine that has none. */
const NOT_SUPPORTED: EngineNotSupportedCode = "engine.not_supported";

/** Builds `axon get`. */
export function makeGetCommand(ctx: CliContext): Command {
  const command = new Command("get")
    .description(
      "show the status of every api, the details of one (a batch api: its jobs), or one batch job",
    )
    .argument("[api]", "name of an api")
    .argument("[job-id]", "a job of the batch api (from `axon submit` or `axon get <batch-api>`)")
    .option(
      "-w, --watch",
      "keep the view live until Ctrl-C: redrawn every second (on ECS every 10 s, with the load balancer's per-minute numbers)",
    )
    .option(
      "--since <duration>",
      "start of the prediction monitoring range, back from now (default: since the current version went live)",
    )
    .addOption(outputOption())
    .action(
      async (name: string | undefined, job: string | undefined, flags: GetFlags, self: Command) => {
        const home = resolveHome(ctx, self);
        const { env } = self.optsWithGlobals<{ env?: string }>();
        if (flags.watch !== true) {
          const { runGetOnce } = await import("./get-once.js");
          return runGetOnce(ctx, {
            home,
            ...(env === undefined ? {} : { env }),
            ...(name === undefined ? {} : { name }),
            ...(job === undefined ? {} : { job }),
            ...(flags.since === undefined ? {} : { since: flags.since }),
            output: flags.output,
          });
        }
        const { targetClient } = await import("../services/target-environment.js");
        const daemon = await requireDaemon(home, ctx.signal);
        const client = await targetClient(ctx, self, daemon.client);
        if (name !== undefined && job !== undefined) {
          return watchJob(ctx, client, name, job, flags.output === "json");
        }
        try {
          return await watch(ctx, client, name, flags.output === "json");
        } catch (error) {
          // Not a realtime API: a BatchAPI's jobs, redrawn as text when they change; a
          // TrafficSplitter's detail, redrawn at each look.
          const other = name === undefined ? undefined : await otherKind(client, name, error);
          if (name === undefined || other === undefined) throw error;
          if (other === "splitter")
            return watchSplitter(ctx, client, name, flags.output === "json");
          return watchJobList(ctx, client, name, flags.output === "json");
        }
      },
    );
  return withExamples(command, [
    ["axon get", "every api: status, replicas, requests, latency"],
    ["axon get iris-classifier", "one api: endpoint, example curl, configuration, events"],
    ["axon get iris-classifier --since 1h", "with what it predicted in the last hour, and drift"],
    ["axon get --watch", "every api, redrawn every second, with requests/s sparklines"],
    ["axon get iris-classifier -w", "one api live: replicas, requests/s and p99 trends, events"],
    ["axon get -o json", "the ApiListResponse as one JSON document"],
    ["axon get image-classifier", "a batch api: its jobs, progress, rate and eta"],
    [
      "axon get image-classifier 69d6faf8a4 -w",
      "one job live: a progress bar until it ends (exit 0 if it succeeded, else 1)",
    ],
    ["axon get -w -o json", "one JSON document per second (NDJSON), until Ctrl-C"],
    ["axon get iris-ab -w", "a traffic splitter live: each api's weight, requests, share, errors"],
    [
      "axon get iris-classifier -w --env prod",
      "on ECS: requests/s, 5xx rate and p99 per minute from the load balancer, every 10 s",
    ],
  ]);
}

/**
 * `--watch`: the ink screen on a terminal; otherwise one JSON document per look (`-o json`), or
 * the plain view again each time it changes. Ends with Ctrl-C (130) or when a look fails.
 */
async function watch(
  ctx: CliContext,
  client: ApiClient,
  name: string | undefined,
  json: boolean,
): Promise<void> {
  const { lookOnce, pollApis } = await import("../services/watch.js");
  if (ctx.terminal !== undefined && !json) {
    const { renderApiWatch } = await import("../ui/live-watch.js");
    await renderApiWatch(ctx.terminal, {
      color: ctx.color,
      signal: ctx.signal,
      source: {
        look: () => lookOnce(client, name, ctx.now),
        ...(name === undefined
          ? {}
          : {
              follow: (onEvent, stop) =>
                client
                  .streamEvents({ api: name, stop }, (line) =>
                    onEvent({ time: line.time, level: line.level, message: line.message }),
                  )
                  .catch(async (error: unknown) => {
                    // An engine without a live stream (ECS): each look's events are the events.
                    const { ApiError } = await import("../errors.js");
                    if (error instanceof ApiError && error.code === NOT_SUPPORTED) return;
                    throw error;
                  }),
            }),
        intervalMs: WATCH_INTERVAL_MS,
        now: ctx.now,
      },
    });
    return;
  }
  const ui = await import("../ui/apis.js");
  let previous = "";
  await pollApis(
    client,
    { name, intervalMs: WATCH_INTERVAL_MS, signal: ctx.signal, now: ctx.now },
    (snapshot) => {
      if (json) {
        const list = { apis: snapshot.apis, ...pickBatchApis(snapshot) };
        ctx.stdout.write(`${JSON.stringify(snapshot.detail ?? list)}\n`);
        return;
      }
      // Plain text is printed again only when something other than the clock changed.
      const data = JSON.stringify(snapshot.detail ?? [snapshot.apis, snapshot.batchApis]);
      if (data === previous) return;
      const text =
        snapshot.detail === undefined
          ? ui.renderApiList(
              { apis: snapshot.apis, ...pickBatchApis(snapshot) },
              ctx.now(),
              ctx.columns,
            )
          : ui.renderApiDetail(snapshot.detail, ctx.now());
      ctx.stdout.write(`${previous === "" ? "" : "\n"}${text}\n`);
      previous = data;
    },
  );
}

/** The snapshot's BatchAPIs as the list's field, when it has any. */
function pickBatchApis(snapshot: WatchSnapshot): { batchApis?: BatchApiSummary[] } {
  return snapshot.batchApis === undefined ? {} : { batchApis: snapshot.batchApis };
}

/**
 * `get <api> <job> --watch`: a live progress bar on a terminal; otherwise one JSON document (`-o
 * json`) or one plain line per look that changed something. Ends when the job does: exit 0 when
 * it succeeded, 1 (saying how it ended) otherwise, so a script can wait on it.
 */
async function watchJob(
  ctx: CliContext,
  client: ApiClient,
  name: string,
  jobId: string,
  json: boolean,
): Promise<void> {
  const [{ pollJob }, ui] = await Promise.all([
    import("../services/jobs.js"),
    import("../ui/jobs.js"),
  ]);
  const options = { intervalMs: JOB_WATCH_INTERVAL_MS, signal: ctx.signal };
  let last: BatchJobResponse;
  if (ctx.terminal !== undefined && !json) {
    const { startLiveJob } = await import("../ui/live-job.js");
    const view = startLiveJob(ctx.terminal, { color: ctx.color, now: ctx.now });
    try {
      last = await pollJob(client, name, jobId, options, (look) => view.show(look));
    } finally {
      await view.stop();
    }
  } else {
    let previous = "";
    last = await pollJob(client, name, jobId, options, (look) => {
      if (json) return ctx.stdout.write(`${JSON.stringify(look)}\n`);
      const data = JSON.stringify(look.job_status);
      if (data !== previous) ctx.stdout.write(`${ui.renderJobLine(look.job_status, ctx.now())}\n`);
      previous = data;
    });
  }
  const status = last.job_status.status;
  if (status === "status_succeeded") return;
  const { UserError } = await import("../errors.js");
  throw new UserError(`job ${jobId} of ${name} ended: ${ui.jobStatusWords(status)}`, {
    ...(last.job_status.status_message === undefined
      ? {}
      : { details: last.job_status.status_message }),
    nextSteps: [`axon get ${name} ${jobId}`, `axon logs ${name} ${jobId}`],
  });
}

/**
 * What `name` is when `error` (a look that failed) says there is no such API: a BatchAPI's or a
 * TrafficSplitter's name; undefined otherwise (the error is the answer).
 */
async function otherKind(
  client: ApiClient,
  name: string,
  error: unknown,
): Promise<"batch" | "splitter" | undefined> {
  const { ApiError } = await import("../errors.js");
  if (!(error instanceof ApiError) || error.code !== "api.not_found") return undefined;
  const { lookUpApi } = await import("../services/jobs.js");
  const found = await lookUpApi(client, name, {}).catch(() => undefined);
  return found?.kind === "batch" || found?.kind === "splitter" ? found.kind : undefined;
}

/**
 * `get <splitter> --watch`: its detail redrawn at each look on a terminal (shares and error rates
 * move as requests come); otherwise one JSON document per look (`-o json`), or the plain detail
 * again whenever its numbers change. Ends with Ctrl-C (130), or when the splitter is deleted.
 */
async function watchSplitter(
  ctx: CliContext,
  client: ApiClient,
  name: string,
  json: boolean,
): Promise<never> {
  const [{ pollSplitter }, { renderSplitterDetail }] = await Promise.all([
    import("../services/watch.js"),
    import("../ui/splitter-detail.js"),
  ]);
  const options = { intervalMs: WATCH_INTERVAL_MS, signal: ctx.signal, now: ctx.now };
  if (ctx.terminal !== undefined && !json) {
    const { startLiveSplitter } = await import("../ui/live-splitter.js");
    const view = startLiveSplitter(ctx.terminal, {
      color: ctx.color,
      now: ctx.now,
      intervalMs: WATCH_INTERVAL_MS,
    });
    try {
      return await pollSplitter(client, name, options, (look) => view.show(look));
    } finally {
      await view.stop();
    }
  }
  let previous = "";
  return pollSplitter(client, name, options, (look) => {
    if (json) {
      ctx.stdout.write(`${JSON.stringify(look.splitter)}\n`);
      return;
    }
    // Printed again only when the numbers changed, not the clock ("last update: 3m ago").
    const data = JSON.stringify(look.splitter);
    if (data === previous) return;
    const text = renderSplitterDetail(look.splitter, ctx.now());
    ctx.stdout.write(`${previous === "" ? "" : "\n"}${text}\n`);
    previous = data;
  });
}

/** `get <batch-api> --watch`: its jobs again whenever they change (NDJSON with `-o json`). */
async function watchJobList(
  ctx: CliContext,
  client: ApiClient,
  name: string,
  json: boolean,
): Promise<never> {
  const [{ sleep }, ui] = await Promise.all([import("../context.js"), import("../ui/jobs.js")]);
  let previous = "";
  for (;;) {
    const list = await client.listJobs(name);
    if (json) ctx.stdout.write(`${JSON.stringify(list)}\n`);
    else {
      const data = JSON.stringify(list);
      if (data !== previous) {
        ctx.stdout.write(`${previous === "" ? "" : "\n"}${ui.renderJobList(list, ctx.now())}\n`);
      }
      previous = data;
    }
    await sleep(JOB_WATCH_INTERVAL_MS, ctx.signal);
  }
}
