/**
 * `axon deploy --plan`'s human output: one block per API — what happens to it, which fields
 * change (before → after), the replicas, the Python environment and the rollout — aligned as a
 * list, coloured like terraform's plan (green create, yellow update, dim unchanged). Pure.
 */
import type { ApiPreview, DeployPreviewResponse } from "@axon/control-plane/api";
import type { Painter } from "../terminal.js";

const SIGN: Record<ApiPreview["outcome"], string> = {
  created: "+",
  updated: "~",
  unchanged: "=",
};

const WORD: Record<ApiPreview["outcome"], string> = {
  created: "create",
  updated: "update",
  unchanged: "unchanged",
};

/** The whole plan, without a final newline. */
export function renderDeployPlan(plan: DeployPreviewResponse, paint: Painter): string {
  const blocks = plan.apis.map((api) => renderApiPreview(api, paint));
  const counted = (outcome: ApiPreview["outcome"]): number =>
    plan.apis.filter((api) => api.outcome === outcome).length;
  const summary = plan.changes
    ? `plan for ${plan.env}: ${counted("created")} to create, ${counted("updated")} to update, ${counted("unchanged")} unchanged (nothing was deployed; run \`axon deploy\` to apply)`
    : `plan for ${plan.env}: nothing would change`;
  return [...blocks, paint("bold", summary)].join("\n\n");
}

function renderApiPreview(api: ApiPreview, paint: Painter): string {
  const style = api.outcome === "created" ? "green" : api.outcome === "updated" ? "yellow" : "dim";
  const head = paint(
    style,
    `${SIGN[api.outcome]} ${api.api} (${api.kind}): ${WORD[api.outcome]}${api.currentVersion === undefined ? "" : ` (now ${api.currentVersion})`}`,
  );
  const rows: Array<[string, string]> = [];
  if (api.outcome !== "unchanged") {
    if (api.codeChanged && api.outcome === "updated") rows.push(["code", "changed"]);
    for (const change of api.changedFields) {
      rows.push([change.field, `${show(change.before)} → ${show(change.after)}`]);
    }
  }
  rows.push(["replicas", `${api.replicas}: ${api.replicasReason}`]);
  if (api.environment !== undefined) {
    const words = {
      build: "built (new requirements)",
      reuse: "reused",
      none: "none (base interpreter)",
    }[api.environment];
    const key = api.environmentKey === undefined ? "" : ` ${api.environmentKey.slice(0, 12)}`;
    rows.push(["environment", `${words}${key}`]);
  }
  if (api.rollout !== undefined) rows.push(["rollout", api.rollout.description]);
  if (api.scaleToZero !== undefined) rows.push(["scale to zero", api.scaleToZero]);
  if (api.costPerHour !== undefined) {
    const { before, after, prices } = api.costPerHour;
    const was = before === undefined ? "" : `${usd(before.usd)} → `;
    rows.push(["cost", `${was}${usd(after.usd)} per hour (${prices})`]);
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => `    ${label.padEnd(width)}   ${value}`);
  return [head, ...lines].join("\n");
}

function usd(amount: number): string {
  return amount >= 1 ? `$${amount.toFixed(2)}` : `$${Number(amount.toPrecision(4))}`;
}

function show(value: unknown): string {
  if (value === undefined) return "(unset)";
  return typeof value === "string" ? value : JSON.stringify(value);
}
