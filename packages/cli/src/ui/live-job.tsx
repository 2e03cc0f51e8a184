/**
 * Mounts the live job view (./JobWatch.tsx) on the terminal for `axon get <api> <job> --watch`:
 * redrawn at each look, its last frame left on screen when the job ends or Ctrl-C stops watching.
 */
import type { BatchJobResponse } from "@axon/control-plane/api";
import type { ReactNode } from "react";
import type { LiveTerminal } from "../context.js";
import { JobWatch } from "./JobWatch.js";
import { mountLive, type MountedView } from "./mount-live.js";
import { ColorProvider } from "./Tint.js";

/** The handle the command drives: one redraw per look, then `stop`. */
export interface LiveJob {
  show(look: BatchJobResponse): void;
  stop(): Promise<void>;
}

export function startLiveJob(
  terminal: LiveTerminal,
  options: { color: boolean; now: () => Date },
): LiveJob {
  let view: MountedView | undefined;
  let current: BatchJobResponse | undefined;
  const tree = (): ReactNode =>
    current === undefined ? null : (
      <ColorProvider enabled={options.color}>
        <JobWatch look={current} now={options.now()} width={terminal.stdout.columns || 80} />
      </ColorProvider>
    );
  return {
    show(look) {
      current = look;
      if (view === undefined) view = mountLive(terminal, tree);
      else view.redraw();
    },
    async stop() {
      await view?.stop();
    },
  };
}
