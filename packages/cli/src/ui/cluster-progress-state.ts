/**
 * What the live `cluster up|down` view shows, folded from the daemon's stream: finished lines
 * (messages, and resources that completed or failed) in the order they finished, append-only so
 * they can scroll up once; and the resources still in progress, with when they started.
 */
import type { ClusterProgressLine } from "../client/api-client.js";

export interface FinishedLine {
  kind: "message" | "complete" | "failed";
  text: string;
}

export interface RunningResource {
  logicalId: string;
  resourceType: string;
  status: string;
  since: Date;
}

export interface ClusterProgressState {
  finished: FinishedLine[];
  running: RunningResource[];
}

export const initialClusterProgress: ClusterProgressState = { finished: [], running: [] };

/** The state after one more line of the stream, received at `now`. */
export function reduceClusterProgress(
  state: ClusterProgressState,
  line: ClusterProgressLine,
  now: Date,
): ClusterProgressState {
  if (line.type === "progress") {
    return { ...state, finished: [...state.finished, { kind: "message", text: line.message }] };
  }
  const { logicalId, resourceType, status, reason } = line.resource;
  const others = state.running.filter((resource) => resource.logicalId !== logicalId);
  if (status.endsWith("_IN_PROGRESS")) {
    const before = state.running.find((resource) => resource.logicalId === logicalId);
    return {
      ...state,
      running: [...others, { logicalId, resourceType, status, since: before?.since ?? now }],
    };
  }
  const failed = status.endsWith("_FAILED");
  const text = `${logicalId} (${resourceType}) ${status}${reason === undefined ? "" : `: ${reason}`}`;
  return {
    finished: [...state.finished, { kind: failed ? "failed" : "complete", text }],
    running: others,
  };
}
