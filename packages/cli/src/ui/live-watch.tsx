/**
 * Mounts the `axon get --watch` screen on the terminal's alternate screen (so the shell comes back
 * as it was) and resolves how the watch ended: Ctrl-C throws `InterruptedError` (exit 130), a
 * failed look throws its error after the screen is restored.
 */
import { render, useWindowSize } from "ink";
import type { ReactNode } from "react";
import type { LiveTerminal } from "../context.js";
import { InterruptedError } from "../errors.js";
import { ApiWatch } from "./ApiWatch.js";
import { ColorProvider } from "./Tint.js";
import { useApiWatch, type WatchSource } from "./use-api-watch.js";

function WatchRoot(props: { source: WatchSource }): ReactNode {
  const state = useApiWatch(props.source);
  const { columns } = useWindowSize();
  return <ApiWatch {...state} width={columns} intervalMs={props.source.intervalMs} />;
}

/** Runs the watch until Ctrl-C (`signal`) or an error. */
export async function renderApiWatch(
  terminal: LiveTerminal,
  options: {
    source: Omit<WatchSource, "onError">;
    color: boolean;
    signal: AbortSignal;
  },
): Promise<never> {
  let failure: unknown;
  const source: WatchSource = {
    ...options.source,
    onError: (error) => {
      failure ??= error;
      instance.unmount();
    },
  };
  const instance = render(
    <ColorProvider enabled={options.color}>
      <WatchRoot source={source} />
    </ColorProvider>,
    {
      stdout: terminal.stdout,
      stdin: terminal.stdin,
      // Ctrl-C reaches main.ts as SIGINT (stdin stays cooked): one path for every command.
      exitOnCtrlC: false,
      patchConsole: false,
      alternateScreen: true,
    },
  );
  const onAbort = (): void => instance.unmount();
  options.signal.addEventListener("abort", onAbort, { once: true });
  try {
    await instance.waitUntilExit();
  } finally {
    options.signal.removeEventListener("abort", onAbort);
  }
  if (failure !== undefined) throw failure;
  throw new InterruptedError();
}
