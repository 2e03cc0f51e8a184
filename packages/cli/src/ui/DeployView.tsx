/**
 * The live `axon deploy` view: finished steps scroll up once (`<Static>`), the running step spins
 * with its elapsed time (and pip's last lines while an environment builds), then each API's
 * replicas (starting with how long they have been loading the predictor, ready with how long it
 * took, failed with the reason). When it is over: the endpoint, an example curl and the next
 * commands, or the failure with the last lines of the failing replica's log. Props in, view out.
 */
import { Box, Static, Text } from "ink";
import type { ReactNode } from "react";
import type { ApiView, DeployStep, DeployViewState, ReplicaView } from "./deploy-state.js";
import { batchApiHints } from "./deploy.js";
import { Tint } from "./Tint.js";

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"] as const;

export interface DeployViewProps {
  state: DeployViewState;
  now: Date;
}

/** The whole view. */
export function DeployView({ state, now }: DeployViewProps): ReactNode {
  const spinner = SPINNER[Math.floor(now.getTime() / 100) % SPINNER.length] ?? "-";
  const running = runningStep(state);
  return (
    <Box flexDirection="column">
      <Static items={state.steps.map((step, index) => ({ ...step, index }))}>
        {(step) => <StepLine key={step.index} step={step} />}
      </Static>
      {running === undefined ? null : (
        <Box flexDirection="column">
          <Text>
            <Tint color="cyan">{spinner}</Tint> {running}
            <Tint dim>{`  ${elapsed(state.stepStartedAt, now)}`}</Tint>
          </Text>
          {state.buildLines.map((line, index) => (
            <Text key={index} wrap="truncate-end">
              <Tint dim>{`    ${line}`}</Tint>
            </Text>
          ))}
        </Box>
      )}
      {state.recorded ? (
        <Box flexDirection="column">
          <Text> </Text>
          {state.apis.map((api) => (
            <ApiBlock key={api.name} api={api} state={state} now={now} spinner={spinner} />
          ))}
        </Box>
      ) : null}
      {state.summary === undefined ? null : <NextSteps state={state} />}
    </Box>
  );
}

function StepLine({ step }: { step: DeployStep }): ReactNode {
  if (step.key === "note") return <Tint dim>{step.text}</Tint>;
  if (step.key === "warning") return <Tint color="yellow">{step.text}</Tint>;
  return (
    <Text>
      <Tint color="green">✓</Tint> {step.text}
    </Text>
  );
}

/** What is happening now, or undefined between steps and once replicas are being watched. */
function runningStep(state: DeployViewState): string | undefined {
  if (state.summary !== undefined || state.recorded || state.stopped === true) return undefined;
  const done = new Set(state.steps.map((step) => step.key));
  if (!done.has("validated")) return "validating the config";
  if (!done.has("packed")) return "packing the project";
  if (!done.has("uploaded")) return "uploading the project";
  if (state.buildLines.length > 0) return "building the python environment";
  return "deploying";
}

function ApiBlock(props: {
  api: ApiView;
  state: DeployViewState;
  now: Date;
  spinner: string;
}): ReactNode {
  const { api, now } = props;
  const finished = props.state.summary !== undefined;
  const live = api.status === "live";
  return (
    <Box flexDirection="column">
      <Text>
        <Tint bold>{api.name}</Tint>
        {"  "}
        {api.status === undefined ? null : (
          <Tint color={live ? "green" : api.error !== undefined ? "red" : "yellow"}>
            {api.status}
          </Tint>
        )}
      </Text>
      {api.replicas.length === 0 && !finished && props.state.waiting ? (
        <Text>
          {"  "}
          <Tint color="cyan">{props.spinner}</Tint> waiting for replicas
        </Text>
      ) : null}
      {api.replicas.map((replica) => (
        <ReplicaLine key={replica.id} replica={replica} now={now} spinner={props.spinner} />
      ))}
      {api.error === undefined ? null : <Failure api={api} />}
    </Box>
  );
}

