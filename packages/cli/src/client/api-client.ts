/**
 * A typed HTTP client for the control plane's public routes (`@axon/control-plane/api`). It turns
 * transport failures and non-2xx answers into `UserError`s with the daemon's message, hint and
 * diagnostics, so commands never see a raw socket error or a stack.
 */
import {
  AWS_SETTINGS_HEADER,
  ENV_HEADER,
  LOG_STREAM_END_TRAILER,
  type LogStreamEnd,
  type ApiDetail,
  type ApiKeyCreated,
  type ApiKeyList,
  type ApiKeyRevoked,
  type CreateApiKeyRequest,
  type ApiListResponse,
  type BatchJobList,
  type BatchJobResponse,
  type BatchJobSpec,
  type BatchJobStopped,
  type BatchJobSubmission,
  type BundleResponse,
  type ClusterInfo,
  type DeleteResponse,
  type DeployPreviewResponse,
  type DeployRequest,
  type DeployResponse,
  type DeployStreamLine,
  type ErrorBody,
  type EventLine,
  type HealthResponse,
  type BaselineResponse,
  type RollbackRequest,
  type RollbackResponse,
  type ShutdownResponse,
  type AddEnvironmentRequest,
  type AwsClusterInfo,
  type ClusterDownResponse,
  type ClusterPlanResponse,
  type ClusterStreamLine,
  type ClusterUpRequest,
  type ClusterUpResponse,
  type EnvironmentInfo,
  type EnvironmentListResponse,
  type RemoveEnvironmentResponse,
  type UseEnvironmentRequest,
} from "@axon/control-plane/api";
import { ApiError, InterruptedError, UserError } from "../errors.js";
import { describeHttpError, sendHttp, type HttpResponse } from "./http.js";

/** A progress line of a cluster stream (`resource` or `progress`). */
export type ClusterProgressLine = Exclude<
  ClusterStreamLine<unknown>,
  { type: "result" } | { type: "error" }
>;

/** The shell's AWS settings for the daemon's AWS calls (see `AWS_SETTINGS_HEADER`). */
function awsSettingsHeader(settings: Record<string, string>): Record<string, string> {
  if (Object.keys(settings).length === 0) return {};
  return { [AWS_SETTINGS_HEADER]: Buffer.from(JSON.stringify(settings)).toString("base64") };
}

/** How to reach one daemon. */
export interface ApiClientOptions {
  /** e.g. `http://127.0.0.1:41234` */
  baseUrl: string;
  /** Bearer token; not needed for `health()`. */
  token: string;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
  /** Sent with every request: the target environment and the shell's AWS settings. */
  headers?: Record<string, string>;
}

/** Where API commands act: an environment (`--env`) and the AWS settings its calls use. */
export interface ClientTarget {
  env?: string;
  awsSettings?: Record<string, string>;
}

interface RequestOptions {
  body?: string | Uint8Array;
  contentType?: string;
  /** Per-request deadline; `undefined` means none (log streams). */
  timeoutMs?: number;
  auth?: boolean;
  accept?: string;
  /** Ends this request early (besides Ctrl-C), e.g. a stream the caller no longer needs. */
  signal?: AbortSignal;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

/** Requests that should answer at once get this long before we call the daemon unresponsive. */
const DEFAULT_TIMEOUT_MS = 30_000;
/** Uploads can be up to 512 MiB; give them time on slow disks. */
const UPLOAD_TIMEOUT_MS = 10 * 60_000;

/** Node reports trailer names in lower case. */
const STREAM_END_TRAILER = LOG_STREAM_END_TRAILER.toLowerCase();

const LOST_DEPLOY_HINT =
  "the deploy may or may not have been applied: check `axon cluster info` and `axon get`, and the " +
  "daemon log at `$AXON_HOME/daemon.log`; then run `axon deploy` again";

const NOT_REACHABLE_HINT =
  "check `$AXON_HOME/daemon.log`, or restart it with `axon cluster down` then `axon cluster up`";

/** The control plane's routes as methods. */
export class ApiClient {
  readonly baseUrl: string;
  readonly #token: string;
  readonly #signal: AbortSignal;
  readonly #headers: Record<string, string>;

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#token = options.token;
    this.#signal = options.signal;
    this.#headers = options.headers ?? {};
  }

