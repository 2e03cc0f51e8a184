/**
 * What the live `axon deploy` view shows, as a value: the deploy's progress events folded into
 * steps (config validated, project packed, uploaded, environment built, deploy recorded), each
 * API's replicas with their state and since when, and how it ended. Pure: `reduceDeploy(state,
 * event, now)` returns the next state, so the view is props-in/view-out and the folding is tested
 * without a terminal.
 */
import type { DeployResult } from "@axon/control-plane/api";
import { formatDiagnostic } from "../errors.js";
import { formatBytes } from "../output.js";
import type { DeployProgress, DeploySummary } from "../services/deploy.js";

/** A step that has happened (or is happening). */
export interface DeployStep {
  key: "validated" | "packed" | "uploaded" | "built" | "recorded" | "warning" | "note";
  /** `noun + past participle`: "axon.yaml validated". */
  text: string;
  done: boolean;
}

export type ReplicaState = "starting" | "ready" | "failed" | "stopped";

export interface ReplicaView {
  id: string;
  state: ReplicaState;
  /** ISO time the replica entered `state`. */
  since: string;
  /** Seconds it took to become ready. */
  readySeconds?: number;
  reason?: string;
}

export interface ApiView {
  name: string;
  result?: DeployResult;
  /** The API's status as last polled. */
  status?: string;
  replicas: ReplicaView[];
  error?: { message: string; hint?: string; logTail?: string[] };
}

export interface DeployViewState {
  steps: DeployStep[];
  /** The last lines of the environment build (pip), while it runs. */
  buildLines: string[];
  /** ISO time the current running step began, for its elapsed time. */
  stepStartedAt: string;
  apis: ApiView[];
  /** Set once the deploy is recorded: from then on Ctrl-C does not cancel it. */
  recorded: boolean;
  waiting: boolean;
  summary?: DeploySummary;
  /** Set when the deploy ended without a summary (an error, Ctrl-C): nothing runs any more. */
  stopped?: boolean;
}

/** How many lines of pip's output stay on screen while an environment builds. */
const BUILD_LINES = 4;

/** The state before any event. */
export function initialDeployState(now: Date, waiting: boolean): DeployViewState {
  return {
    steps: [],
    buildLines: [],
    stepStartedAt: now.toISOString(),
    apis: [],
    recorded: false,
    waiting,
  };
}

