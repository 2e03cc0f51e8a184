/** `axon get [api]`: the status of every API, or the details of one; `--watch` keeps it live. */
import { Command } from "commander";
import type { EngineNotSupportedCode } from "@axon/control-plane/api";
import type { ApiClient } from "../client/api-client.js";
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
/** What the daemon answers for live events on an engine that has none. */
const NOT_SUPPORTED: EngineNotSupportedCode = "engine.not_supported";

/** Builds `axon get`. */
export function makeGetCommand(ctx: CliContext): Command {
  const command = new Command("get")
    .description("show the status of every api, or the details of one")
    .argument("[api]", "name of an api")
    .option(
      "-w, --watch",
      "keep the view live until Ctrl-C: redrawn every second (on ECS every 10 s, with the load balancer's per-minute numbers)",
    )
    .option(
      "--since <duration>",
      "start of the prediction monitoring range, back from now (default: since the current version went live)",
    )
    .addOption(outputOption())
    .action(async (name: string | undefined, flags: GetFlags, self: Command) => {
      const home = resolveHome(ctx, self);
      const { env } = self.optsWithGlobals<{ env?: string }>();
      if (flags.watch !== true) {
        const { runGetOnce } = await import("./get-once.js");
        return runGetOnce(ctx, {
          home,
          ...(env === undefined ? {} : { env }),
          ...(name === undefined ? {} : { name }),
          ...(flags.since === undefined ? {} : { since: flags.since }),
          output: flags.output,
        });
      }
      const { targetClient } = await import("../services/target-environment.js");
      const daemon = await requireDaemon(home, ctx.signal);
      const client = await targetClient(ctx, self, daemon.client);
      return watch(ctx, client, name, flags.output === "json");
    });
  return withExamples(command, [
    ["axon get", "every api: status, replicas, requests, latency"],
    ["axon get iris-classifier", "one api: endpoint, example curl, configuration, events"],
    ["axon get iris-classifier --since 1h", "with what it predicted in the last hour, and drift"],
    ["axon get --watch", "every api, redrawn every second, with requests/s sparklines"],
    ["axon get iris-classifier -w", "one api live: replicas, requests/s and p99 trends, events"],
    ["axon get -o json", "the ApiListResponse as one JSON document"],
    ["axon get -w -o json", "one JSON document per second (NDJSON), until Ctrl-C"],
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
        ctx.stdout.write(`${JSON.stringify(snapshot.detail ?? { apis: snapshot.apis })}\n`);
        return;
      }
      // Plain text is printed again only when something other than the clock changed.
      const data = JSON.stringify(snapshot.detail ?? snapshot.apis);
      if (data === previous) return;
      const text =
        snapshot.detail === undefined
          ? ui.renderApiList({ apis: snapshot.apis }, ctx.now(), ctx.columns)
          : ui.renderApiDetail(snapshot.detail, ctx.now());
      ctx.stdout.write(`${previous === "" ? "" : "\n"}${text}\n`);
      previous = data;
    },
  );
}
