/**
 * The live view of a CloudFormation stack being created, updated or deleted: finished resources
 * (and messages) scroll up once (`<Static>`) with a tick or a cross and CloudFormation's reason;
 * the ones still in progress spin with how long they have taken. Props in, view out.
 */
import { Box, Static, Text } from "ink";
import type { ReactNode } from "react";
import type { ClusterProgressState, FinishedLine } from "./cluster-progress-state.js";
import { Tint } from "./Tint.js";

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"] as const;

export function ClusterProgressView(props: { state: ClusterProgressState; now: Date }): ReactNode {
  const { state, now } = props;
  const spinner = SPINNER[Math.floor(now.getTime() / 100) % SPINNER.length] ?? "-";
  return (
    <Box flexDirection="column">
      <Static items={state.finished.map((line, index) => ({ ...line, index }))}>
        {(line) => <Finished key={line.index} line={line} />}
      </Static>
      {state.running.map((resource) => (
        <Text key={resource.logicalId} wrap="truncate-end">
          <Tint color="cyan">{spinner}</Tint> {resource.logicalId}{" "}
          <Tint
            dim
          >{`(${resource.resourceType}) ${resource.status}  ${Math.max(0, Math.floor((now.getTime() - resource.since.getTime()) / 1000))}s`}</Tint>
        </Text>
      ))}
    </Box>
  );
}

function Finished({ line }: { line: FinishedLine }): ReactNode {
  if (line.kind === "message") return <Text>{line.text}</Text>;
  return (
    <Text>
      {line.kind === "failed" ? <Tint color="red">✗</Tint> : <Tint color="green">✓</Tint>}{" "}
      {line.text}
    </Text>
  );
}
