/**
 * What local `axon cluster up` shows while the cluster starts: the phases done so far, each with
 * the time since the command began, and what it waits for now (the replicas' count updates in
 * place). The live view and the plain lines on stderr both render this.
 */

export interface ClusterUpStep {
  text: string;
  at: Date;
}

export interface ClusterUpState {
  startedAt: Date;
  /** Append-only, so the live view can let them scroll up once. */
  steps: ClusterUpStep[];
  /** What is awaited now (e.g. `replicas starting: 1 of 2 ready`); none once done. */
  waiting: string | undefined;
}

export function initialClusterUp(startedAt: Date, waiting?: string): ClusterUpState {
  return { startedAt, steps: [], waiting };
}

/** Seconds between the command's start and `at`, as `1.2s` (never negative). */
export function elapsedSince(startedAt: Date, at: Date): string {
  return `${Math.max(0, (at.getTime() - startedAt.getTime()) / 1000).toFixed(1)}s`;
}

/** One phase as a plain line: `state opened: 3 APIs (0.4s)`. */
export function renderClusterUpLine(state: ClusterUpState, text: string, at: Date): string {
  return `${text} (${elapsedSince(state.startedAt, at)})`;
}
