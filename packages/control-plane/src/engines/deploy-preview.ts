/**
 * `deploy --plan` (issue 30): the parts of a preview both engines share. Each engine decides what
 * its own deploy would do with a `DeployPlan` (`ApiEngine.preview`); what a change *is* — the
 * fields that differ between the deployed spec and the new one, and the overall "anything to do?"
 * — is decided here once, so the two engines cannot word or count it differently.
 */
import type { Diagnostic } from "@axon/config";
import type { ApiPreview, DeployPreviewResponse, FieldChange } from "../contract/index.js";
import type { PlannedSplitter } from "../services/deploy-plan.js";
import { changedFields } from "../services/spec-changes.js";

/**
 * True when every changed field is one the running replicas do not read: the autoscaler's limits
 * and targets (`max_replica_concurrency` aside, which bounds each replica's own queue), the
 * endpoint (the gateway's) and the rollout settings. The local engine decides by its replicas'
 * runtime key; this is what the words for `replicasReason` are chosen by.
 */
export function onlyScalingFields(changes: readonly FieldChange[]): boolean {
  return changes.every(
    (change) =>
      (change.field.startsWith("autoscaling.") &&
        change.field !== "autoscaling.max_replica_concurrency") ||
      change.field.startsWith("networking.") ||
      change.field.startsWith("update_strategy."),
  );
}

/** The response of a preview: `changes` is true when any API would be created or updated. */
export function previewResponse(
  env: string,
  apis: ApiPreview[],
  warnings: Diagnostic[],
): DeployPreviewResponse {
  return { env, changes: apis.some((api) => api.outcome !== "unchanged"), apis, warnings };
}

/**
 * What a deploy would do to a TrafficSplitter of the config, decided as both engines' deploys do:
 * `unchanged` when the deployed splitter is the same spec (the store row locally, the listener
 * rule's tags on ECS), else created or updated. A splitter runs no replicas; `routedBy` says what
 * serves it instead (the gateway, a listener rule).
 */
export function previewSplitter(splitter: PlannedSplitter, routedBy: string): ApiPreview {
  const { spec, deployed } = splitter;
  const outcome =
    deployed === undefined
      ? "created"
      : JSON.stringify(deployed) === JSON.stringify(spec)
        ? "unchanged"
        : "updated";
  return {
    api: spec.name,
    kind: spec.kind,
    outcome,
    newVersion: false,
    changedFields: changedFields(deployed, spec),
    codeChanged: false,
    replicas: "none",
    replicasReason:
      outcome === "unchanged"
        ? "nothing changes"
        : `a TrafficSplitter runs no replicas: ${routedBy} shares its requests by weight`,
  };
}
