/**
 * The live view of local `axon cluster up`: each phase the control plane went through scrolls up
 * once (`<Static>`) with a tick and when it happened; what is awaited now spins below with the
 * time so far. Props in, view out.
 */
import { Box, Static, Text } from "ink";
import type { ReactNode } from "react";
import { elapsedSince, type ClusterUpState } from "./cluster-up-state.js";
import { Tint } from "./Tint.js";

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"] as const;

export function ClusterUpView(props: { state: ClusterUpState; now: Date }): ReactNode {
  const { state, now } = props;
  const spinner = SPINNER[Math.floor(now.getTime() / 100) % SPINNER.length] ?? "-";
  return (
    <Box flexDirection="column">
      <Static items={state.steps.map((step, index) => ({ ...step, index }))}>
        {(step) => (
          <Text key={step.index}>
            <Tint color="green">✓</Tint> {step.text}
            <Tint dim>{`  ${elapsedSince(state.startedAt, step.at)}`}</Tint>
          </Text>
        )}
      </Static>
      {state.waiting === undefined ? null : (
        <Text wrap="truncate-end">
          <Tint color="cyan">{spinner}</Tint> {state.waiting}
          <Tint dim>{`  ${elapsedSince(state.startedAt, now)}`}</Tint>
        </Text>
      )}
    </Box>
  );
}
