/**
 * `deploy --plan` on the local engine (issue 30): what `deployApis` (services/deploy.ts) would do
 * with a `DeployPlan`, decided by the same tests it and the local provider use — a new version when
 * the spec hash, the bundle, the credentials or the environment differ (its `planApi`); the
 * running replicas kept when the provider's runtime key is equal (`keepsReplicas`, the key
 * `apply` adopts replicas by); the environment built when no environment of the requirements'
 * content key exists. Reads only: nothing is built, recorded or started.
 */
import type { ApiSpec } from "@axon/config";
import type { ApiPreview, DeployPreviewResponse, RolloutPreview } from "../contract/index.js";
import type { Artifact, DesiredApi, Provider } from "../providers/provider.js";
import { resolveRolloutBounds } from "../providers/local/rollout.js";
import { localArtifactFor, type DeployPlan } from "../services/deploy-plan.js";
import type { SecretStore } from "../state/secrets.js";
import type { ApiRecord, StateStore } from "../state/store.js";
import { onlyScalingFields, previewResponse, previewSplitter } from "./deploy-preview.js";
import { changedFields } from "../services/spec-changes.js";

export interface LocalPreviewDeps {
  store: StateStore;
  secrets: SecretStore;
  provider: Pick<Provider, "previewArtifact" | "keepsReplicas">;
}

/** What deploying `plan` locally would do to each API of its config. */
export function previewLocalDeploy(
  deps: LocalPreviewDeps,
  plan: DeployPlan,
): DeployPreviewResponse {
  const { request } = plan;
  const credentials = request.credentials ?? {};
  // One artifact for every API of the config, as the deploy prepares it once for the project.
  const prepared = deps.provider.previewArtifact?.(plan.projectDir);
  const projectArtifact: Artifact = prepared?.artifact ?? {};
  const environment = prepared?.environment;
  const envFields = {
    ...(environment === undefined ? {} : { environment }),
    ...(prepared?.environmentKey === undefined ? {} : { environmentKey: prepared.environmentKey }),
  };

  const apis = plan.apis.map((planned): ApiPreview => {
    const { spec, hash } = planned;
    const artifact = localArtifactFor(planned, projectArtifact);
    const existing = deps.store.getApi(spec.name);
    const next: DesiredApi = {
      name: spec.name,
      version: { id: "planned", spec, bundle: request.bundle, artifact },
      replicas: spec.autoscaling.init_replicas,
      secretEnv: credentials,
    };
    if (existing === undefined) {
      return {
        api: spec.name,
        kind: spec.kind,
        outcome: "created",
        newVersion: true,
        changedFields: [],
        codeChanged: true,
        replicas: "start",
        replicasReason: `${spec.autoscaling.init_replicas} new replica(s) start`,
        ...envFields,
        rollout: rollingPreview(spec, spec.autoscaling.init_replicas),
      };
    }
    const current = existing.currentVersion;
    const fields = changedFields(current.spec, spec);
    const codeChanged = current.bundle !== request.bundle;
    const credentialsChanged = deps.secrets.differs(spec.name, credentials);
    const environmentChanged = !sameArtifact(current.artifact, artifact);
    const changed =
      current.specHash !== hash || codeChanged || credentialsChanged || environmentChanged;
    const base = {
      api: spec.name,
      kind: spec.kind,
      currentVersion: current.id,
      changedFields: fields,
      codeChanged,
    };
    if (!changed) {
      // An environment removed meanwhile is built again by the deploy: `environment` says so.
      return {
        ...base,
        outcome: "unchanged",
        newVersion: false,
        replicas: "none",
        replicasReason: "nothing changes",
        ...envFields,
      };
    }
    const running: DesiredApi = {
      name: spec.name,
      version: current,
      replicas: existing.requested,
      secretEnv: deps.secrets.get(spec.name),
    };
    const keeps = deps.provider.keepsReplicas?.(running, next) ?? false;
    const desired = replicasAfter(existing, spec);
    return {
      ...base,
      outcome: "updated",
      newVersion: true,
      replicas: keeps ? "keep" : "restart",
      replicasReason: keeps
        ? "only autoscaling, networking or update_strategy changed: the running replicas carry on"
        : restartReason({ codeChanged, credentialsChanged, environmentChanged, fields }),
      ...envFields,
      ...(keeps ? {} : { rollout: rollingPreview(spec, desired) }),
    };
  });
  const splitters = plan.splitters.map((splitter) => previewSplitter(splitter, "the gateway"));
  return previewResponse("local", [...apis, ...splitters], plan.warnings);
}

/** Why the replicas restart, naming the first reasons a user acts on. */
function restartReason(change: {
  codeChanged: boolean;
  credentialsChanged: boolean;
  environmentChanged: boolean;
  fields: ReadonlyArray<{ field: string }>;
}): string {
  const reasons: string[] = [];
  if (change.codeChanged) reasons.push("the project's files changed");
  if (change.environmentChanged) reasons.push("the Python requirements changed");
  if (change.credentialsChanged) reasons.push("the forwarded AWS settings changed");
  const read = change.fields.filter((f) => !onlyScalingFields([f])).map((f) => f.field);
  if (read.length > 0) reasons.push(`the replicas read ${read.join(", ")}`);
  return `new replicas replace the running ones: ${reasons.join("; ") || "the version changed"}`;
}

/** The replicas a new version rolls to: what the API asks for now, within the new limits. */
function replicasAfter(existing: ApiRecord, spec: ApiSpec): number {
  const { min_replicas: min, max_replicas: max } = spec.autoscaling;
  return Math.min(max, Math.max(min, existing.requested));
}

/** The local rolling update at `replicas` (Kubernetes' rounding, providers/local/rollout.ts). */
function rollingPreview(spec: ApiSpec, replicas: number): RolloutPreview {
  const { max_surge: maxSurge, max_unavailable: maxUnavailable } = spec.update_strategy;
  const { surge, unavailable } = resolveRolloutBounds(replicas, maxSurge, maxUnavailable);
  return {
    strategy: "rolling",
    replicas,
    surge,
    unavailable,
    description: `rolling to ${replicas} replica${replicas === 1 ? "" : "s"}: up to ${surge} extra started, up to ${unavailable} unavailable at a time`,
  };
}

/** Artifacts are small flat records: equal when every field is (as services/deploy.ts compares). */
function sameArtifact(a: Artifact, b: Artifact): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if (a[key] !== b[key]) return false;
  return true;
}