  /**
   * This client, acting on `target`: API routes go to its environment (the `Axon-Env` header; the
   * daemon's default without one) with the shell's AWS settings for an AWS environment's calls.
   */
  withTarget(target: ClientTarget): ApiClient {
    return new ApiClient({
      baseUrl: this.baseUrl,
      token: this.#token,
      signal: this.#signal,
      headers: {
        ...this.#headers,
        ...(target.env === undefined ? {} : { [ENV_HEADER]: target.env }),
        ...awsSettingsHeader(target.awsSettings ?? {}),
      },
    });
  }

  /** `GET /v1/health` (no auth): a quick probe, with a short deadline. */
  async health(timeoutMs = 2_000): Promise<HealthResponse> {
    return this.#json<HealthResponse>("GET", "/v1/health", { auth: false, timeoutMs });
  }

  async info(): Promise<ClusterInfo> {
    return this.#json<ClusterInfo>("GET", "/v1/info");
  }

  /** `HEAD /v1/bundles/:sha256`: true when the daemon already stores this bundle. */
  async hasBundle(sha256: string): Promise<boolean> {
    const response = await this.#send("HEAD", `/v1/bundles/${sha256}`, {});
    response.body.resume();
    if (response.status === 404) return false;
    if (response.ok) return true;
    throw await toApiError(response);
  }