/** The state after `event`. */
export function reduceDeploy(
  state: DeployViewState,
  event: DeployProgress,
  now: Date,
): DeployViewState {
  const at = now.toISOString();
  switch (event.type) {
    case "validated":
      return {
        ...state,
        stepStartedAt: at,
        apis: event.apis.map((name) => ({ name, replicas: [] })),
        steps: [
          ...state.steps,
          {
            key: "validated",
            text: `${event.file} validated: ${event.apis.length === 1 ? "1 api" : `${event.apis.length} apis`} (${event.apis.join(", ")})`,
            done: true,
          },
        ],
      };
    case "replacing":
      return state; // asked on the terminal before going on
    case "packed":
      return {
        ...state,
        stepStartedAt: at,
        steps: [
          ...state.steps,
          {
            key: "packed",
            text: `project packed: ${event.files} ${event.files === 1 ? "file" : "files"}, ${formatBytes(event.contentBytes)}`,
            done: true,
          },
        ],
      };
    case "uploaded":
      return {
        ...state,
        stepStartedAt: at,
        steps: [
          ...state.steps,
          {
            key: "uploaded",
            text: event.skipped
              ? `project unchanged (${event.sha256.slice(0, 12)} already on the control plane), not sent again`
              : `project uploaded (${formatBytes(event.bytes)})`,
            done: true,
          },
        ],
      };
    case "building":
      return {
        ...state,
        // The build's elapsed time counts from its first line.
        stepStartedAt: state.buildLines.length === 0 ? at : state.stepStartedAt,
        buildLines: [...state.buildLines, event.message].slice(-BUILD_LINES),
      };
    case "deprecations":
      return {
        ...state,
        steps: [
          ...state.steps,
          ...event.warnings.map((warning): DeployStep => ({
            key: "warning",
            text: `warning: ${formatDiagnostic(warning)}`,
            done: true,
          })),
        ],
      };
    case "deployed": {
      const built: DeployStep[] =
        state.buildLines.length > 0
          ? [{ key: "built", text: "python environment built", done: true }]
          : [];
      return {
        ...state,
        buildLines: [],
        stepStartedAt: at,
        recorded: true,
        steps: [
          ...state.steps,
          ...built,
          ...event.response.results.map((result): DeployStep => ({
            key: "recorded",
            text: result.message,
            done: true,
          })),
        ],
        apis: mergeApis(
          state.apis,
          event.response.results.map((result) => result.api),
        ).map((api) => {
          const result = event.response.results.find((r) => r.api === api.name);
          return result === undefined ? api : { ...api, result };
        }),
      };
    }
    case "status":
      return updateApi(state, event.api.name, (api) => ({ ...api, status: event.api.status }));
    case "event": {
      const { event: e, time } = event.line;
      // Only replica events change the view; the others (deploys, rollouts) are steps already.
      if (e.kind === "replica.starting")
        return updateReplica(state, e.api, e.replicaId, () => ({
          id: e.replicaId,
          state: "starting",
          since: time,
        }));
      if (e.kind === "replica.ready")
        return updateReplica(state, e.api, e.replicaId, () => ({
          id: e.replicaId,
          state: "ready",
          since: time,
          readySeconds: e.seconds,
        }));
      if (e.kind === "replica.failed")
        return updateReplica(state, e.api, e.replicaId, () => ({
          id: e.replicaId,
          state: "failed",
          since: time,
          reason: e.reason,
        }));
      if (e.kind === "replica.stopped")
        return updateReplica(state, e.api, e.replicaId, (replica) =>
          // A failed replica keeps showing why it failed; a healthy one that stops (an old
          // version during a rolling update) says so.
          replica?.state === "failed"
            ? replica
            : { id: e.replicaId, state: "stopped", since: time },
        );
      return state;
    }
  }
}

/** A line something else had to say on the way (e.g. "starting the local cluster..."). */
export function noteDeploy(state: DeployViewState, text: string): DeployViewState {
  return { ...state, steps: [...state.steps, { key: "note", text, done: false }] };
}

/** The state once the deploy (and the wait) returned. */
export function finishDeploy(state: DeployViewState, summary: DeploySummary): DeployViewState {
  let next: DeployViewState = { ...state, summary };
  for (const api of summary.apis) {
    next = updateApi(next, api.name, (view) => ({
      ...view,
      status: api.status,
      ...(api.error === undefined ? {} : { error: api.error }),
    }));
  }
  return next;
}

function mergeApis(apis: ApiView[], names: string[]): ApiView[] {
  const known = new Set(apis.map((api) => api.name));
  return [
    ...apis,
    ...names.filter((name) => !known.has(name)).map((name) => ({ name, replicas: [] })),
  ];
}

function updateApi(
  state: DeployViewState,
  name: string,
  change: (api: ApiView) => ApiView,
): DeployViewState {
  const apis = mergeApis(state.apis, [name]).map((api) => (api.name === name ? change(api) : api));
  return { ...state, apis };
}

function updateReplica(
  state: DeployViewState,
  apiName: string,
  id: string,
  change: (replica: ReplicaView | undefined) => ReplicaView,
): DeployViewState {
  return updateApi(state, apiName, (api) => {
    const existing = api.replicas.find((replica) => replica.id === id);
    const replica = change(existing);
    return {
      ...api,
      replicas:
        existing === undefined
          ? [...api.replicas, replica]
          : api.replicas.map((r) => (r.id === id ? replica : r)),
    };
  });
}
