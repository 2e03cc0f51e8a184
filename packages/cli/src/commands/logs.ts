/**
 * `axon logs <api> [job-id]`: print an API's log lines (or a batch job's workers'), filtered, and
 * keep streaming them with `--follow`.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { findDaemon, START_CLUSTER_HINT } from "../client/daemon.js";
import type { CliContext } from "../context.js";
import { resolveHome } from "../context.js";
import { UserError } from "../errors.js";
import { withExamples } from "../help.js";
import { outputOption, parseCount, type OutputOptions } from "../options.js";
import { makePainter } from "../terminal.js";

interface LogsFlags extends OutputOptions {
  follow?: boolean;
  tail?: number;
  since?: Date;
  replica?: string;
  grep?: RegExp;
  requestId?: string;
}

/** Builds `axon logs`. */
export function makeLogsCommand(ctx: CliContext): Command {
  const command = new Command("logs")
    .description("print an api's logs (all replicas and worker processes, interleaved)")
    .argument("<api>", "name of an api")
    .argument("[job-id]", "a job of the batch api: its workers' lines")
    .option("-f, --follow", "keep streaming new lines until Ctrl-C")
    .option(
      "--tail <lines>",
      "how many recent (matching) lines to start with (default: 100, or all with --since)",
      parseCount,
    )
    .addOption(
      new Option(
        "--since <when>",
        "only lines from this long ago (10m, 1h30m) or this time on",
      ).argParser((value) => parseSince(value, ctx.now())),
    )
    .option("--replica <id>", "only lines of this replica (r-3fa2c1, or a prefix like 3fa)")
    .option("--grep <pattern>", "only lines matching this regular expression (any case)", parseGrep)
    .option("--request-id <id>", "only lines about this request (the X-Request-ID of a response)")
    .addOption(outputOption())
    .action(async (name: string, job: string | undefined, flags: LogsFlags, self: Command) => {
      const [{ readApiLogs }, ui] = await Promise.all([
        import("../services/logs.js"),
        import("../ui/logs.js"),
      ]);
      const home = resolveHome(ctx, self);
      // With `--env`, the preAction check (services/target-environment.ts) has started the daemon
      // for an environment other than this machine: its logs are the daemon's to read (CloudWatch).
      const connection = await findDaemon(home, ctx.signal);
      // A job's lines are the daemon's to read; without it there is no file on disk to fall back to.
      if (job !== undefined && connection === undefined) {
        throw new UserError("the local cluster is not running", { hint: START_CLUSTER_HINT });
      }
      // With the local cluster down, the log file on disk (what the workers wrote until it stopped).
      const disk = connection === undefined ? await import("../services/logs-on-disk.js") : null;
      if (disk !== null) {
        const file = disk.apiLogFile(home, name);
        ctx.stderr.write(`note: the local cluster is not running; showing ${file} on disk\n`);
      }
      const { targetClient } = await import("../services/target-environment.js");
      const target =
        connection === undefined ? undefined : await targetClient(ctx, self, connection.client);
      const client =
        target === undefined
          ? disk?.logFileSource(home)
          : job === undefined
            ? target
            : {
                // The job's stream, read (tail, filters, follow) as an API's is.
                streamLogs: (
                  api: string,
                  options: { follow: boolean; tail: number },
                  onText: (text: string) => void,
                ) => target.streamJobLogs(api, job, options, onText),
              };
      if (client === undefined) throw new UserError("the local cluster is not running");
      const json = flags.output === "json";
      // On a terminal (or with colours forced) lines are laid out and coloured; piped, they are
      // the log file's own lines, stable for grep and awk.
      const formatted = ctx.interactive || ctx.color;
      const paint = makePainter(ctx.color);
      await readApiLogs(
        client,
        name,
        {
          follow: flags.follow === true && disk === null,
          tail: flags.tail,
          filter: {
            ...(flags.since === undefined ? {} : { since: flags.since }),
            ...(flags.replica === undefined ? {} : { replica: flags.replica }),
            ...(flags.grep === undefined ? {} : { grep: flags.grep }),
            ...(flags.requestId === undefined ? {} : { requestId: flags.requestId }),
          },
        },
        (record) => {
          if (json) {
            const about = job === undefined ? { api: name } : { api: name, job };
            ctx.stdout.write(`${JSON.stringify({ ...about, ...record })}\n`);
          } else if (formatted) ctx.stdout.write(`${ui.renderLogRecord(record, paint)}\n`);
          else ctx.stdout.write(`${record.line}\n`);
        },
      );
      if (disk !== null && flags.follow === true) {
        throw new UserError("cannot follow: the local cluster is not running", {
          hint: "start it with `axon cluster up` (deployed APIs start again), then `axon logs -f`",
        });
      }
    });
  return withExamples(command, [
    ["axon logs iris-classifier", "the last 100 lines"],
    ["axon logs iris-classifier -f", "then keep following (Ctrl-C stops)"],
    ["axon logs iris-classifier --since 10m --grep 'error|traceback'", "recent trouble"],
    ["axon logs iris-classifier --request-id req-42", "one request's lines"],
    ["axon logs iris-classifier --replica 3fa -f", "one replica, as it happens"],
    ["axon logs iris-classifier -o json | jq -r .message", "one JSON object per line (NDJSON)"],
    ["axon logs image-classifier 69d6faf8a4 -f", "a batch job's workers, as they work"],
  ]);
}

/** `10m`, `1h30m`, `45s`, `2d` ago, or an absolute time (`2026-12-03 17:00`, ISO 8601). */
export function parseSince(value: string, now: Date): Date {
  const duration = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(value.trim());
  if (duration !== null && value.trim() !== "") {
    const [, d = "0", h = "0", m = "0", s = "0"] = duration;
    const seconds = ((Number(d) * 24 + Number(h)) * 60 + Number(m)) * 60 + Number(s);
    return new Date(now.getTime() - seconds * 1000);
  }
  const time = new Date(value.trim().replace(" ", "T"));
  if (/^\d{4}-\d{2}-\d{2}/.test(value.trim()) && !Number.isNaN(time.getTime())) return time;
  throw new InvalidArgumentError(
    `"${value}" is neither a duration (10m, 1h30m, 45s, 2d) nor a time (2026-12-03 17:00).`,
  );
}

/** A case-insensitive regular expression, or a usage error saying what is wrong with it. */
export function parseGrep(value: string): RegExp {
  try {
    return new RegExp(value, "i");
  } catch (error) {
    throw new InvalidArgumentError(
      `"${value}" is not a regular expression (${(error as Error).message}); escape special characters like \\( or \\[.`,
    );
  }
}
