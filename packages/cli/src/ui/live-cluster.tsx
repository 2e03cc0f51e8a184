/**
 * Mounts the live cluster progress view on the terminal and feeds it the daemon's stream lines;
 * `stop` leaves the last frame on the screen (the command then prints the result or the error).
 */
import { mountLive } from "./mount-live.js";
import type { ReactNode } from "react";
import type { ClusterProgressLine } from "../client/api-client.js";
import type { LiveTerminal } from "../context.js";
import {
  initialClusterProgress,
  reduceClusterProgress,
  type ClusterProgressState,
} from "./cluster-progress-state.js";
import { ClusterProgressView } from "./ClusterProgressView.js";
import { ColorProvider } from "./Tint.js";
import { useNow } from "./use-now.js";

const FRAME_MS = 100;

function LiveClusterRoot(props: { state: ClusterProgressState; now: () => Date }): ReactNode {
  const now = useNow(props.now, FRAME_MS);
  return <ClusterProgressView state={props.state} now={now} />;
}

export interface LiveCluster {
  update(line: ClusterProgressLine): void;
  stop(): Promise<void>;
}

export function startLiveCluster(
  terminal: LiveTerminal,
  options: { color: boolean; now: () => Date },
): LiveCluster {
  let state = initialClusterProgress;
  const tree = (): ReactNode => (
    <ColorProvider enabled={options.color}>
      <LiveClusterRoot state={state} now={options.now} />
    </ColorProvider>
  );
  const view = mountLive(terminal, tree);
  return {
    update(line) {
      state = reduceClusterProgress(state, line, options.now());
      view.redraw();
    },
    // Whatever still runs is left as it is: CloudFormation carries on without us.
    stop: () => view.stop(),
  };
}