function ReplicaLine(props: { replica: ReplicaView; now: Date; spinner: string }): ReactNode {
  const { replica } = props;
  const id = `  ${replica.id}  `;
  switch (replica.state) {
    case "starting":
      return (
        <Text>
          {id}
          <Tint color="cyan">{props.spinner}</Tint> loading predictor
          <Tint dim>{`  ${elapsed(replica.since, props.now)}`}</Tint>
        </Text>
      );
    case "ready":
      return (
        <Text>
          {id}
          <Tint color="green">✓</Tint> ready
          <Tint dim>{` in ${(replica.readySeconds ?? 0).toFixed(1)}s`}</Tint>
        </Text>
      );
    case "failed":
      return (
        <Text wrap="truncate-end">
          {id}
          <Tint color="red">✗ failed</Tint>: {replica.reason ?? "no reason given"}
        </Text>
      );
    case "stopped":
      return (
        <Text>
          {id}
          <Tint dim>stopped</Tint>
        </Text>
      );
  }
}

function Failure({ api }: { api: ApiView }): ReactNode {
  const error = api.error;
  if (error === undefined) return null;
  return (
    <Box flexDirection="column">
      <Text>
        <Tint color="red">✗ {error.message}</Tint>
      </Text>
      {error.logTail === undefined ? null : (
        <Box flexDirection="column">
          <Tint dim>{"  last lines of its log:"}</Tint>
          {error.logTail.map((line, index) => (
            <Text key={index} wrap="truncate-end">{`    ${line}`}</Text>
          ))}
        </Box>
      )}
      {error.hint === undefined ? null : <Text>{`  hint: ${error.hint}`}</Text>}
    </Box>
  );
}

/** The endpoint, a curl and the next commands, once everything is live (or not waited for). */
function NextSteps({ state }: { state: DeployViewState }): ReactNode {
  const results = state.summary?.results ?? [];
  const failed = state.apis.some((api) => api.error !== undefined);
  if (failed || results.length === 0) return null;
  const [first] = results;
  const one = results.length === 1 && first !== undefined;
  const name = one ? first.api : "<api>";
  // A BatchAPI's next steps are its own (submit a job, follow it): replicas and p99 are not.
  const realtime = results.some((result) => result.kind !== "BatchAPI");
  return (
    <Box flexDirection="column">
      <Text> </Text>
      {results.map((result) =>
        result.kind === "BatchAPI" ? (
          // Deployed once recorded: nothing runs until a job is submitted, nothing was waited for.
          <Box key={result.api} flexDirection="column">
            {batchApiHints(result).map((line, index) => (
              <Text key={line}>
                {index === 0 ? <Tint color="green">✓ </Tint> : null}
                {index === 0 ? line : <Tint dim>{line}</Tint>}
              </Text>
            ))}
          </Box>
        ) : (
          <Text key={result.api}>
            <Tint color="green">{state.waiting ? "✓" : "→"}</Tint>
            {` ${result.api} ${state.waiting ? "is live at" : "will be at"} `}
            <Tint bold>{result.endpoint}</Tint>
          </Text>
        ),
      )}
      {one && first.exampleCurl !== undefined ? (
        <Text>
          <Tint dim>{`  ${first.exampleCurl}`}</Tint>
        </Text>
      ) : null}
      {realtime ? (
        <Box flexDirection="column">
          <Text> </Text>
          <Text>{`  axon get ${name} --watch   (watch it: replicas, requests/s, p99)`}</Text>
          <Text>{`  axon logs ${name} -f        (follow its logs)`}</Text>
        </Box>
      ) : null}
    </Box>
  );
}

/** `2.1s` since `since`. */
function elapsed(since: string, now: Date): string {
  return `${Math.max(0, (now.getTime() - new Date(since).getTime()) / 1000).toFixed(1)}s`;
}
