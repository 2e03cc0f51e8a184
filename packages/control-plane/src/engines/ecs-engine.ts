/**
 * The ECS engine: APIs of an AWS environment run as ECS services on its cluster (decision 0009:
 * the account is the record, ECS is the reconcile loop). Every verb is `services/aws-apis.ts`
 * behind the `ApiEngine` seam, with the calling shell's AWS settings: versions are the task
 * definition revisions, a rollback points the service at one (ECS rolls it out), the monitoring
 * baseline is an object in the cluster bucket. What ECS does not do yet answers
 * `engineNotSupported`.
 */
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
  RollbackResponse,
} from "../contract/index.js";
import type { BundleStore } from "../bundles/bundle-store.js";
import type { AwsPorts, AwsSettings } from "../providers/aws/sdk.js";
import { createAwsApiKey, listAwsApiKeys, revokeAwsApiKey } from "../providers/aws/api-keys.js";
import type { EcsApiDeps } from "../providers/aws/api-names.js";
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
  engineNotSupported,
  type ApiEngine,
  type ApiEventFeed,
  type ApiLogStream,
  type DeployRun,
  type DescribeOptions,
} from "./api-engine.js";
import type { DeployedApi, DeployPlan } from "../services/deploy-plan.js";
import { previewEcsDeploy, withPlannedCosts } from "./ecs-plan.js";

/** A plain request (list, get, logs) gets this long. */
const PLAIN_REQUEST_MS = 60_000;
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

  deploy(plan: DeployPlan, run: DeployRun): Promise<DeployResponse> {
    return deployToAws(this.#aws(run.signal, run.onProgress), this.#record, plan);
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

  list(): Promise<ApiListResponse> {
    return listAwsApis(this.#aws(), this.#record);
  }

  deployed(): Promise<DeployedApi[]> {
    return deployedAwsApis(this.#aws(), this.#record);
  }

  describe(name: string, options: DescribeOptions): Promise<ApiDetail> {
    return describeAwsApi(this.#aws(), this.#record, name, options);
  }

  async logs(name: string): Promise<ApiLogStream> {
    const source = await awsLogSource(this.#aws(), this.#record, name);
    // An API on ECS is not in the store: its follow ends when the client leaves.
    return { name, source, isDeleted: () => false };
  }

  remove(name: string): Promise<DeleteResponse> {
    return deleteAwsApi(this.#aws(AbortSignal.timeout(REMOVE_MS)), this.#record, name);
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
