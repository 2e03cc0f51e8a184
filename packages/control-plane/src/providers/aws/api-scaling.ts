/**
 * An API's autoscaling on ECS: Application Auto Scaling target tracking on the same signal the
 * local engine reads — in-flight requests per replica — which each task's replica front publishes
 * as Embedded Metric Format lines on stdout (`replica/emf-metrics.ts`; the awslogs driver ships
 * them, CloudWatch extracts the metric). Cortex's knobs map onto one scalable target (min/max) and
 * one target-tracking policy; what does not map is said in words (`ScalingPlan.notes`).
 * docs/aws-autoscaling.md has the mapping table, the choice of EMF and its cost.
 *
 * Decisions recorded here:
 * - `min_replicas == max_replicas` still gets the policy. AAS never leaves [min, max], so the count
 *   is pinned either way; keeping the policy makes widening the range a target update only, and
 *   its high alarm still tells the user when a pinned API wants more replicas (two alarms,
 *   ≈ $0.20/month).
 * - Statistic `Average` over every task's 10-second averages is the average in-flight per
 *   replica, what `target_replica_concurrency` is a target for (Cortex: API-wide in-flight ÷
 *   target = replicas wanted).
 * - Apply reads first and makes no mutating call when both already match (STYLE §13's "equal →
 *   no call"), so it can run on every reconcile.
 * - `min_replicas: 0` (scale to zero) adds two alarms and two step policies, and floors the
 *   target-tracking metric so target tracking never asks for 0 tasks itself: api-scale-to-zero.ts.
 */
import type { ApiSpec } from "@axon/config";
import { parseDuration } from "@axon/config";
import type {
  PutScalingPolicyCommandInput,
  RegisterScalableTargetCommandInput,
  ScalableTarget,
  ScalingPolicy,
  TargetTrackingScalingPolicyConfiguration,
} from "@aws-sdk/client-application-auto-scaling";
import { DomainError } from "../../errors.js";
import {
  IN_FLIGHT_METRIC,
  METRIC_NAMESPACE,
  scalableResourceId,
  scalingPolicyName,
  type AwsClusterRefs,
  type EcsApiDeps,
} from "./api-names.js";
import {
  applyScaleToZero,
  describeScaleToZero,
  flooredInFlightMetrics,
  removeScaleToZero,
} from "./api-scale-to-zero.js";
import { callAws } from "./cluster-stack.js";

const SERVICE_NAMESPACE = "ecs";
const SCALABLE_DIMENSION = "ecs:service:DesiredCount";

/** What an API's spec becomes in Application Auto Scaling. */
export interface ScalingPlan {
  target: RegisterScalableTargetCommandInput;
  policy: PutScalingPolicyCommandInput;
  /** What of the spec cannot be mapped, in words (one sentence per knob, naming its value). */
  notes: string[];
}

/** The scalable target, the target-tracking policy and the notes for `spec` on the cluster. */
export function planApiScaling(spec: ApiSpec, refs: AwsClusterRefs): ScalingPlan {
  const scaling = spec.autoscaling;
  const resourceId = scalableResourceId(refs.clusterName, spec.name);
  const target: RegisterScalableTargetCommandInput = {
    ServiceNamespace: SERVICE_NAMESPACE,
    ResourceId: resourceId,
    ScalableDimension: SCALABLE_DIMENSION,
    MinCapacity: scaling.min_replicas,
    MaxCapacity: scaling.max_replicas,
  };
  const policy: PutScalingPolicyCommandInput = {
    PolicyName: scalingPolicyName(spec.name),
    ServiceNamespace: SERVICE_NAMESPACE,
    ResourceId: resourceId,
    ScalableDimension: SCALABLE_DIMENSION,
    PolicyType: "TargetTrackingScaling",
    TargetTrackingScalingPolicyConfiguration: {
      TargetValue: scaling.target_replica_concurrency,
      // min_replicas 0: only the idle step policy may go to zero (api-scale-to-zero.ts says why).
      CustomizedMetricSpecification:
        scaling.min_replicas === 0
          ? { Metrics: flooredInFlightMetrics(refs.clusterName, spec.name) }
          : {
              Namespace: METRIC_NAMESPACE,
              MetricName: IN_FLIGHT_METRIC,
              Dimensions: [
                { Name: "Cluster", Value: refs.clusterName },
                { Name: "Api", Value: spec.name },
              ],
              Statistic: "Average",
              Unit: "Count",
            },
      ScaleOutCooldown: durationSeconds(scaling.upscale_stabilization_period),
      ScaleInCooldown: durationSeconds(scaling.downscale_stabilization_period),
    },
  };
  return { target, policy, notes: scalingNotes(spec) };
}

