/**
 * The seam between the HTTP verbs and the engine an environment runs on (issue 25, decision 0010):
 * every API verb — deploy, list, get, logs, delete, watch, rollback, versions, baseline — is one
 * method here, and `engineFor` (./engine-for.ts) is the only place that picks an implementation
 * from the target environment. Routes call one method and never ask which engine answered.
 *
 * A verb an engine cannot do yet answers `engineNotSupported` (501, `ENGINE_NOT_SUPPORTED`), naming
 * the engine, the environment and the verb, with a hint saying what to do instead — never a
 * silent fallback to another engine's data (after cortex's `ErrorOperationIsOnlySupportedForKind`,
 * cortexlabs/cortex:pkg/operator/resources/errors.go).
 */
import type {
  BatchJobList,
  BatchJobResponse,
  BatchJobSpec,
  BatchJobStopped,
  BatchJobSubmission,
  ApiKeyCreated,
  ApiKeyList,
  ApiKeyRevoked,
  CreateApiKeyRequest,
  ApiDetail,
  ApiListResponse,
  ApiVersion,
  BaselineResponse,
  DeleteResponse,
  DeployPreviewResponse,
  DeployResponse,
  EngineNotSupportedCode,
  RollbackResponse,
} from "../contract/index.js";
import { DomainError } from "../errors.js";
import type { EventSubscriber } from "../events/event-sink.js";
import type { LogSource } from "../providers/provider.js";
import type { DeployedApi, DeployPlan } from "../services/deploy-plan.js";

/** The engines there are; shown in messages and in `ApiDetail.runtime.engine`. */
export type EngineName = "local" | "ecs";

/** How a deploy reports and ends early (the client went away). */
export interface DeployRun {
  /** Progress lines for the client (environment builds, ECS steps), shown as they come. */
  onProgress?: (message: string) => void;
  /** Aborted when the client goes away: the deploy stops. */
  signal: AbortSignal;
}

export interface DescribeOptions {
  /** Start of the monitoring range (default: when the current version went live). */
  since?: Date;
  now?: Date;
  /**
   * The last `minutes` whole minutes of traffic as `ApiDetail.traffic`, for a live view; an engine
   * whose numbers are `metrics` (local) leaves it out.
   */
  traffic?: { minutes: number };
}

/** An API's log, for the logs route: where to read it, and whether the API is gone meanwhile. */
export interface ApiLogStream {
  /** The API's name as deployed. */
  name: string;
  source: LogSource;
  /** True once the API was deleted (a follower then ends with the `deleted` trailer). */
  isDeleted: () => boolean;
}

/** A live stream of an API's status and events (the events route relays it as NDJSON). */
export interface ApiEventFeed {
  /** Calls `listener` with each event from now on; the returned function stops it. */
  subscribe(listener: EventSubscriber): () => void;
}

export interface ApiEngine {
  readonly name: EngineName;
  /** The environment this engine acts on (`local`, or an AWS environment's name). */
  readonly environment: string;
  /** Applies a plan made by `planDeploy` (services/deploy-plan.ts): both engines apply the same type. */
  deploy(plan: DeployPlan, run: DeployRun): Promise<DeployResponse>;
  /** What `deploy(plan)` would do, without doing it (`deploy --plan`, issue 30): reads only. */
  preview(plan: DeployPlan): Promise<DeployPreviewResponse>;
  list(): Promise<ApiListResponse>;
  /** The environment's APIs as a deploy plan needs them (endpoints, hashes, rollouts). */
  deployed(): Promise<DeployedApi[]>;
  describe(name: string, options: DescribeOptions): Promise<ApiDetail>;
  logs(name: string): Promise<ApiLogStream>;
  remove(name: string): Promise<DeleteResponse>;
  /** The live events of one API (`api`), or of every API of the environment. */
  watch(api: string | undefined): ApiEventFeed;
  rollback(name: string, versionId: string | undefined): Promise<RollbackResponse>;
  versions(name: string): Promise<ApiVersion[]>;
  /** Pins the current version's last hour of predictions as the API's drift baseline. */
  pinBaseline(name: string): Promise<BaselineResponse>;
  /** Makes an API key (`networking.auth: api_key`); the answer carries the key, once. */
  createKey(name: string, request: CreateApiKeyRequest): Promise<ApiKeyCreated>;
  listKeys(name: string): Promise<ApiKeyList>;
  /** Revokes a key: every front refuses it within 30 s (at once on this machine). */
  revokeKey(name: string, id: string): Promise<ApiKeyRevoked>;
  /** Starts a job of a BatchAPI (issue 32): its batches are queued before this answers. */
  submitJob(name: string, submission: BatchJobSubmission): Promise<BatchJobSpec>;
  /** A BatchAPI's jobs, newest first. */
  listJobs(name: string): Promise<BatchJobList>;
  getJob(name: string, jobId: string): Promise<BatchJobResponse>;
  /** Stops a job: no new batch is given out, its workers are stopped. */
  stopJob(name: string, jobId: string): Promise<BatchJobStopped>;
  /** The log lines of a job's workers. */
  jobLogs(name: string, jobId: string): Promise<ApiLogStream>;
}

/** The code of every "this engine cannot do that verb (yet)" answer. */
export const ENGINE_NOT_SUPPORTED: EngineNotSupportedCode = "engine.not_supported";

/** A verb `engine` cannot do on `environment`: 501, with what to do instead. */
export function engineNotSupported(
  engine: { name: EngineName; environment: string },
  verb: string,
  hint: string,
): DomainError {
  return new DomainError(
    ENGINE_NOT_SUPPORTED,
    `axon ${verb} is not supported on the ${engine.name} engine yet (environment ${engine.environment})`,
    { status: 501, hint },
  );
}

/** An API a TrafficSplitter sends traffic to cannot be deleted (409, Cortex's rule). */
export const API_USED_BY_SPLITTER = "api.used_by_splitter";

/**
 * Deleting `api` is refused: `splitters` send it traffic. Cortex's message
 * (cortexlabs/cortex:v0.20.0 pkg/operator/resources/errors.go); `envFlag` reaches the environment.
 */
export function apiUsedBySplitter(api: string, splitters: string[], envFlag = ""): DomainError {
  const one = splitters.length === 1;
  return new DomainError(
    API_USED_BY_SPLITTER,
    `cannot delete api because it is used by the following TrafficSplitter${one ? "" : "s"}: ${splitters.join(", ")}`,
    {
      status: 409,
      hint: `delete ${one ? "the splitter" : "the splitters"} first (\`axon delete ${splitters[0] ?? ""}${envFlag}\`), or deploy ${one ? "it" : "them"} without ${api}`,
    },
  );
}
