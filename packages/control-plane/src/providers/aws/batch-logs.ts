/**
 * A batch job's log on ECS (issue 32): its workers' streams in the cluster's log group.
 */
import { formatLogTime } from "../../events/log-line.js";
import type { LogSource } from "../provider.js";
import { REPLICA_CONTAINER, logStreamPrefix, type EcsApiDeps } from "./api-names.js";
import { jobTaskArns } from "./batch-workers.js";
import { jobNotFound, readRecord } from "./batch-records.js";
import { callAws } from "./cluster-stack.js";

/**
 * A job's log: its workers' streams (`<api>/replica/<task id>`) in the cluster's log group, read
 * with FilterLogEvents by stream name (at most 100 names per call), followed by polling.
 */
export async function ecsJobLogSource(
  deps: EcsApiDeps,
  api: string,
  jobId: string,
  options: { pollMs?: number } = {},
): Promise<LogSource> {
  const record = await readRecord(deps, api, jobId);
  if (record === undefined) throw jobNotFound(deps, api, jobId);
  const streams = async (): Promise<string[]> =>
    (await jobTaskArns(deps, record)).map(
      (arn) => `${logStreamPrefix(api)}/${REPLICA_CONTAINER}/${arn.split("/").at(-1) ?? arn}`,
    );
  const read = async (
    startTime: number,
    signal: AbortSignal,
  ): Promise<Array<{ time: number; line: string; id: string }>> => {
    const names = (await streams()).slice(0, 100);
    if (names.length === 0) return [];
    const events: Array<{ time: number; line: string; id: string }> = [];
    let nextToken: string | undefined;
    do {
      const page = await callAws({ ...deps, signal }, "logs:FilterLogEvents", () =>
        deps.ports.logs.filterLogEvents({
          logGroupName: deps.refs.logGroupName,
          logStreamNames: names,
          startTime,
          ...(nextToken === undefined ? {} : { nextToken }),
        }),
      );
      for (const event of page.events ?? []) {
        const task = (event.logStreamName ?? "").split("/").at(-1)?.slice(0, 8) ?? "";
        const time = event.timestamp ?? 0;
        events.push({
          time,
          id: event.eventId ?? `${time}/${event.message ?? ""}`,
          line: `${formatLogTime(new Date(time))} INFO [${api} ${task} ${jobId}] ${(event.message ?? "").trimEnd()}\n`,
        });
      }
      nextToken = page.nextToken;
    } while (nextToken !== undefined && !signal.aborted);
    return events.sort((a, b) => a.time - b.time);
  };
  const since = Date.parse(record.job.created_time) || 0;
  const pollMs = options.pollMs ?? 2000;
  return {
    tail: async (_name, lines) => {
      const events = await read(since, deps.signal);
      const kept = lines <= 0 ? [] : events.slice(-lines);
      return {
        text: kept.map((event) => event.line).join(""),
        position: events.at(-1)?.time ?? since,
      };
    },
    follow: async (_name, position, onData, signal) => {
      const seen = new Set<string>();
      let from = position;
      while (!signal.aborted) {
        // Events arrive seconds late: re-read the last 15 s, and write each event once.
        for (const event of await read(Math.max(since, from - 15_000), signal)) {
          if (event.time <= position || seen.has(event.id)) continue;
          seen.add(event.id);
          from = Math.max(from, event.time);
          onData(Buffer.from(event.line));
        }
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, pollMs);
          signal.addEventListener(
            "abort",
            () => {
              clearTimeout(timer);
              resolve(undefined);
            },
            { once: true },
          );
        });
      }
    },
  };
}