/**
 * Registers the API's scalable target and puts its target-tracking policy, after reading both:
 * `unchanged` (and no mutating call) when they already match the spec, `created` when the API had
 * no scalable target, else `updated`. The ECS service must exist (AAS refuses a missing one).
 */
export async function applyApiScaling(
  deps: EcsApiDeps,
  spec: ApiSpec,
): Promise<"created" | "updated" | "unchanged"> {
  const plan = planApiScaling(spec, deps.refs);
  const [target, policy] = await Promise.all([
    readScalableTarget(deps, plan),
    readScalingPolicy(deps, plan),
  ]);
  const targetMatches = target !== undefined && sameTarget(target, plan.target);
  const policyMatches = policy !== undefined && samePolicy(policy, plan.policy);
  // Scale to zero's alarms and step policies: put for min_replicas 0, removed (if there) otherwise.
  // After the target exists: a policy needs it.
  const zero = async (): Promise<void> => {
    if (spec.autoscaling.min_replicas === 0 || target?.MinCapacity === 0) {
      await applyScaleToZero(deps, spec);
    }
  };
  if (targetMatches && policyMatches) {
    await zero();
    return "unchanged";
  }
  if (!targetMatches) {
    // Before the policy: AAS attaches a policy to a registered target only.
    await callAws(deps, "application-autoscaling:RegisterScalableTarget", () =>
      deps.ports.autoScaling.registerScalableTarget(plan.target),
    );
    deps.onProgress?.(
      `scalable target ${target === undefined ? "registered" : "updated"}: ${plan.target.MinCapacity}–${plan.target.MaxCapacity} replicas`,
    );
  }
  if (!policyMatches) {
    await callAws(deps, "application-autoscaling:PutScalingPolicy", () =>
      deps.ports.autoScaling.putScalingPolicy(plan.policy),
    );
    const config = plan.policy.TargetTrackingScalingPolicyConfiguration;
    deps.onProgress?.(
      `scaling policy ${plan.policy.PolicyName} ${policy === undefined ? "created" : "updated"}: ${config?.TargetValue} in flight per replica, cooldowns out ${config?.ScaleOutCooldown}s / in ${config?.ScaleInCooldown}s`,
    );
  }
  await zero();
  return target === undefined ? "created" : "updated";
}

/**
 * Deletes the API's scaling policy and deregisters its scalable target, each only if it exists
 * (read first: moto answers a missing policy with a ValidationException, AWS with
 * ObjectNotFoundException, which is tolerated for one removed in between). Call it before the ECS
 * service is deleted, so AAS does not scale a service that is being drained.
 */
export async function removeApiScaling(deps: EcsApiDeps, apiName: string): Promise<void> {
  const plan = {
    target: { ResourceId: scalableResourceId(deps.refs.clusterName, apiName) },
    policy: {
      ResourceId: scalableResourceId(deps.refs.clusterName, apiName),
      PolicyName: scalingPolicyName(apiName),
    },
  };
  const [target, policy] = await Promise.all([
    readScalableTarget(deps, plan),
    readScalingPolicy(deps, plan),
  ]);
  const where = {
    ServiceNamespace: SERVICE_NAMESPACE,
    ResourceId: plan.target.ResourceId,
    ScalableDimension: SCALABLE_DIMENSION,
  } as const;
  // Our own alarms first (AAS deletes only target tracking's), then every policy, then the target.
  if (target?.MinCapacity === 0) await removeScaleToZero(deps, apiName);
  if (policy !== undefined) {
    await tolerateMissing(() =>
      callAws(deps, "application-autoscaling:DeleteScalingPolicy", () =>
        deps.ports.autoScaling.deleteScalingPolicy({
          ...where,
          PolicyName: plan.policy.PolicyName,
        }),
      ),
    );
  }
  if (target !== undefined) {
    await tolerateMissing(() =>
      callAws(deps, "application-autoscaling:DeregisterScalableTarget", () =>
        deps.ports.autoScaling.deregisterScalableTarget(where),
      ),
    );
    deps.onProgress?.(`scalable target ${where.ResourceId} deregistered`);
  }
}

/** What the reads need of a plan. */
interface ScalingKeys {
  target: { ResourceId?: string | undefined };
  policy: { ResourceId?: string | undefined; PolicyName?: string | undefined };
}

async function readScalableTarget(
  deps: EcsApiDeps,
  plan: ScalingKeys,
): Promise<ScalableTarget | undefined> {
  const output = await callAws(deps, "application-autoscaling:DescribeScalableTargets", () =>
    deps.ports.autoScaling.describeScalableTargets({
      ServiceNamespace: SERVICE_NAMESPACE,
      ResourceIds: [plan.target.ResourceId ?? ""],
      ScalableDimension: SCALABLE_DIMENSION,
    }),
  );
  return output.ScalableTargets?.find((found) => found.ResourceId === plan.target.ResourceId);
}

