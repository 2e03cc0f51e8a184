/**
 * Batch jobs as data for `axon get`: which kind of API a name is (its detail, or its jobs when it
 * is a BatchAPI), and the looks of `axon get <api> <job-id> --watch`. Pure except for the client
 * it is given; nothing prints.
 */
import type {
  ApiDetail,
  BatchJobList,
  BatchJobResponse,
  BatchJobStatusCode,
  EngineNotSupportedCode,
  TrafficSplitterSummary,
} from "@axon/control-plane/api";
import type { ApiClient } from "../client/api-client.js";
import { sleep } from "../context.js";
import { ApiError } from "../errors.js";

/** What `axon get NAME` found: a realtime API's detail, a TrafficSplitter, or a BatchAPI's jobs. */
export type ApiLookup =
  | { kind: "api"; detail: ApiDetail }
  | { kind: "splitter"; splitter: TrafficSplitterSummary }
  | { kind: "batch"; jobs: BatchJobList };

/** The code the control plane answers for a name it has no API of. */
const API_NOT_FOUND = "api.not_found";
const ENGINE_NOT_SUPPORTED: EngineNotSupportedCode = "engine.not_supported";

/**
 * `GET /v1/apis/:name`, and for a BatchAPI its jobs instead. One request for a realtime API (the
 * common case, and the one scripts poll); a second only when the name is a BatchAPI's — which the
 * detail says (`kind`), or which the detail route does not describe (a not-found there, while the
 * jobs route knows the name). When the jobs route does not know it either, the first answer (the
 * not-found naming the API) is the one the user sees. A TrafficSplitter is found in the list (its
 * weights, shares and error rates are there), asked only after a not-found.
 */
export async function lookUpApi(
  client: Pick<ApiClient, "getApi" | "listJobs" | "listApis">,
  name: string,
  options: { since?: string },
): Promise<ApiLookup> {
  let detail: ApiDetail;
  try {
    detail = await client.getApi(name, options);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
    const splitter = (await client.listApis()).trafficSplitters?.find(
      (candidate) => candidate.name === name,
    );
    if (splitter !== undefined) return { kind: "splitter", splitter };
    if (error.code !== API_NOT_FOUND) throw error;
    try {
      return { kind: "batch", jobs: await client.listJobs(name) };
    } catch (jobsError) {
      // Not a BatchAPI either (or an engine without batch jobs): the API is not deployed.
      const refused =
        jobsError instanceof ApiError &&
        (jobsError.status < 500 || jobsError.code === ENGINE_NOT_SUPPORTED);
      throw refused ? error : jobsError;
    }
  }
  // An engine may describe a BatchAPI on the detail route too: its jobs are what `get` shows.
  if ((detail.kind as string) === "BatchAPI") {
    return { kind: "batch", jobs: await client.listJobs(name) };
  }
  return { kind: "api", detail };
}

/** True while the job can still change: enqueuing or running (Cortex's `IsInProgress`). */
export function isJobInProgress(code: BatchJobStatusCode): boolean {
  return code === "status_enqueuing" || code === "status_running";
}

/** What to watch and how often. */
export interface JobPollOptions {
  intervalMs: number;
  signal: AbortSignal;
}

/**
 * Looks at the job every `intervalMs`, handing each answer to `onLook`, until the job has ended
 * (resolves with its last look), Ctrl-C (throws `InterruptedError`) or a failed look (throws it).
 */
export async function pollJob(
  client: Pick<ApiClient, "getJob">,
  name: string,
  jobId: string,
  options: JobPollOptions,
  onLook: (look: BatchJobResponse) => void | Promise<void>,
): Promise<BatchJobResponse> {
  for (;;) {
    const started = Date.now();
    const look = await client.getJob(name, jobId);
    await onLook(look);
    if (!isJobInProgress(look.job_status.status)) return look;
    await sleep(Math.max(0, options.intervalMs - (Date.now() - started)), options.signal);
  }
}
