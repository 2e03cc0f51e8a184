/**
 * Mounts a live view that redraws as its state changes and leaves its last frame on screen when
 * stopped (the command prints the result or the error after it). Ctrl-C is not ink's: it reaches
 * main.ts as SIGINT, one path for every command.
 */
import { render } from "ink";
import type { ReactNode } from "react";
import type { LiveTerminal } from "../context.js";

export interface MountedView {
  /** Draws `tree()` again (its state changed). */
  redraw(): void;
  /** Waits for the last frame, then lets go of the terminal. */
  stop(): Promise<void>;
}

export function mountLive(terminal: LiveTerminal, tree: () => ReactNode): MountedView {
  const instance = render(tree(), {
    stdout: terminal.stdout,
    stdin: terminal.stdin,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  return {
    redraw: () => instance.rerender(tree()),
    async stop() {
      await instance.waitUntilRenderFlush();
      instance.unmount();
      await instance.waitUntilExit();
    },
  };
}

/** The handle a watch command drives: one redraw per look, then `stop`. */
export interface LiveLooks<Look> {
  show(look: Look): void;
  stop(): Promise<void>;
}

/** A live view of a watch's looks: mounted at the first one, redrawn at each next one. */
export function liveLooks<Look>(
  terminal: LiveTerminal,
  frame: (look: Look) => ReactNode,
): LiveLooks<Look> {
  let view: MountedView | undefined;
  let current: Look | undefined;
  const tree = (): ReactNode => (current === undefined ? null : frame(current));
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