  async putBundle(sha256: string, data: Uint8Array): Promise<BundleResponse> {
    return this.#json<BundleResponse>("PUT", `/v1/bundles/${sha256}`, {
      body: data,
      contentType: "application/gzip",
      timeoutMs: UPLOAD_TIMEOUT_MS,
    });
  }

  /**
   * `POST /v1/deploy`, streamed (NDJSON): `onProgress` gets each progress line (environment
   * builds) as it comes; resolves with the result or throws the daemon's error.
   */
  async deploy(
    request: DeployRequest,
    onProgress: (message: string) => void | Promise<void> = () => {},
  ): Promise<DeployResponse> {
    const response = await this.#send("POST", "/v1/deploy", {
      body: JSON.stringify(request),
      contentType: "application/json",
      accept: "application/x-ndjson",
      // Environment builds run pip; no fixed deadline, Ctrl-C still cancels.
      timeoutMs: undefined,
    });
    if (!response.ok) throw await toApiError(response);
    const lost = (cause: unknown): UserError =>
      new UserError("lost the connection to the control plane while deploying", {
        hint: LOST_DEPLOY_HINT,
        cause,
      });
    for await (const line of this.#lines(response, lost)) {
      let event: DeployStreamLine;
      try {
        event = JSON.parse(line) as DeployStreamLine;
      } catch (error) {
        throw new UserError("the control plane sent a deploy progress line that is not JSON", {
          details: line.slice(0, 500),
          hint: NOT_REACHABLE_HINT,
          cause: error,
        });
      }
      switch (event.type) {
        case "progress":
          await onProgress(event.message);
          break;
        case "result":
          return event.result;
        case "error":
          throw errorFromBody(event.error, event.status);
      }
    }
    // The body ended cleanly but early: the daemon stopped (or died) before answering.
    throw lost(undefined);
  }

  /**
   * The non-empty lines of a streamed body. A broken connection (the daemon died, `kill -9`) throws
   * `broken(cause)`, Ctrl-C throws `InterruptedError`: never a raw socket error.
   */
  async *#lines(
    response: HttpResponse,
    broken: (cause: unknown) => UserError,
  ): AsyncGenerator<string, void, undefined> {
    const decoder = new TextDecoder();
    const chunks = response.body[Symbol.asyncIterator]();
    let buffered = "";
    try {
      for (;;) {
        let next: IteratorResult<unknown>;
        try {
          next = await chunks.next();
        } catch (error) {
          if (this.#signal.aborted) throw new InterruptedError();
          throw broken(error);
        }
        buffered +=
          next.done === true
            ? decoder.decode()
            : decoder.decode(next.value as Buffer, { stream: true });
        const lines = buffered.split("\n");
        buffered = next.done === true ? "" : (lines.pop() ?? "");
        for (const line of lines) if (line.trim() !== "") yield line;
        if (next.done === true) return;
      }
    } finally {
      // The caller stopped early (it has its answer): release the connection.
      if (!response.body.readableEnded) response.body.destroy();
    }
  }

  /** `POST /v1/deploy/plan`: what `deploy(request)` would do, without doing it. */
  async planDeploy(request: DeployRequest): Promise<DeployPreviewResponse> {
    return this.#json<DeployPreviewResponse>("POST", "/v1/deploy/plan", {
      body: JSON.stringify(request),
      contentType: "application/json",
    });
  }

  async listApis(): Promise<ApiListResponse> {
    return this.#json<ApiListResponse>("GET", "/v1/apis");
  }

  /**
   * `since`: start of the monitoring range, a duration back from now (`1h`); `trafficMinutes`:
   * that many minutes of load balancer traffic as `traffic` (engines that measure it so: ECS).
   */
  async getApi(
    name: string,
    options: { since?: string; trafficMinutes?: number } = {},
  ): Promise<ApiDetail> {
    const params = new URLSearchParams();
    if (options.since !== undefined) params.set("since", options.since);
    if (options.trafficMinutes !== undefined) {
      params.set("traffic", String(options.trafficMinutes));
    }
    const query = params.size === 0 ? "" : `?${params.toString()}`;
    return this.#json<ApiDetail>("GET", `/v1/apis/${encodeURIComponent(name)}${query}`);
  }

  /** Pins the API's last hour of predictions as its drift baseline. */
  async pinBaseline(name: string): Promise<BaselineResponse> {
    return this.#json<BaselineResponse>(
      "POST",
      `/v1/apis/${encodeURIComponent(name)}/monitor/baseline`,
      { body: "{}", contentType: "application/json" },
    );
  }

  async rollbackApi(name: string, version?: string): Promise<RollbackResponse> {
    const body: RollbackRequest = version === undefined ? {} : { version };
    return this.#json<RollbackResponse>("POST", `/v1/apis/${encodeURIComponent(name)}/rollback`, {
      body: JSON.stringify(body),
      contentType: "application/json",
    });
  }

  async createApiKey(name: string, request: CreateApiKeyRequest): Promise<ApiKeyCreated> {
    return this.#json<ApiKeyCreated>("POST", `/v1/apis/${encodeURIComponent(name)}/keys`, {
      body: JSON.stringify(request),
      contentType: "application/json",
    });
  }

  async listApiKeys(name: string): Promise<ApiKeyList> {
    return this.#json<ApiKeyList>("GET", `/v1/apis/${encodeURIComponent(name)}/keys`);
  }

  async revokeApiKey(name: string, id: string): Promise<ApiKeyRevoked> {
    return this.#json<ApiKeyRevoked>(
      "DELETE",
      `/v1/apis/${encodeURIComponent(name)}/keys/${encodeURIComponent(id)}`,
    );
  }

  /** `POST /v1/apis/:name/jobs`: starts a job of a BatchAPI; its batches are queued first. */
  async submitJob(name: string, submission: BatchJobSubmission): Promise<BatchJobSpec> {
    return this.#json<BatchJobSpec>("POST", `/v1/apis/${encodeURIComponent(name)}/jobs`, {
      body: JSON.stringify(submission),
      contentType: "application/json",
      // An S3 listing is made before the answer: as long as the daemon needs, Ctrl-C still stops.
      timeoutMs: UPLOAD_TIMEOUT_MS,
    });
  }

  async listJobs(name: string): Promise<BatchJobList> {
    return this.#json<BatchJobList>("GET", `/v1/apis/${encodeURIComponent(name)}/jobs`);
  }

  async getJob(name: string, jobId: string): Promise<BatchJobResponse> {
    return this.#json<BatchJobResponse>("GET", jobRoute(name, jobId));
  }

  async stopJob(name: string, jobId: string): Promise<BatchJobStopped> {
    return this.#json<BatchJobStopped>("DELETE", jobRoute(name, jobId));
  }

  async deleteApi(name: string): Promise<DeleteResponse> {
    return this.#json<DeleteResponse>("DELETE", `/v1/apis/${encodeURIComponent(name)}`);
  }

  async shutdown(): Promise<ShutdownResponse> {
    return this.#json<ShutdownResponse>("POST", "/v1/shutdown", {
      body: "{}",
      contentType: "application/json",
    });
  }

  async listEnvironments(): Promise<EnvironmentListResponse> {
    return this.#json<EnvironmentListResponse>("GET", "/v1/environments");
  }

  async addEnvironment(request: AddEnvironmentRequest): Promise<EnvironmentInfo> {
    return this.#json<EnvironmentInfo>("POST", "/v1/environments", {
      body: JSON.stringify(request),
      contentType: "application/json",
    });
  }

  async useEnvironment(name: string): Promise<EnvironmentInfo> {
    const body: UseEnvironmentRequest = { name };
    return this.#json<EnvironmentInfo>("PUT", "/v1/environments/default", {
      body: JSON.stringify(body),
      contentType: "application/json",
    });
  }

  async removeEnvironment(name: string): Promise<RemoveEnvironmentResponse> {
    return this.#json<RemoveEnvironmentResponse>(
      "DELETE",
      `/v1/environments/${encodeURIComponent(name)}`,
    );
  }

  /** `POST /v1/clusters/plan`: validates a cluster config and prices it; creates nothing. */
  async planCluster(
    request: ClusterUpRequest,
    awsSettings: Record<string, string>,
  ): Promise<ClusterPlanResponse> {
    return this.#json<ClusterPlanResponse>("POST", "/v1/clusters/plan", {
      body: JSON.stringify(request),
      contentType: "application/json",
      timeoutMs: 120_000,
      headers: awsSettingsHeader(awsSettings),
    });
  }

  /** `POST /v1/clusters`, streamed: each stack resource's progress, then the result. */
  async clusterUp(
    request: ClusterUpRequest,
    awsSettings: Record<string, string>,
    onLine: (line: ClusterProgressLine) => void,
  ): Promise<ClusterUpResponse> {
    return this.#clusterStream<ClusterUpResponse>(
      "POST",
      "/v1/clusters",
      request,
      awsSettings,
      onLine,
    );
  }

  async awsClusterInfo(env: string, awsSettings: Record<string, string>): Promise<AwsClusterInfo> {
    return this.#json<AwsClusterInfo>(
      "GET",
      `/v1/environments/${encodeURIComponent(env)}/cluster`,
      { timeoutMs: 120_000, headers: awsSettingsHeader(awsSettings) },
    );
  }

  /** `DELETE /v1/environments/:name/cluster`, streamed like `clusterUp`. */
  async clusterDown(
    env: string,
    awsSettings: Record<string, string>,
    onLine: (line: ClusterProgressLine) => void,
  ): Promise<ClusterDownResponse> {
    return this.#clusterStream<ClusterDownResponse>(
      "DELETE",
      `/v1/environments/${encodeURIComponent(env)}/cluster`,
      undefined,
      awsSettings,
      onLine,
    );
  }

  async #clusterStream<Result>(
    method: string,
    route: string,
    request: unknown,
    awsSettings: Record<string, string>,
    onLine: (line: ClusterProgressLine) => void,
  ): Promise<Result> {
    const response = await this.#send(method, route, {
      headers: awsSettingsHeader(awsSettings),
      ...(request === undefined
        ? {}
        : { body: JSON.stringify(request), contentType: "application/json" }),
      accept: "application/x-ndjson",
      // CloudFormation takes minutes; no fixed deadline, Ctrl-C still stops waiting.
      timeoutMs: undefined,
    });
    if (!response.ok) throw await toApiError(response);
    const lost = (cause: unknown): UserError =>
      new UserError("lost the connection to the control plane while it worked on the stack", {
        hint: "CloudFormation carries on by itself: axon cluster info --env NAME shows where it got to",
        cause,
      });
    for await (const text of this.#lines(response, lost)) {
      const line = JSON.parse(text) as ClusterStreamLine<Result>;
      if (line.type === "result") return line.result;
      if (line.type === "error") throw errorFromBody(line.error, line.status);
      onLine(line);
    }
    throw lost(undefined);
  }

  /**
   * `GET /v1/apis/:name/logs`: calls `onText` with each chunk as it arrives. Resolves when the
   * daemon ends the stream; throws `InterruptedError` on Ctrl-C.
   */
  async streamLogs(
    name: string,
    options: { follow: boolean; tail: number },
    onText: (text: string) => void,
  ): Promise<void> {
    await this.#streamLogText(`/v1/apis/${encodeURIComponent(name)}/logs`, name, options, onText);
  }

  /** `GET /v1/apis/:name/jobs/:id/logs`: the job's workers' lines, as `streamLogs` reads an API's. */
  async streamJobLogs(
    name: string,
    jobId: string,
    options: { follow: boolean; tail: number },
    onText: (text: string) => void,
  ): Promise<void> {
    await this.#streamLogText(
      `${jobRoute(name, jobId)}/logs`,
      `job ${jobId} of ${name}`,
      options,
      onText,
    );
  }

  async #streamLogText(
    route: string,
    name: string,
    options: { follow: boolean; tail: number },
    onText: (text: string) => void,
  ): Promise<void> {
    const query = new URLSearchParams({ tail: String(options.tail) });
    if (options.follow) query.set("follow", "1");
    const response = await this.#send("GET", `${route}?${query.toString()}`, {
      timeoutMs: undefined,
    });
    if (!response.ok) throw await toApiError(response);
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body) {
        onText(decoder.decode(chunk as Buffer, { stream: true }));
      }
      const rest = decoder.decode();
      if (rest !== "") onText(rest);
    } catch (error) {
      if (this.#signal.aborted) throw new InterruptedError();
      throw new UserError(`the log stream from ${this.baseUrl} broke off`, {
        hint: NOT_REACHABLE_HINT,
        cause: error,
      });
    }
    // A follow ends by itself only when the API is deleted (a normal end) or the daemon stops.
    const end = response.body.trailers[STREAM_END_TRAILER] as LogStreamEnd | undefined;
    if (end === "stopping") {
      throw new UserError(
        `the control plane stopped, so the logs of ${name} are no longer followed`,
        {
          hint: "start it again with `axon cluster up`, then run `axon logs` again",
        },
      );
    }
  }

  /**
   * `GET /v1/events[?api=NAME]`: calls `onEvent` with each control-plane event from now on, until
   * `stop` aborts (resolves), the daemon ends the stream (resolves) or the connection breaks
   * (throws). `onOpen` runs once the daemon has answered, i.e. once no event can be missed.
   */
  async streamEvents(
    options: { api?: string; stop: AbortSignal; onOpen?: () => void },
    onEvent: (line: EventLine) => void,
  ): Promise<void> {
    const query = options.api === undefined ? "" : `?api=${encodeURIComponent(options.api)}`;
    let response: HttpResponse;
    try {
      response = await this.#send("GET", `/v1/events${query}`, {
        timeoutMs: undefined,
        accept: "application/x-ndjson",
        signal: options.stop,
      });
    } catch (error) {
      if (options.stop.aborted && !this.#signal.aborted) return;
      throw error;
    }
    if (!response.ok) throw await toApiError(response);
    options.onOpen?.();
    const broken = (cause: unknown): UserError =>
      new UserError(`the event stream from ${this.baseUrl} broke off`, {
        hint: NOT_REACHABLE_HINT,
        cause,
      });
    try {
      for await (const line of this.#lines(response, broken)) {
        let event: EventLine;
        try {
          event = JSON.parse(line) as EventLine;
        } catch {
          continue; // not JSON: a line this client cannot read is skipped, not fatal
        }
        onEvent(event);
      }
    } catch (error) {
      if (options.stop.aborted && !this.#signal.aborted) return;
      throw error;
    }
  }

  async #json<T>(method: string, route: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.#send(method, route, options);
    if (!response.ok) throw await toApiError(response);
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      if (this.#signal.aborted) throw new InterruptedError();
      throw new UserError(`lost the connection to the control plane during ${method} ${route}`, {
        hint: NOT_REACHABLE_HINT,
        cause: error,
      });
    }
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new UserError(
        `the control plane sent a response to ${method} ${route} that is not JSON`,
        {
          details: text.slice(0, 500),
          hint: NOT_REACHABLE_HINT,
          cause: error,
        },
      );
    }
  }

  async #send(method: string, route: string, options: RequestOptions): Promise<HttpResponse> {
    const headers: Record<string, string> = { ...this.#headers, ...options.headers };
    if (options.auth !== false) headers["authorization"] = `Bearer ${this.#token}`;
    if (options.contentType !== undefined) headers["content-type"] = options.contentType;
    if (options.accept !== undefined) headers["accept"] = options.accept;
    const timeoutMs = "timeoutMs" in options ? options.timeoutMs : DEFAULT_TIMEOUT_MS;
    const signals = [this.#signal];
    if (timeoutMs !== undefined) signals.push(AbortSignal.timeout(timeoutMs));
    if (options.signal !== undefined) signals.push(options.signal);
    const signal = signals.length === 1 ? this.#signal : AbortSignal.any(signals);
    try {
      return await sendHttp({
        method,
        url: `${this.baseUrl}${route}`,
        headers,
        ...(options.body === undefined ? {} : { body: options.body }),
        signal,
      });
    } catch (error) {
      if (this.#signal.aborted) throw new InterruptedError();
      if (signal.aborted) {
        throw new UserError(
          `the local cluster at ${this.baseUrl} did not answer ${method} ${route} within ${Math.round((timeoutMs ?? 0) / 1000)}s`,
          { hint: NOT_REACHABLE_HINT, cause: error },
        );
      }
      throw new UserError(
        `cannot reach the local cluster at ${this.baseUrl} (${describeHttpError(error)})`,
        {
          hint: NOT_REACHABLE_HINT,
          cause: error,
        },
      );
    }
  }
}

/** The route of one job of a BatchAPI. */
function jobRoute(name: string, jobId: string): string {
  return `/v1/apis/${encodeURIComponent(name)}/jobs/${encodeURIComponent(jobId)}`;
}

/** Turns a non-2xx response into an ApiError carrying the daemon's ErrorBody. */
export async function toApiError(response: HttpResponse): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  const body = parseErrorBody(text);
  if (body !== undefined) return errorFromBody(body, response.status);
  const details = text.trim() === "" ? {} : { details: text.trim().slice(0, 2000) };
  return new ApiError(
    `the control plane answered ${response.status} ${response.statusText}`.trimEnd(),
    {
      code: "http.unexpected",
      status: response.status,
      ...details,
    },
  );
}

function errorFromBody(body: ErrorBody, status: number): ApiError {
  return new ApiError(body.message, {
    code: body.code,
    status,
    ...(body.hint === undefined ? {} : { hint: body.hint }),
    ...(body.diagnostics === undefined ? {} : { diagnostics: body.diagnostics }),
  });
}

function parseErrorBody(text: string): ErrorBody | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (
      typeof value === "object" &&
      value !== null &&
      "message" in value &&
      typeof value.message === "string" &&
      "code" in value &&
      typeof value.code === "string"
    ) {
      return value as ErrorBody;
    }
  } catch {
    // not JSON: the caller shows the raw text instead
  }
  return undefined;
}
