/**
 * Where local `axon cluster up` shows its phases: a live ink view on a terminal, else one plain
 * line each on stderr (and the awaited count each time it changes). `stop` leaves the last frame
 * on the screen; the command then prints the cluster's info or the error.
 */
import { mountLive } from "./mount-live.js";
import type { ReactNode } from "react";
import type { CliContext } from "../context.js";
import { ClusterUpView } from "./ClusterUpView.js";
import { initialClusterUp, renderClusterUpLine, type ClusterUpState } from "./cluster-up-state.js";
import { ColorProvider } from "./Tint.js";
import { useNow } from "./use-now.js";

const FRAME_MS = 100;

export interface ClusterUpProgress {
  /** A phase that happened at `at`. */
  step(text: string, at: Date): void;
  /** What is awaited now (undefined: nothing). */
  waiting(text: string | undefined): void;
  stop(): Promise<void>;
}

function LiveClusterUpRoot(props: { state: ClusterUpState; now: () => Date }): ReactNode {
  const now = useNow(props.now, FRAME_MS);
  return <ClusterUpView state={props.state} now={now} />;
}

/**
 * The live view on `ctx.terminal` unless `plain` (`-o json`) or there is none; it starts out
 * awaiting `waiting` (shown live only: plain lines tell what happened).
 */
export function startClusterUpProgress(
  ctx: CliContext,
  options: { plain: boolean; waiting: string },
): ClusterUpProgress {
  let state = initialClusterUp(ctx.now(), options.waiting);
  const terminal = options.plain ? undefined : ctx.terminal;
  if (terminal === undefined) {
    return {
      step(text, at) {
        state = { ...state, steps: [...state.steps, { text, at }] };
        ctx.stderr.write(`${renderClusterUpLine(state, text, at)}\n`);
      },
      waiting(text) {
        if (text !== undefined && text !== state.waiting) {
          ctx.stderr.write(`${renderClusterUpLine(state, text, ctx.now())}\n`);
        }
        state = { ...state, waiting: text };
      },
      stop: async () => undefined,
    };
  }
  const tree = (): ReactNode => (
    <ColorProvider enabled={ctx.color}>
      <LiveClusterUpRoot state={state} now={ctx.now} />
    </ColorProvider>
  );
  const view = mountLive(terminal, tree);
  return {
    step(text, at) {
      state = { ...state, steps: [...state.steps, { text, at }] };
      view.redraw();
    },
    waiting(text) {
      state = { ...state, waiting: text };
      view.redraw();
    },
    stop: () => view.stop(),
  };
}
