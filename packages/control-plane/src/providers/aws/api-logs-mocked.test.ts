/**
 * What moto cannot show about an API's logs (shared/reference/moto.md): Live Tail (StartLiveTail is
 * a 500 on this machine's moto), a session ending with SessionTimeoutException, FilterLogEvents
 * pages that come back empty with a token, throttling and access denied. Every
 * CloudWatchLogsClient's `send` is mocked with aws-sdk-client-mock and reached through the same
 * `connectAws` ports the daemon uses.
 */
import {
  CloudWatchLogsClient,
  CloudWatchLogsServiceException,
  FilterLogEventsCommand,
  SessionTimeoutException,
  StartLiveTailCommand,
  type FilteredLogEvent,
  type LiveTailSessionLogEvent,
  type StartLiveTailResponseStream,
} from "@aws-sdk/client-cloudwatch-logs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { DomainError } from "../../errors.js";
import { formatLogTime } from "../../events/log-line.js";
import type { AwsClusterRefs } from "./api-names.js";
import { AwsLogSource } from "./api-logs.js";
import { connectAws } from "./sdk.js";

const logs = mockClient(CloudWatchLogsClient);
afterEach(() => logs.reset());

const ACCOUNT = "123456789012";
const REFS: AwsClusterRefs = {
  envName: "prod",
  region: "eu-west-1",
  clusterName: "axon-demo",
  listenerArn: "listener",
  loadBalancerArn: "lb",
  loadBalancerDnsName: "axon-demo-1.eu-west-1.elb.amazonaws.com",
  bucketName: "axon-demo-bundles",
  logGroupName: "/axon/demo",
  executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/axon-demo-Execution`,
  taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/axon-demo-Task`,
  taskSecurityGroupId: "sg-1",
  taskSubnetIds: ["subnet-1"],
  assignPublicIp: true,
  vpcId: "vpc-1",
  image: "image",
};
const STREAM = "iris/replica/3fa2c1d0e9b84f6a9c1d2e3f4a5b6c7d";
const T = Date.UTC(2026, 11, 3, 17, 0, 0);
const at = (ms: number): string => formatLogTime(new Date(ms));

async function source(options: { liveTail?: boolean } = {}): Promise<AwsLogSource> {
  const ports = await connectAws("eu-west-1");
  return new AwsLogSource({
    ports,
    refs: REFS,
    target: { region: "eu-west-1", profile: "ml-team" },
    pollMs: 10,
    now: () => T + 60_000,
    ...options,
  });
}

function awsError(name: string, message: string): CloudWatchLogsServiceException {
  return new CloudWatchLogsServiceException({
    name,
    message,
    $fault: "client",
    $metadata: { httpStatusCode: 400 },
  });
}

function filtered(id: string, offset: number, message: string, stream = STREAM): FilteredLogEvent {
  return { eventId: id, logStreamName: stream, timestamp: T + offset, message };
}

function live(offset: number, message: string): LiveTailSessionLogEvent {
  return {
    logStreamName: STREAM,
    logGroupIdentifier: `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/axon/demo`,
    timestamp: T + offset,
    message,
  };
}

/** A Live Tail response stream: the given frames, then (unless `end`) open until `signal` aborts. */
function liveStream(
  frames: StartLiveTailResponseStream[],
  signal: AbortSignal,
  end = false,
): AsyncIterable<StartLiveTailResponseStream> {
  return (async function* () {
    for (const frame of frames) yield frame;
    if (end) return;
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  })();
}

/** Follows until `done` says the output is complete (or 5 s pass), then stops; returns the output. */
async function followUntil(
  logSource: AwsLogSource,
  position: number,
  done: (text: string) => boolean,
  controller = new AbortController(),
): Promise<string> {
  let text = "";
  const following = logSource.follow(
    "iris",
    position,
    (chunk) => {
      text += chunk.toString();
    },
    controller.signal,
  );
  const deadline = Date.now() + 5_000;
  while (!done(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 50)); // room for a duplicate to show up
  controller.abort();
  await following;
  return text;
}

