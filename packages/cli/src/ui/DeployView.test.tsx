import type { EventLine } from "@axon/control-plane/api";
import { render } from "ink-testing-library";
import { describe, expect, it } from "vitest";
import type { DeployProgress, DeploySummary } from "../services/deploy.js";
import { makeApiDetail } from "../testing/fake-control-plane.js";
import {
  finishDeploy,
  initialDeployState,
  reduceDeploy,
  type DeployViewState,
} from "./deploy-state.js";
import { DeployView } from "./DeployView.js";
import { ColorProvider } from "./Tint.js";

const T0 = new Date("2026-12-03T17:00:00.000Z");
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);

const RESULT = {
  api: "iris-classifier",
  kind: "RealtimeAPI",
  outcome: "created" as const,
  message: "creating iris-classifier (RealtimeAPI)",
  endpoint: "http://localhost:8888/iris-classifier",
  exampleCurl:
    'curl http://localhost:8888/iris-classifier -X POST -H "Content-Type: application/json" -d @/p/sample.json',
};

function event(seconds: number, e: EventLine["event"]): DeployProgress {
  return {
    type: "event",
    line: { time: at(seconds).toISOString(), level: "info", message: "", event: e },
  };
}

/** The state after `events`, the n-th event at second n. */
function fold(events: DeployProgress[]): DeployViewState {
  return events.reduce(
    (state, e, i) => reduceDeploy(state, e, at(i)),
    initialDeployState(T0, true),
  );
}

const UP_TO_RECORDED: DeployProgress[] = [
  { type: "validated", file: "axon.yaml", apis: ["iris-classifier"] },
  {
    type: "packed",
    files: 3,
    largeFiles: [],
    contentBytes: 4800,
    archiveBytes: 2600,
    sha256: "f43ab13a827a".padEnd(64, "0"),
  },
  { type: "uploaded", bytes: 2600, sha256: "f43ab13a827a".padEnd(64, "0"), skipped: true },
  { type: "building", message: "Collecting scikit-learn" },
  {
    type: "deprecations",
    warnings: [
      {
        file: "cortex.yaml",
        line: 4,
        column: 3,
        path: "predictor.model",
        message: "is deprecated; use predictor.model_path",
      },
    ],
  },
  { type: "deployed", response: { results: [RESULT], warnings: [] } },
];

/** What deployProject returns for one API that ended as `api`. */
function summaryOf(api: DeploySummary["apis"][number]): DeploySummary {
  return {
    results: [RESULT],
    warnings: [],
    configFile: "/p/axon.yaml",
    bundle: { sha256: "f", bytes: 1, uploaded: false },
    apis: [api],
  };
}

function frame(state: DeployViewState, now: Date): string {
  const { lastFrame } = render(
    <ColorProvider enabled={false}>
      <DeployView state={state} now={now} />
    </ColorProvider>,
  );
  return lastFrame() ?? "";
}

