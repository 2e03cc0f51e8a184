/**
 * The parts of `axon get <api>` about how the API got where it is and what it answers: its recent
 * versions with when each went live, what the autoscaler last did or is waiting for, and what the
 * model predicted (prediction monitoring) with its drift verdict. Pure: data in, text out.
 */
import type { ApiDetail, PredictionSummary } from "@axon/control-plane/api";
import { formatAge, indent, renderTable } from "../output.js";

/** How many versions the detail view lists (newest first). */
export const DETAIL_VERSION_COUNT = 5;

/**
 * `versions:` newest first — deployed when, live when (or never), which one runs. An engine that
 * records no live times (ECS: task definition revisions) gets no `live` column rather than a
 * "never" beside the revision that serves, and a time its engine did not say is a dash.
 */
export function renderVersionsSection(
  versions: ApiDetail["versions"],
  now: Date,
  engine: ApiDetail["runtime"]["engine"] = "local",
): string | undefined {
  const recent = versions.slice(0, DETAIL_VERSION_COUNT);
  if (recent.length === 0) return undefined;
  const ago = (time: string): string =>
    time === "" ? "-" : `${formatAge(new Date(time), now)} ago`;
  const liveKnown = engine === "local";
  const rows = recent.map((version) => [
    version.id,
    ago(version.createdAt),
    ...(liveKnown ? [version.liveAt === null ? "never" : ago(version.liveAt)] : []),
    version.current ? "current" : "",
  ]);
  const headers = ["version", "deployed", ...(liveKnown ? ["live"] : []), ""];
  return `versions:\n${indent(renderTable(headers, rows).trimEnd())}`;
}

/** `autoscaling:` the last tick's signal, the last change, and a change held back. */
export function renderAutoscalingSection(api: ApiDetail, now: Date): string | undefined {
  const status = api.autoscaling;
  if (status === undefined) return undefined;
  const lines: string[] = [];
  if (status.avgInFlight !== undefined && status.recommendation !== undefined) {
    lines.push(
      `avg in-flight ${status.avgInFlight} over the window: ${status.recommendation} replica${status.recommendation === 1 ? "" : "s"} recommended, ${api.replicas.requested} requested`,
    );
  }
  if (status.pending !== undefined) lines.push(status.pending);
  if (status.lastScaled !== undefined) {
    lines.push(
      `${status.lastScaled.message} (${formatAge(new Date(status.lastScaled.at), now)} ago)`,
    );
  }
  if (lines.length === 0) return undefined;
  return `autoscaling:\n${indent(lines.join("\n"))}`;
}

/** How many classes the monitoring table lists (the rest are summed in one row). */
export const DETAIL_CLASS_COUNT = 10;

/**
 * `monitoring:` what the current version predicted since the range's start — classes with their
 * counts and shares, or count/mean/min/max/p50/p90/p99 — the previous version's beside it during
 * a rollout, uncountable answers, and the drift verdict.
 */
export function renderMonitoringSection(api: ApiDetail, now: Date): string | undefined {
  const monitoring = api.monitoring;
  if (monitoring === undefined) return undefined;
  const key = monitoring.key === null ? "" : `, key ${monitoring.key}`;
  const header = `monitoring (${monitoring.modelType}${key}), since ${formatAge(new Date(monitoring.since), now)} ago:`;
  const summaries = [
    monitoring.current,
    ...(monitoring.previous === undefined ? [] : [monitoring.previous]),
  ];
  const table =
    monitoring.modelType === "classification" ? classTable(summaries) : statsTable(summaries);
  const lines = [table];
  const uncounted = summaries.flatMap((s) => [
    ...(s.missingKey > 0
      ? [
          `${plural(s.missingKey, "answer")} of ${s.versionId} without the key ${monitoring.key ?? ""}`,
        ]
      : []),
    ...(s.invalid > 0
      ? [
          `${plural(s.invalid, "answer")} of ${s.versionId} that were not a ${monitoring.modelType === "classification" ? "class" : "number"}`,
        ]
      : []),
  ]);
  lines.push(...uncounted);
  lines.push(`drift: ${monitoring.drift.message} (baseline: ${monitoring.drift.baseline})`);
  return `${header}\n${indent(lines.join("\n"))}`;
}

function classTable(summaries: PredictionSummary[]): string {
  const [current] = summaries;
  if (
    current === undefined ||
    (current.predictions === 0 && summaries.every((s) => s.predictions === 0))
  ) {
    return "no predictions yet";
  }
  const labels = [...new Set(summaries.flatMap((s) => (s.classes ?? []).map((c) => c.label)))];
  const countOf = (s: PredictionSummary, label: string) =>
    (s.classes ?? []).find((c) => c.label === label);
  labels.sort((a, b) => (countOf(current, b)?.count ?? 0) - (countOf(current, a)?.count ?? 0));
  const shown = labels.slice(0, DETAIL_CLASS_COUNT);
  const headers = ["class", ...summaries.map((s) => s.versionId)];
  const cell = (s: PredictionSummary, label: string): string => {
    const c = countOf(s, label);
    return c === undefined ? "-" : `${c.count} (${Math.round(c.share * 100)}%)`;
  };
  const rows = shown.map((label) => [label, ...summaries.map((s) => cell(s, label))]);
  const rest = labels.length - shown.length;
  if (rest > 0 || summaries.some((s) => (s.other ?? 0) > 0)) {
    rows.push([
      rest > 0 ? `${rest} more` : "other",
      ...summaries.map((s) => {
        const hidden = labels
          .slice(DETAIL_CLASS_COUNT)
          .reduce((n, l) => n + (countOf(s, l)?.count ?? 0), 0);
        return String(hidden + (s.other ?? 0));
      }),
    ]);
  }
  rows.push(["predictions", ...summaries.map((s) => String(s.predictions))]);
  return renderTable(headers, rows).trimEnd();
}

function statsTable(summaries: PredictionSummary[]): string {
  if (summaries.every((s) => s.stats === undefined)) return "no predictions yet";
  const headers = ["version", "count", "mean", "min", "p50", "p90", "p99", "max"];
  const rows = summaries.map((s) => {
    const st = s.stats;
    if (st === undefined) return [s.versionId, "0", "-", "-", "-", "-", "-", "-"];
    return [
      s.versionId,
      String(st.count),
      ...[st.mean, st.min, st.p50, st.p90, st.p99, st.max].map(formatValue),
    ];
  });
  return renderTable(headers, rows).trimEnd();
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function formatValue(n: number): string {
  return Math.abs(n) >= 1000 ? n.toFixed(0) : String(Number(n.toPrecision(4)));
}

/** `notes:` how the engine treats the spec's limits (e.g. a CPU limit it cannot enforce). */
export function renderNotesSection(api: ApiDetail): string | undefined {
  const notes = api.notes ?? [];
  if (notes.length === 0) return undefined;
  return `notes:\n${indent(notes.join("\n"))}`;
}
