/**
 * The ECS engine: APIs of an AWS environment run as ECS services on its cluster (decision 0009:
 * the account is the record, ECS is the reconcile loop). Every verb is `services/aws-apis.ts`
 * behind the `ApiEngine` seam, with the calling shell's AWS settings. What ECS does not do yet
 * answers `engineNotSupported`, one line each, to be replaced as the ECS verbs land.
 */
import type {
  ApiDetail,
  ApiListResponse,
  ApiVersion,
  BaselineResponse,
  DeleteResponse,
  DeployResponse,
  RollbackResponse,
} from "../contract/index.js";
import type { BundleStore } from "../bundles/bundle-store.js";
import type { AwsPorts, AwsSettings } from "../providers/aws/sdk.js";
import type { TrafficSplitterSpec } from "@axon/config";
import {
  awsLogSource,
  connectAwsEnvironment,
  deleteAwsApi,
  deployToAws,
  deployedAwsApis,
  describeAwsApi,
  listAwsApis,
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

  async deploy(plan: DeployPlan, run: DeployRun): Promise<DeployResponse> {
    const idle = plan.apis.find(({ spec }) => spec.autoscaling.min_replicas === 0);
    if (idle !== undefined) {
      // Refused before anything is applied: scale to zero is the local engine's for now.
      throw engineNotSupported(
        this,
        `deploy of min_replicas: 0 (${idle.spec.name})`,
        "set autoscaling.min_replicas to 1 or more for this environment; scale to zero runs on the local engine",
      );
    }
    const aws = this.#aws(run.signal, run.onProgress);
    const response = await deployToAws(aws, this.#record, plan);
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

  /** The environment's TrafficSplitters, read back from their listener rules. */
  async deployedSplitters(): Promise<TrafficSplitterSpec[]> {
    const ecs = await connectAwsEnvironment(this.#aws(), this.#record);
    const { awsSplitters } = await import("../providers/aws/api-splitter.js");
    return awsSplitters(ecs);
  }

  async list(): Promise<ApiListResponse> {
    const list = await listAwsApis(this.#aws(), this.#record);
    const splitters = await this.deployedSplitters();
    if (splitters.length === 0) return list;
    const ecs = await connectAwsEnvironment(this.#aws(), this.#record);
    // The load balancer counts requests per target group, not per rule: no share is shown.
    return {
      ...list,
      trafficSplitters: splitters.map((spec) => ({
        name: spec.name,
        kind: "TrafficSplitter",
        endpoint: `http://${ecs.refs.loadBalancerDnsName}${spec.endpoint}`,
        lastUpdated: "",
        apis: spec.apis.map(({ name, weight }) => ({ name, weight })),
      })),
    };
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
    return deleteAwsApi(aws, this.#record, name);
  }

  watch(): ApiEventFeed {
    throw engineNotSupported(
      this,
      "get --watch (live events)",
      `axon get <api> --env ${this.environment} shows the service's recent ECS events; run it again to refresh`,
    );
  }

  async rollback(): Promise<RollbackResponse> {
    throw engineNotSupported(
      this,
      "rollback",
      `on ECS a failed rollout is rolled back by the deployment circuit breaker; to go back by hand, deploy the previous config with axon deploy --env ${this.environment}`,
    );
  }

  async versions(name: string): Promise<ApiVersion[]> {
    throw engineNotSupported(
      this,
      "versions",
      `axon get ${name} --env ${this.environment} shows the task definition revision it runs`,
    );
  }

  async pinBaseline(name: string): Promise<BaselineResponse> {
    throw engineNotSupported(
      this,
      "monitor baseline",
      `axon get ${name} --env ${this.environment} shows its predictions since the current revision was deployed`,
    );
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
