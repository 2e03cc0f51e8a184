/**
 * The ECS engine: APIs of an AWS environment run as ECS services on its cluster (decision 0009:
 * the account is the record, ECS is the reconcile loop). Every verb is `services/aws-apis.ts`
 * behind the `ApiEngine` seam, with the calling shell's AWS settings: versions are the task
 * definition revisions, a rollback points the service at one (ECS rolls it out), the monitoring
 * baseline is an object in the cluster bucket. What ECS does not do yet answers
 * `engineNotSupported`.
 */
import type {
  BatchJobList,
  BatchJobResponse,
  BatchJobSpec,
  BatchJobStopped,
  BatchJobSubmission,
} from "../contract/index.js";
import type {
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
  DeployResult,
  RollbackResponse,
} from "../contract/index.js";
import type { BundleStore } from "../bundles/bundle-store.js";
import type { AwsPorts, AwsSettings } from "../providers/aws/sdk.js";
import type { TrafficSplitterSpec } from "@axon/config";
import { createAwsApiKey, listAwsApiKeys, revokeAwsApiKey } from "../providers/aws/api-keys.js";
import type { EcsApiDeps } from "../providers/aws/api-names.js";
import type { DeployedEcsBatchApi, EcsBatchSpec } from "../providers/aws/batch-api.js";
import { plannedCosts } from "../services/aws-api-costs.js";
import {
  awsLogSource,
  connectAwsEnvironment,
  deleteAwsApi,
  deployToAws,
  deployedAwsApis,
  describeAwsApi,
  listAwsApis,
  listAwsVersions,
  pinAwsApiBaseline,
  rollbackAwsApiVersion,
  type AwsApisDeps,
} from "../services/aws-apis.js";
import type { EnvironmentRecord } from "../state/store.js";
import {
  apiUsedBySplitter,
  engineNotSupported,
  type ApiEngine,
  type ApiEventFeed,
  type ApiLogStream,
  type DeployRun,
  type DescribeOptions,
} from "./api-engine.js";
import type { DeployedApi, DeployPlan } from "../services/deploy-plan.js";
import { validateSubmission } from "../batch/job-submission.js";
import { previewEcsDeploy, withPlannedCosts } from "./ecs-plan.js";

/** A plain request (list, get, logs) gets this long. */
const PLAIN_REQUEST_MS = 60_000;
/** A submission lists S3 and sends every batch before it answers (100,000 batches: ~10,000 calls). */
const SUBMIT_MS = 15 * 60_000;
/** Scaling to 0 and removing the service, rule and target group take a few calls each. */
const REMOVE_MS = 300_000;

export interface EcsEngineDeps {
  bundles: BundleStore;
  /** The calling shell's AWS settings (`AWS_SETTINGS_HEADER`); empty: the daemon's own chain. */
  awsSettings: AwsSettings;
  /** The AWS ports for a region; default: the real SDK. */
  connect?: (region: string) => Promise<AwsPorts>;
}

export class EcsEngine implements ApiEngine {
  readonly name = "ecs";
  readonly environment: string;
  readonly #record: EnvironmentRecord;
  readonly #deps: EcsEngineDeps;

  constructor(record: EnvironmentRecord, deps: EcsEngineDeps) {
    this.environment = record.name;
    this.#record = record;
    this.#deps = deps;
  }

