/**
 * Mounts the live `axon deploy` view on the terminal and feeds it the deploy's progress. The view
 * is mounted at the first event after the project is packed, so a confirmation prompt about large
 * files (which reads the terminal) comes before it; what happened until then is shown at once.
 */
import { render, type Instance } from "ink";
import type { ReactNode } from "react";
import type { LiveTerminal } from "../context.js";
import type { DeployProgress, DeploySummary } from "../services/deploy.js";
import {
  finishDeploy,
  initialDeployState,
  noteDeploy,
  reduceDeploy,
  type DeployViewState,
} from "./deploy-state.js";
import { DeployView } from "./DeployView.js";
import { ColorProvider } from "./Tint.js";
import { useNow } from "./use-now.js";

/** How often spinners and elapsed times redraw. */
const FRAME_MS = 100;

function LiveDeployRoot(props: { state: DeployViewState; now: () => Date }): ReactNode {
  const now = useNow(props.now, FRAME_MS);
  return <DeployView state={props.state} now={now} />;
}

/** The handle the deploy command drives. */
export interface LiveDeploy {
  update(event: DeployProgress): void;
  /** A line from code that writes to stderr (starting the cluster), shown as a step. */
  note(text: string): void;
  /** Shows how it ended and leaves that on the screen. */
  finish(summary: DeploySummary): Promise<void>;
  /** Stops drawing (Ctrl-C, an error) and leaves the last frame on the screen. */
  stop(): Promise<void>;
  /** True once the control plane has recorded the deploy (Ctrl-C then only stops watching). */
  readonly recorded: boolean;
}

export function startLiveDeploy(
  terminal: LiveTerminal,
  options: { color: boolean; now: () => Date; waiting: boolean },
): LiveDeploy {
  let state = initialDeployState(options.now(), options.waiting);
  let instance: Instance | undefined;
  const tree = (): ReactNode => (
    <ColorProvider enabled={options.color}>
      <LiveDeployRoot state={state} now={options.now} />
    </ColorProvider>
  );
  const draw = (mount: boolean): void => {
    if (instance !== undefined) instance.rerender(tree());
    else if (mount)
      instance = render(tree(), {
        stdout: terminal.stdout,
        stdin: terminal.stdin,
        // Ctrl-C reaches main.ts as SIGINT (stdin stays cooked): one path for every command.
        exitOnCtrlC: false,
        patchConsole: false,
      });
  };
  const unmount = async (): Promise<void> => {
    if (instance === undefined) draw(true);
    // The last frame is written before unmounting, so it is what stays on the screen.
    await instance?.waitUntilRenderFlush();
    instance?.unmount();
    await instance?.waitUntilExit();
  };
  return {
    update(event) {
      state = reduceDeploy(state, event, options.now());
      draw(event.type !== "validated" && event.type !== "packed");
    },
    note(text) {
      state = noteDeploy(state, text.trimEnd());
      draw(true);
    },
    async finish(summary) {
      state = finishDeploy(state, summary);
      draw(true);
      await unmount();
    },
    async stop() {
      state = { ...state, stopped: true };
      // Nothing shown yet and nothing to show: leave the terminal to the error message.
      if (instance === undefined && state.steps.length === 0) return;
      draw(true);
      await unmount();
    },
    get recorded() {
      return state.recorded;
    },
  };
}