async function readScalingPolicy(
  deps: EcsApiDeps,
  plan: ScalingKeys,
): Promise<ScalingPolicy | undefined> {
  const output = await callAws(deps, "application-autoscaling:DescribeScalingPolicies", () =>
    deps.ports.autoScaling.describeScalingPolicies({
      ServiceNamespace: SERVICE_NAMESPACE,
      ResourceId: plan.policy.ResourceId,
      ScalableDimension: SCALABLE_DIMENSION,
      PolicyNames: [plan.policy.PolicyName ?? ""],
    }),
  );
  return output.ScalingPolicies?.find((found) => found.PolicyName === plan.policy.PolicyName);
}

function sameTarget(found: ScalableTarget, wanted: RegisterScalableTargetCommandInput): boolean {
  return found.MinCapacity === wanted.MinCapacity && found.MaxCapacity === wanted.MaxCapacity;
}

/** Compares the fields the plan sets; AWS's own additions (alarms, ARNs, dates) are ignored. */
function samePolicy(found: ScalingPolicy, wanted: PutScalingPolicyCommandInput): boolean {
  return (
    found.PolicyType === wanted.PolicyType &&
    comparableConfig(found.TargetTrackingScalingPolicyConfiguration) ===
      comparableConfig(wanted.TargetTrackingScalingPolicyConfiguration)
  );
}

/** The configuration as canonical text: absent and default-valued fields alike, dimensions sorted. */
function comparableConfig(config: TargetTrackingScalingPolicyConfiguration | undefined): string {
  if (config === undefined) return "";
  const metric = config.CustomizedMetricSpecification;
  return JSON.stringify({
    target: config.TargetValue,
    out: config.ScaleOutCooldown ?? null,
    in: config.ScaleInCooldown ?? null,
    disableScaleIn: config.DisableScaleIn ?? false,
    predefined: config.PredefinedMetricSpecification?.PredefinedMetricType ?? null,
    metric:
      metric === undefined
        ? null
        : {
            namespace: metric.Namespace ?? null,
            name: metric.MetricName ?? null,
            statistic: metric.Statistic ?? null,
            unit: metric.Unit ?? null,
            dimensions: (metric.Dimensions ?? [])
              .map((dimension) => `${dimension.Name}=${dimension.Value}`)
              .sort(),
            math:
              metric.Metrics === undefined || metric.Metrics.length === 0
                ? null
                : metric.Metrics.map((query) => ({
                    id: query.Id ?? null,
                    expression: query.Expression ?? null,
                    stat: query.MetricStat?.Stat ?? null,
                    metric: query.MetricStat?.Metric?.MetricName ?? null,
                    dimensions: (query.MetricStat?.Metric?.Dimensions ?? [])
                      .map((dimension) => `${dimension.Name}=${dimension.Value}`)
                      .sort(),
                    returnData: query.ReturnData ?? true,
                  })),
          },
  });
}

/** Whole seconds, rounded up (a cooldown is an integer number of seconds). */
function durationSeconds(goDuration: string): number {
  return Math.ceil(parseDuration(goDuration) / 1000);
}

/** The knobs target tracking has no setting for, and what it does instead. */
function scalingNotes(spec: ApiSpec): string[] {
  const scaling = spec.autoscaling;
  const notes = [
    `window ${scaling.window} has no AWS setting: target tracking reads 1-minute averages and scales out after 3 consecutive minutes above the target, in after 15 consecutive minutes below it`,
    `max_upscale_factor ${scaling.max_upscale_factor} has no AWS setting: target tracking scales out in proportion to how far the metric is above the target, as far as it needs in one step (up to max_replicas)`,
    `max_downscale_factor ${scaling.max_downscale_factor} has no AWS setting: target tracking scales in gradually, only after 15 minutes below the target, with ScaleInCooldown between steps`,
    `upscale_tolerance ${scaling.upscale_tolerance} has no AWS setting: target tracking has no band above the target (3 minutes above it are enough)`,
    `downscale_tolerance ${scaling.downscale_tolerance} has no AWS setting: target tracking keeps its own band of about 10% below the target before it scales in`,
  ];
  const zero = describeScaleToZero(spec);
  if (zero !== undefined) notes.push(`min_replicas 0: ${zero}`);
  if (scaling.min_replicas === scaling.max_replicas) {
    notes.push(
      `min_replicas = max_replicas = ${scaling.min_replicas}: the count is pinned; the policy stays so that widening the range later changes only the scalable target`,
    );
  }
  return notes;
}

/** Runs a delete; AWS saying the object is already gone (`ObjectNotFoundException`) is fine. */
async function tolerateMissing(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (error instanceof DomainError && errorName(error.cause) === "ObjectNotFoundException")
      return;
    throw error;
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "";
}
