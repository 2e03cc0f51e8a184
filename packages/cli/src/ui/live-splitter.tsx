/**
 * The live view of `axon get <splitter> --watch` on a terminal: the header the other watch screens
 * have (clock, interval, Ctrl-C), then the splitter's detail (./splitter-detail.ts), redrawn at
 * each look so the shares and error rates move as requests come; the last frame stays on screen
 * when Ctrl-C stops watching.
 */
import type { ReactNode } from "react";
import { Box, Text } from "ink";
import type { LiveTerminal } from "../context.js";
import type { SplitterLook } from "../services/watch.js";
import { liveLooks, type LiveLooks } from "./mount-live.js";
import { renderSplitterDetail } from "./splitter-detail.js";
import { ColorProvider, Tint } from "./Tint.js";

/** One frame: props in, view out. */
export function SplitterWatch(props: {
  look: SplitterLook;
  now: Date;
  intervalMs: number;
}): ReactNode {
  // An engine whose numbers cost calls says how often to look (services/watch.ts follows it).
  const intervalMs = props.look.redrawMs ?? props.intervalMs;
  const seconds = `${Math.round(intervalMs / 100) / 10}s`;
  return (
    <Box flexDirection="column">
      <Text>
        <Tint bold>axon get {props.look.splitter.name} --watch</Tint>
        <Tint
          dim
        >{`  ${props.now.toTimeString().slice(0, 8)} · every ${seconds} · Ctrl-C to stop`}</Tint>
      </Text>
      <Text> </Text>
      <Text>{renderSplitterDetail(props.look.splitter, props.now)}</Text>
    </Box>
  );
}

/** The handle the command drives: one redraw per look, then `stop`. */
export type LiveSplitter = LiveLooks<SplitterLook>;

export function startLiveSplitter(
  terminal: LiveTerminal,
  options: { color: boolean; now: () => Date; intervalMs: number },
): LiveSplitter {
  return liveLooks(terminal, (look: SplitterLook) => (
    <ColorProvider enabled={options.color}>
      <SplitterWatch look={look} now={options.now()} intervalMs={options.intervalMs} />
    </ColorProvider>
  ));
}