describe("an API's logs from a mocked CloudWatch Logs", () => {
  it("Given Live Tail, When following, Then session updates are written, the gap before the session is filled by one poll, and an event in both is written once", async () => {
    const controller = new AbortController();
    logs.on(StartLiveTailCommand).callsFake(() => ({
      responseStream: liveStream(
        [
          { sessionStart: { sessionId: "s1" } },
          { sessionUpdate: { sessionResults: [live(2, "both"), live(3, "live only")] } },
          { sessionUpdate: { sessionResults: [live(4, "later")] } },
        ],
        controller.signal,
      ),
    }));
    logs.on(FilterLogEventsCommand).resolves({
      events: [filtered("e1", 1, "gap"), filtered("e2", 2, "both")],
    });
    const logSource = await source();

    const text = await followUntil(logSource, T, (out) => out.includes("later"), controller);

    expect(text).toBe(
      [
        `${at(T + 1)} INFO [iris 3fa2c1d0 front] gap`,
        `${at(T + 2)} INFO [iris 3fa2c1d0 front] both`,
        `${at(T + 3)} INFO [iris 3fa2c1d0 front] live only`,
        `${at(T + 4)} INFO [iris 3fa2c1d0 front] later`,
        "",
      ].join("\n"),
    );
    expect(logs.commandCalls(StartLiveTailCommand)[0]?.args[0].input).toEqual({
      logGroupIdentifiers: [`arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/axon/demo`],
      logStreamNamePrefixes: ["iris/replica/"],
    });
    // One poll for the gap, none after: Live Tail pushes the rest.
    expect(logs.commandCalls(FilterLogEventsCommand)).toHaveLength(1);
    expect(logs.commandCalls(FilterLogEventsCommand)[0]?.args[0].input).toMatchObject({
      logGroupName: "/axon/demo",
      logStreamNamePrefix: "iris/replica/",
      startTime: T + 1,
    });
  });

  it("Given Live Tail is refused, When following, Then it polls FilterLogEvents instead and writes each event once", async () => {
    logs
      .on(StartLiveTailCommand)
      .rejects(
        awsError("AccessDeniedException", "User is not authorized to perform: logs:StartLiveTail"),
      );
    logs
      .on(FilterLogEventsCommand)
      .resolvesOnce({ events: [filtered("e1", 1, "first")] })
      .resolvesOnce({ events: [filtered("e1", 1, "first"), filtered("e2", 2, "second")] })
      .resolves({ events: [filtered("e2", 2, "second"), filtered("e3", 3, "third")] });
    const logSource = await source();

    const text = await followUntil(logSource, T, (out) => out.includes("third"));

    expect(text).toBe(
      [
        `${at(T + 1)} INFO [iris 3fa2c1d0 front] first`,
        `${at(T + 2)} INFO [iris 3fa2c1d0 front] second`,
        `${at(T + 3)} INFO [iris 3fa2c1d0 front] third`,
        "",
      ].join("\n"),
    );
    expect(logs.commandCalls(FilterLogEventsCommand).length).toBeGreaterThan(3);
  });

  it("Given a Live Tail session that times out, When following, Then polling takes over from the last event without repeating it", async () => {
    const controller = new AbortController();
    logs.on(StartLiveTailCommand).callsFake(() => ({
      responseStream: liveStream(
        [
          { sessionStart: { sessionId: "s1" } },
          { sessionUpdate: { sessionResults: [live(5, "streamed")] } },
          {
            SessionTimeoutException: new SessionTimeoutException({
              message: "Session timed out after 3 hours",
              $metadata: {},
            }),
          },
        ],
        controller.signal,
        true,
      ),
    }));
    logs
      .on(FilterLogEventsCommand)
      .resolvesOnce({ events: [] })
      .resolves({ events: [filtered("e5", 5, "streamed"), filtered("e6", 6, "polled")] });
    const logSource = await source();

    const text = await followUntil(logSource, T, (out) => out.includes("polled"), controller);

    expect(text).toBe(
      [
        `${at(T + 5)} INFO [iris 3fa2c1d0 front] streamed`,
        `${at(T + 6)} INFO [iris 3fa2c1d0 front] polled`,
        "",
      ].join("\n"),
    );
  });

  it("Given pages, one of them empty with a token, When tailed for 2 lines, Then every page is read and the last 2 lines kept", async () => {
    logs
      .on(FilterLogEventsCommand)
      .resolvesOnce({
        events: [filtered("e1", 1, "one"), filtered("e2", 2, "two")],
        nextToken: "p2",
      })
      .resolvesOnce({ events: [], nextToken: "p3" })
      .resolvesOnce({
        events: [filtered("e3", 3, "2026-11-23 16:50:01.123 ERROR [iris r-3fa2c1 w1] boom")],
      });
    const logSource = await source();

    const { text, position } = await logSource.tail("iris", 2);

    expect(text).toBe(
      [
        `${at(T + 2)} INFO [iris 3fa2c1d0 front] two`,
        `${at(T + 3)} ERROR [iris 3fa2c1d0 w1] boom`,
        "",
      ].join("\n"),
    );
    expect(position).toBe(T + 3);
    expect(
      logs.commandCalls(FilterLogEventsCommand).map((call) => call.args[0].input.nextToken),
    ).toEqual([undefined, "p2", "p3"]);
    // The first window (the last minute) had enough: no older one was searched.
    expect(logs.commandCalls(FilterLogEventsCommand)[0]?.args[0].input.startTime).toBe(T);
  });

  it("Given too few lines in the last minute, When tailed, Then wider windows reaching further back are searched, without overlap", async () => {
    logs
      .on(FilterLogEventsCommand)
      .resolvesOnce({ events: [filtered("e9", 59_000, "recent")] })
      .resolvesOnce({ events: [filtered("e8", -300_000, "older")] })
      .resolves({ events: [] });
    const logSource = await source();

    const { text } = await logSource.tail("iris", 2);

    expect(text).toBe(
      [
        `${at(T - 300_000)} INFO [iris 3fa2c1d0 front] older`,
        `${at(T + 59_000)} INFO [iris 3fa2c1d0 front] recent`,
        "",
      ].join("\n"),
    );
    const windows = logs
      .commandCalls(FilterLogEventsCommand)
      .map((call) => [call.args[0].input.startTime, call.args[0].input.endTime]);
    expect(windows).toEqual([
      [T, undefined],
      [T + 60_000 - 600_000, T - 1],
    ]);
  });

  it("Given AWS throttles FilterLogEvents once, When tailed, Then the call is retried and succeeds", async () => {
    logs
      .on(FilterLogEventsCommand)
      .rejectsOnce(awsError("ThrottlingException", "Rate exceeded"))
      .resolves({ events: [filtered("e1", 1, "after a pause")] });
    const logSource = await source();

    const { text } = await logSource.tail("iris", 1);

    expect(text).toBe(`${at(T + 1)} INFO [iris 3fa2c1d0 front] after a pause\n`);
    expect(logs.commandCalls(FilterLogEventsCommand)).toHaveLength(2);
  });

  it("Given an identity without logs:FilterLogEvents, When tailed, Then access denied names the action", async () => {
    logs
      .on(FilterLogEventsCommand)
      .rejects(
        awsError(
          "AccessDeniedException",
          "User is not authorized to perform: logs:FilterLogEvents",
        ),
      );
    const logSource = await source();

    const error = await logSource.tail("iris", 10).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe("provider.aws.access_denied");
    expect((error as DomainError).message).toMatch(
      /^AWS denied logs:FilterLogEvents \(profile ml-team, region eu-west-1\)/,
    );
  });
});
