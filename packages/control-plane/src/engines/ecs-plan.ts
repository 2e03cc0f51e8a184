/**
 * `deploy --plan` on the ECS engine (issue 30): what `deployToAws` would do with a `DeployPlan`,
 * from the services as `deployed()` read them (the spec each runs, read back from its task
 * definition). The whole resolved spec travels in the replica container's environment
 * (`AXON_API_SPEC`, providers/aws/replica-env.ts), so any change of the spec or of the bundle
 * registers a new task definition revision and ECS replaces every task by a new deployment:
 * UpdateService's `taskDefinition` "triggers a new service deployment": ECS starts tasks of the new
 * revision and stops the old ones (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html).
 * Reads only: nothing is registered or updated.
 */
import type { ApiSpec, BatchApiSpec } from "@axon/config";
import type {
  ApiPreview,
  DeployPreviewResponse,
  Money,
  RolloutPreview,
} from "../contract/index.js";
import { describeRolling, rollingSteps } from "../providers/aws/api-rollout.js";
import { describeScaleToZero } from "../providers/aws/api-scale-to-zero.js";
import type { DeployedApi, DeployPlan } from "../services/deploy-plan.js";
import { previewResponse, previewSplitter } from "./deploy-preview.js";
import { batchApiPreview, changedFields } from "../services/spec-changes.js";

/** What deploying `plan` to the ECS environment `env` would do to each API of its config. */
export function previewEcsDeploy(env: string, plan: DeployPlan): DeployPreviewResponse {
  const apis = plan.apis.map(({ spec, hash, deployed }): ApiPreview => {
    const zero = describeScaleToZero(spec);
    const scaleToZero = zero === undefined ? {} : { scaleToZero: zero };
    if (deployed === undefined) {
      return {
        ...scaleToZero,
        api: spec.name,
        kind: spec.kind,
        outcome: "created",
        newVersion: true,
        changedFields: [],
        codeChanged: true,
        replicas: "start",
        replicasReason: `a new service starts ${spec.autoscaling.init_replicas} task(s)`,
        rollout: ecsRollout(spec, spec.autoscaling.init_replicas),
      };
    }
    const codeChanged = deployed.bundle !== plan.request.bundle;
    const changed = deployed.specHash !== hash || codeChanged;
    const base = {
      ...scaleToZero,
      api: spec.name,
      kind: spec.kind,
      currentVersion: deployed.version,
      changedFields: changedFields(deployed.spec, spec),
      codeChanged,
    };
    if (!changed) {
      return {
        ...base,
        outcome: "unchanged",
        newVersion: false,
        replicas: "none",
        replicasReason: "nothing changes",
      };
    }
    return {
      ...base,
      outcome: "updated",
      newVersion: true,
      replicas: "restart",
      replicasReason:
        "a new task definition revision is registered (the spec and bundle travel in it): ECS replaces every task",
      rollout: ecsRollout(spec, Math.max(1, spec.autoscaling.min_replicas)),
    };
  });
  const splitters = plan.splitters.map((splitter) =>
    previewSplitter(splitter, "a listener rule of the load balancer"),
  );
  const batchApis = plan.batchApis.map(({ spec, hash, deployed }) =>
    previewBatchApi(spec, hash, deployed, plan.request.bundle),
  );
  return previewResponse(env, [...apis, ...batchApis, ...splitters], plan.warnings);
}

/** A BatchAPI on ECS is a task definition and no service: a deploy starts and stops no task. */
function previewBatchApi(
  spec: BatchApiSpec,
  hash: string,
  deployed: DeployedApi | undefined,
  bundle: string,
): ApiPreview {
  const codeChanged = deployed !== undefined && deployed.bundle !== bundle;
  return batchApiPreview(
    spec,
    deployed === undefined
      ? undefined
      : {
          version: deployed.version,
          changed: deployed.specHash !== hash || codeChanged,
          codeChanged,
          fields: [],
        },
    {
      idle: "a BatchAPI runs no task: each job starts its own with RunTask",
      applied: "a new task definition revision is registered, which jobs submitted from now on run",
    },
  );
}

/** The ECS rollout: a canary (percent and bake) or a rolling one, in tasks at `replicas`. */
function ecsRollout(spec: ApiSpec, replicas: number): RolloutPreview {
  const canary = spec.update_strategy.canary;
  if (canary !== undefined) {
    return {
      strategy: "canary",
      replicas,
      canaryPercent: canary.traffic_percent,
      bakeTime: canary.bake_time,
      description: describeRolling(spec),
    };
  }
  const { surge, unavailable } = rollingSteps(spec, replicas);
  return { strategy: "rolling", replicas, surge, unavailable, description: describeRolling(spec) };
}

/** The preview with each API's $/hour before → after (`plannedCosts`, services/aws-api-costs.ts). */
export function withPlannedCosts(
  preview: DeployPreviewResponse,
  costs: ReadonlyArray<{ api: string; before?: Money; after: Money; prices: string }>,
): DeployPreviewResponse {
  const byApi = new Map(costs.map((cost) => [cost.api, cost]));
  return {
    ...preview,
    apis: preview.apis.map((api) => {
      const cost = byApi.get(api.api);
      if (cost === undefined) return api;
      const { before, after, prices } = cost;
      return {
        ...api,
        costPerHour: { ...(before === undefined ? {} : { before }), after, prices },
      };
    }),
  };
}
