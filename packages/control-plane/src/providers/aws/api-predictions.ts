/**
 * Prediction monitoring of an API on ECS, read back: the tallies its replicas print a minute at a
 * time (`replica/prediction-lines.ts`) are found in the cluster's log group by FilterLogEvents
 * (the API's streams, the line's key as the filter term), every page, and parsed. The sums, the
 * baseline and the drift are `monitoring/summary.ts`'s, as for a local API.
 */
import {
  parsePredictionLine,
  PREDICTION_LINE_KEY,
  type PredictionLine,
} from "../../replica/prediction-lines.js";
import { logStreamPrefix, type EcsApiDeps } from "./api-names.js";
import { callAws } from "./cluster-stack.js";

/** At most this many lines are read for one `get` (a day of 100 replicas' minutes is 144,000). */
const MAX_LINES = 200_000;

/** The API's prediction lines written from `since` (ms) on, oldest first. */
export async function readAwsPredictions(
  deps: EcsApiDeps,
  apiName: string,
  since: number,
): Promise<PredictionLine[]> {
  const prefix = `${logStreamPrefix(apiName)}/`;
  const lines: PredictionLine[] = [];
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const page = await callAws(deps, "logs:FilterLogEvents", () =>
      deps.ports.logs.filterLogEvents({
        logGroupName: deps.refs.logGroupName,
        logStreamNamePrefix: prefix,
        startTime: since,
        filterPattern: `"${PREDICTION_LINE_KEY}"`,
        ...(token === undefined ? {} : { nextToken: token }),
      }),
    );
    for (const event of page.events ?? []) {
      // Checked here too: the stream prefix and the filter are AWS's; an emulator may ignore them.
      if (!(event.logStreamName ?? "").startsWith(prefix)) continue;
      const line = parsePredictionLine(event.message ?? "");
      if (line !== undefined && line.api === apiName) lines.push(line);
    }
    nextToken = page.nextToken;
  } while (
    nextToken !== undefined &&
    nextToken !== "" &&
    lines.length < MAX_LINES &&
    !deps.signal.aborted
  );
  return lines.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}