  async deploy(plan: DeployPlan, run: DeployRun): Promise<DeployResponse> {
    const aws = this.#aws(run.signal, run.onProgress);
    const response = await deployToAws(aws, this.#record, plan);
    response.results.push(
      ...(await this.deployBatchApis(plan.batchApis, plan.request.bundle, run)),
    );
    if (plan.splitters.length === 0) return response;
    // After the APIs: each splitter's rule forwards to target groups that exist by now.
    const ecs = await connectAwsEnvironment(aws, this.#record);
    const { applyAwsSplitter } = await import("../providers/aws/api-splitter.js");
    for (const { spec } of plan.splitters) {
      const outcome = await applyAwsSplitter(ecs, spec);
      const kind = "TrafficSplitter";
      response.results.push({
        api: spec.name,
        kind,
        outcome,
        message:
          outcome === "unchanged"
            ? `${spec.name} (${kind}) is up to date on ${this.environment}`
            : `${outcome} ${spec.name} (${kind}) on ${this.environment}`,
        endpoint: `http://${ecs.refs.loadBalancerDnsName}${spec.endpoint}`,
      });
    }
    return response;
  }

  async preview(plan: DeployPlan): Promise<DeployPreviewResponse> {
    // The plan read the services and their task definitions' specs (`deployed()`).
    const preview = previewEcsDeploy(this.environment, plan);
    const ecs = await connectAwsEnvironment(this.#aws(), this.#record);
    const costs = await plannedCosts(
      ecs,
      this.#record.region,
      plan.apis.map((api) => ({ spec: api.spec, deployedSpec: api.deployed?.spec })),
    );
    return withPlannedCosts(preview, costs);
  }

  /**
   * The environment's BatchAPIs as a deploy plan needs them (issue 32), found by their task
   * definitions; the realtime APIs' families (their services) are skipped without a call.
   */
  async deployedBatchApis(): Promise<DeployedEcsBatchApi[]> {
    const ecs = await this.#cluster();
    const { listAwsApiNames } = await import("../providers/aws/api-status.js");
    const { deployedEcsBatchApis } = await import("../providers/aws/batch-api.js");
    return deployedEcsBatchApis(ecs, await listAwsApiNames(ecs));
  }

  /**
   * Applies a plan's BatchAPIs (issue 32): each one's task definition, registered when it changed,
   * and no service (`deploy` calls it with `plan.batchApis`).
   */
  async deployBatchApis(
    batchApis: ReadonlyArray<{ spec: EcsBatchSpec }>,
    bundle: string,
    run: DeployRun,
  ): Promise<DeployResult[]> {
    if (batchApis.length === 0) return [];
    const ecs = await connectAwsEnvironment(this.#aws(run.signal, run.onProgress), this.#record);
    const { deployEcsBatchApi } = await import("../providers/aws/batch-api.js");
    const results: DeployResult[] = [];
    for (const { spec } of batchApis) {
      const { outcome } = await deployEcsBatchApi(ecs, {
        spec,
        bundleSha256: bundle,
        readBundle: () => this.#deps.bundles.read(bundle),
      });
      const kind = "BatchAPI";
      results.push({
        api: spec.name,
        kind,
        outcome,
        message:
          outcome === "unchanged"
            ? `${spec.name} (${kind}) is up to date on ${this.environment}`
            : `${outcome} ${spec.name} (${kind}) on ${this.environment}: jobs submitted from now on run it`,
        endpoint: `/v1/apis/${spec.name}/jobs`,
      });
    }
    return results;
  }

  /** The environment's TrafficSplitters, read back from their listener rules. */
  async deployedSplitters(): Promise<TrafficSplitterSpec[]> {
    const ecs = await connectAwsEnvironment(this.#aws(), this.#record);
    const { awsSplitters } = await import("../providers/aws/api-splitter.js");
    return awsSplitters(ecs);
  }

  async list(): Promise<ApiListResponse> {
    const listed = await listAwsApis(this.#aws(), this.#record);
    const ecs = await this.#cluster();
    // BatchAPIs have no service: they are found by their task definitions (issue 32).
    const { listEcsBatchApis } = await import("../providers/aws/batch-jobs.js");
    const batchApis = await listEcsBatchApis(
      ecs,
      listed.apis.map((api) => api.name),
    );
    const list = batchApis.length === 0 ? listed : { ...listed, batchApis };
    const { describeAwsSplitters } = await import("../providers/aws/api-splitter.js");
    const trafficSplitters = await describeAwsSplitters(ecs, new Date());
    return trafficSplitters.length === 0 ? list : { ...list, trafficSplitters };
  }

  deployed(): Promise<DeployedApi[]> {
    return deployedAwsApis(this.#aws(), this.#record);
  }

  async describe(name: string, options: DescribeOptions): Promise<ApiDetail> {
    const detail = await describeAwsApi(this.#aws(), this.#record, name, options);
    // As locally: an API that requires keys shows them, with the counts its tasks reported.
    const networking = detail.spec["networking"] as { auth?: string } | undefined;
    if (networking?.auth !== "api_key") return detail;
    return { ...detail, apiKeys: await this.listKeys(name) };
  }

  async logs(name: string): Promise<ApiLogStream> {
    const source = await awsLogSource(this.#aws(), this.#record, name);
    // An API on ECS is not in the store: its follow ends when the client leaves.
    return { name, source, isDeleted: () => false };
  }

  async remove(name: string): Promise<DeleteResponse> {
    const aws = this.#aws(AbortSignal.timeout(REMOVE_MS));
    const ecs = await connectAwsEnvironment(aws, this.#record);
    const { awsSplitters, deleteAwsSplitter } = await import("../providers/aws/api-splitter.js");
    const splitters = await awsSplitters(ecs);
    if (splitters.some((splitter) => splitter.name === name)) {
      await deleteAwsSplitter(ecs, name);
      return { message: `deleted ${name} from ${this.environment}` };
    }
    // Cortex's rule, and AWS's: a target group a rule forwards to cannot be deleted.
    const users = splitters
      .filter((splitter) => splitter.apis.some((api) => api.name === name))
      .map((splitter) => splitter.name);
    if (users.length > 0) throw apiUsedBySplitter(name, users, ` --env ${this.environment}`);
    // A BatchAPI's jobs first (their tasks, queues and status objects): one listing each when none.
    const { deleteEcsBatchJobs } = await import("../providers/aws/batch-jobs.js");
    await deleteEcsBatchJobs(ecs, name);
    return deleteAwsApi(aws, this.#record, name);
  }

  watch(): ApiEventFeed {
    // ECS keeps no stream of its own to relay: a live view redraws `describe` with `traffic`
    // every ECS_REDRAW_MS, whose service events and load balancer minutes are the live data.
    throw engineNotSupported(
      this,
      "the live event stream",
      `axon get <api> --watch --env ${this.environment} redraws the service's events and its load balancer's numbers every 10 s`,
    );
  }

  rollback(name: string, versionId: string | undefined): Promise<RollbackResponse> {
    return rollbackAwsApiVersion(this.#aws(), this.#record, name, versionId);
  }

  versions(name: string): Promise<ApiVersion[]> {
    return listAwsVersions(this.#aws(), this.#record, name);
  }

  pinBaseline(name: string): Promise<BaselineResponse> {
    return pinAwsApiBaseline(this.#aws(), this.#record, name);
  }

  async createKey(name: string, request: CreateApiKeyRequest): Promise<ApiKeyCreated> {
    return createAwsApiKey(await this.#cluster(), name, request, new Date());
  }

  async listKeys(name: string): Promise<ApiKeyList> {
    return listAwsApiKeys(await this.#cluster(), name);
  }

  async revokeKey(name: string, id: string): Promise<ApiKeyRevoked> {
    return revokeAwsApiKey(await this.#cluster(), name, id);
  }
  // Batch jobs (issue 32): providers/aws/batch-jobs.ts, with the request's AWS settings.
  async submitJob(name: string, submission: BatchJobSubmission): Promise<BatchJobSpec> {
    const ecs = await connectAwsEnvironment(
      this.#aws(AbortSignal.timeout(SUBMIT_MS)),
      this.#record,
    );
    const { submitEcsJob } = await import("../providers/aws/batch-jobs.js");
    // The same reading of a submission as the local engine's (400 naming the field), then ECS's own bounds.
    return submitEcsJob(ecs, name, validateSubmission(submission));
  }

  async listJobs(name: string): Promise<BatchJobList> {
    const { listEcsJobs } = await import("../providers/aws/batch-jobs.js");
    return listEcsJobs(await this.#cluster(), name);
  }

  async getJob(name: string, jobId: string): Promise<BatchJobResponse> {
    const { describeEcsJob } = await import("../providers/aws/batch-jobs.js");
    return describeEcsJob(await this.#cluster(), name, jobId);
  }

  async stopJob(name: string, jobId: string): Promise<BatchJobStopped> {
    const { stopEcsJob } = await import("../providers/aws/batch-jobs.js");
    return stopEcsJob(await this.#cluster(), name, jobId);
  }

  async jobLogs(name: string, jobId: string): Promise<ApiLogStream> {
    const { ecsJobLogSource } = await import("../providers/aws/batch-logs.js");
    // A follow outlives a plain request: its calls are bounded by the client's signal instead.
    const ecs = await connectAwsEnvironment(this.#aws(new AbortController().signal), this.#record);
    const source = await ecsJobLogSource(ecs, name, jobId);
    return { name, source, isDeleted: () => false };
  }

  /** The environment's cluster (its bucket, its services), for the verbs written against it. */
  #cluster(): Promise<EcsApiDeps> {
    return connectAwsEnvironment(this.#aws(), this.#record);
  }

  #aws(signal?: AbortSignal, onProgress?: (message: string) => void): AwsApisDeps {
    return {
      bundles: this.#deps.bundles,
      awsSettings: this.#deps.awsSettings,
      signal: signal ?? AbortSignal.timeout(PLAIN_REQUEST_MS),
      ...(onProgress === undefined ? {} : { onProgress }),
      ...(this.#deps.connect === undefined ? {} : { connect: this.#deps.connect }),
    };
  }
}