describe("DeployView", () => {
  it("shows the running step with pip's last lines and its elapsed time", () => {
    // Given a deploy building its environment since second 3
    const state = fold(UP_TO_RECORDED.slice(0, 4));

    // When drawn at second 5.5
    // Then the finished steps, the spinner with 2.5s, and pip's line
    expect(frame(state, at(5.5))).toMatchInlineSnapshot(`
      "✓ axon.yaml validated: 1 api (iris-classifier)
      ✓ project packed: 3 files, 4.7 KiB
      ✓ project unchanged (f43ab13a827a already on the control plane), not sent again
      ⠴ building the python environment  2.5s
          Collecting scikit-learn"
    `);
  });

  it("shows each replica: loading with its elapsed time, ready with how long it took, failed with why", () => {
    // Given the deploy recorded and three replicas in three states
    const state = fold([
      ...UP_TO_RECORDED,
      event(5, {
        kind: "replica.starting",
        api: "iris-classifier",
        replicaId: "r-aaa111",
        versionId: "v-1",
        pids: [1],
      }),
      event(6, {
        kind: "replica.starting",
        api: "iris-classifier",
        replicaId: "r-bbb222",
        versionId: "v-1",
        pids: [2],
      }),
      event(7, {
        kind: "replica.ready",
        api: "iris-classifier",
        replicaId: "r-bbb222",
        seconds: 0.9,
      }),
      event(8, {
        kind: "replica.starting",
        api: "iris-classifier",
        replicaId: "r-ccc333",
        versionId: "v-1",
        pids: [3],
      }),
      event(9, {
        kind: "replica.failed",
        api: "iris-classifier",
        replicaId: "r-ccc333",
        versionId: "v-1",
        reason: "worker 0 exited with code 1",
      }),
    ]);

    // When drawn at second 10.2
    expect(frame(state, at(10.2))).toMatchInlineSnapshot(`
      "✓ axon.yaml validated: 1 api (iris-classifier)
      ✓ project packed: 3 files, 4.7 KiB
      ✓ project unchanged (f43ab13a827a already on the control plane), not sent again
      warning: cortex.yaml:4:3: predictor.model: is deprecated; use predictor.model_path
      ✓ python environment built
      ✓ creating iris-classifier (RealtimeAPI)

      iris-classifier
        r-aaa111  ⠹ loading predictor  5.2s
        r-bbb222  ✓ ready in 0.9s
        r-ccc333  ✗ failed: worker 0 exited with code 1"
    `);
  });

  it("ends with the endpoint, a curl and the next commands; or the failure and its log", () => {
    // Given a deploy that went live
    const live = finishDeploy(
      fold(UP_TO_RECORDED),
      summaryOf(makeApiDetail("iris-classifier", RESULT.endpoint, "live")),
    );
    expect(frame(live, at(9))).toMatchInlineSnapshot(`
      "✓ axon.yaml validated: 1 api (iris-classifier)
      ✓ project packed: 3 files, 4.7 KiB
      ✓ project unchanged (f43ab13a827a already on the control plane), not sent again
      warning: cortex.yaml:4:3: predictor.model: is deprecated; use predictor.model_path
      ✓ python environment built
      ✓ creating iris-classifier (RealtimeAPI)

      iris-classifier  live

      ✓ iris-classifier is live at http://localhost:8888/iris-classifier
        curl http://localhost:8888/iris-classifier -X POST -H "Content-Type: application/json" -d
      @/p/sample.json

        axon get iris-classifier --watch   (watch it: replicas, requests/s, p99)
        axon logs iris-classifier -f        (follow its logs)"
    `);

    // Given one that failed
    const failed = finishDeploy(
      fold(UP_TO_RECORDED),
      summaryOf({
        ...makeApiDetail("iris-classifier", RESULT.endpoint, "error"),
        error: {
          message: "iris-classifier failed: worker 0 exited with code 1",
          hint: "see what happened with `axon logs iris-classifier`",
          logTail: ["Traceback (most recent call last):", "FileNotFoundError: model.pkl"],
        },
      }),
    );
    expect(frame(failed, at(9))).toMatchInlineSnapshot(`
      "✓ axon.yaml validated: 1 api (iris-classifier)
      ✓ project packed: 3 files, 4.7 KiB
      ✓ project unchanged (f43ab13a827a already on the control plane), not sent again
      warning: cortex.yaml:4:3: predictor.model: is deprecated; use predictor.model_path
      ✓ python environment built
      ✓ creating iris-classifier (RealtimeAPI)

      iris-classifier  error
      ✗ iris-classifier failed: worker 0 exited with code 1
        last lines of its log:
          Traceback (most recent call last):
          FileNotFoundError: model.pkl
        hint: see what happened with \`axon logs iris-classifier\`"
    `);
  });

  it("Given a BatchAPI deployed, When the deploy ends, Then it says the api is deployed once recorded and how to submit a job", () => {
    // Given a deploy of one BatchAPI (nothing waited for: it runs no replica)
    const batch = {
      api: "text-stats",
      kind: "BatchAPI",
      outcome: "created" as const,
      message:
        "created text-stats (BatchAPI); submit jobs with POST http://localhost:8888/text-stats",
      endpoint: "http://localhost:8888/text-stats",
    };
    const state = fold([
      { type: "validated", file: "cortex.yaml", apis: ["text-stats"] },
      { type: "deployed", response: { results: [batch], warnings: [] } },
    ]);
    // When it ends
    const done = finishDeploy(state, {
      results: [batch],
      warnings: [],
      configFile: "/p/cortex.yaml",
      bundle: { sha256: "f", bytes: 1, uploaded: false },
      apis: [],
    });
    // Then: deployed, the submit command, the curl on its endpoint, and how to follow a job
    const text = frame(done, at(3));
    expect(text).toContain(
      "✓ text-stats (BatchAPI) is deployed: it runs no replica; each job submitted starts its own workers",
    );
    expect(text).toContain("axon submit text-stats job.json");
    expect(text).toContain(
      'curl http://localhost:8888/text-stats -X POST -H "Content-Type: application/json" -d @job.json',
    );
    expect(text).toContain("axon get text-stats <job_id> --watch");
    expect(text).not.toContain("p99");
  });
});
