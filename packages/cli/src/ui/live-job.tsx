/**
 * Mounts the live job view (./JobWatch.tsx) on the terminal for `axon get <api> <job> --watch`:
 * redrawn at each look, its last frame left on screen when the job ends or Ctrl-C stops watching.
 */
import type { BatchJobResponse } from "@axon/control-plane/api";
import type { LiveTerminal } from "../context.js";
import { JobWatch } from "./JobWatch.js";
import { liveLooks, type LiveLooks } from "./mount-live.js";
import { ColorProvider } from "./Tint.js";

/** The handle the command drives: one redraw per look, then `stop`. */
export type LiveJob = LiveLooks<BatchJobResponse>;

export function startLiveJob(
  terminal: LiveTerminal,
  options: { color: boolean; now: () => Date },
): LiveJob {
  return liveLooks(terminal, (look: BatchJobResponse) => (
    <ColorProvider enabled={options.color}>
      <JobWatch look={look} now={options.now()} width={terminal.stdout.columns || 80} />
    </ColorProvider>
  ));
}
