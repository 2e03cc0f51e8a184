/**
 * Cortex's data plane of a BatchAPI, on its own endpoint (cortexlabs/cortex:v0.20.0
 * docs/deployments/batch-api/endpoints.md), served by the local gateway for the engine:
 *
 *   POST   <endpoint>                 submit a job (BatchJobSubmission) → BatchJobSpec
 *   GET    <endpoint>/<job_id>        → BatchJobResponse   (also `GET <endpoint>?jobID=<id>`,
 *                                                           as later Cortex versions had it)
 *   GET    <endpoint>                 → BatchJobList
 *   DELETE <endpoint>/<job_id>        → {"message": "stopped job <job_id>"}  (also `?jobID=`)
 *
 * Errors are the control API's `{code, message, hint}` bodies with their statuses (a malformed
 * job spec is a 400 naming the field).
 */
import { toErrorBody } from "../errors.js";
import type { FrontRequest, Responder } from "../replica/front-server.js";
import type { BatchRouteHandler } from "../providers/local/gateway.js";
import type {
  BatchJobList,
  BatchJobResponse,
  BatchJobSpec,
  BatchJobStopped,
  BatchJobSubmission,
} from "../contract/index.js";
import { DomainError, REQUEST_INVALID } from "../errors.js";
import { MAX_SUBMISSION_BYTES } from "./job-submission.js";

/** The verbs the data plane calls (the engine's, for one API). */
export interface BatchJobVerbs {
  submitJob(name: string, submission: BatchJobSubmission): Promise<BatchJobSpec>;
  listJobs(name: string): Promise<BatchJobList>;
  getJob(name: string, jobId: string): Promise<BatchJobResponse>;
  stopJob(name: string, jobId: string): Promise<BatchJobStopped>;
}

/** The gateway handler of batch API `apiName`'s endpoint. */
export function batchDataPlane(apiName: string, verbs: BatchJobVerbs): BatchRouteHandler {
  return (request, subpath, responder, requestId) => {
    answer(apiName, verbs, request, subpath).then(
      ({ status, body }) => send(responder, status, requestId, body),
      (error: unknown) => {
        const { status, body } = toErrorBody(error);
        send(responder, status, requestId, body);
      },
    );
  };
}

async function answer(
  apiName: string,
  verbs: BatchJobVerbs,
  request: FrontRequest,
  subpath: string,
): Promise<{ status: number; body: unknown }> {
  const query = new URLSearchParams(
    request.url.includes("?") ? request.url.slice(request.url.indexOf("?") + 1) : "",
  );
  const jobId = subpath !== "" ? decodeURIComponent(subpath) : (query.get("jobID") ?? undefined);
  const method = request.method === "HEAD" ? "GET" : request.method;
  if (method === "POST" && jobId === undefined) {
    if (request.body.length > MAX_SUBMISSION_BYTES) {
      throw new DomainError(
        REQUEST_INVALID,
        `the job submission is ${request.body.length} bytes, more than ${MAX_SUBMISSION_BYTES} (10 MiB)`,
        {
          status: 413,
          hint: "split the items over several jobs, or list them from S3 with file_path_lister",
        },
      );
    }
    let submission: unknown;
    try {
      submission = JSON.parse(request.body.toString("utf8"));
    } catch (error) {
      throw new DomainError(
        REQUEST_INVALID,
        `the job submission is not JSON: ${error instanceof Error ? error.message : String(error)}`,
        { hint: 'send {"workers": 1, "item_list": {"items": [...], "batch_size": 10}}' },
      );
    }
    return { status: 200, body: await verbs.submitJob(apiName, submission as BatchJobSubmission) };
  }
  if (method === "GET") {
    return jobId === undefined
      ? { status: 200, body: await verbs.listJobs(apiName) }
      : { status: 200, body: await verbs.getJob(apiName, jobId) };
  }
  if (method === "DELETE" && jobId !== undefined) {
    return { status: 200, body: await verbs.stopJob(apiName, jobId) };
  }
  throw new DomainError(
    REQUEST_INVALID,
    `${request.method} is not allowed here: POST <endpoint> submits a job, GET|DELETE <endpoint>/<job_id> reads or stops one`,
    { status: 405 },
  );
}

function send(responder: Responder, status: number, requestId: string, body: unknown): void {
  if (responder.done) return;
  responder.send(
    status,
    ["content-type", "application/json", "x-request-id", requestId],
    JSON.stringify(body),
  );
}
