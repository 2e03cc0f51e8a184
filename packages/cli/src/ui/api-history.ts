/**
 * The parts of `axon get <api>` about how the API got where it is: its recent versions with when
 * each went live, and what the autoscaler last did or is waiting for. Pure: data in, text out.
 */
import type { ApiDetail } from "@axon/control-plane/api";
import { formatAge, indent, renderTable } from "../output.js";

/** How many versions the detail view lists (newest first). */
export const DETAIL_VERSION_COUNT = 5;

/** `versions:` newest first — deployed when, live when (or never), which one runs. */
export function renderVersionsSection(
  versions: ApiDetail["versions"],
  now: Date,
): string | undefined {
  const recent = versions.slice(0, DETAIL_VERSION_COUNT);
  if (recent.length === 0) return undefined;
  const rows = recent.map((version) => [
    version.id,
    `${formatAge(new Date(version.createdAt), now)} ago`,
    version.liveAt === null ? "never" : `${formatAge(new Date(version.liveAt), now)} ago`,
    version.current ? "current" : "",
  ]);
  return `versions:\n${indent(renderTable(["version", "deployed", "live", ""], rows).trimEnd())}`;
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
