/**
 * An API's logs read from CloudWatch Logs on moto: events are put into the cluster's log group
 * under the awslogs stream names a replica task writes (`iris/replica/<task id>`), then read back
 * through `AwsLogSource` in the line shape `axon logs` parses. moto has no Live Tail on this
 * machine's route, so follow is tested here by polling (liveTail off); Live Tail itself is
 * api-logs-mocked.test.ts's.
 */
import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { afterAll, describe, expect, it } from "vitest";
import { formatLogTime } from "../../events/log-line.js";
import { AwsLogSource } from "./api-logs.js";
import { createMotoCluster, type MotoCluster } from "./testing/moto-cluster.js";
import { motoAvailable, startMoto, type MotoServer } from "./testing/moto-server.js";

const HAS_MOTO = motoAvailable();
let moto: MotoServer | undefined;
afterAll(async () => {
  await moto?.stop();
});

const TASK_A = "3fa2c1d0e9b84f6a9c1d2e3f4a5b6c7d";
const TASK_B = "77aa0b1c2d3e4f5061728394a5b6c7d8";
const TASK_OTHER = "0123456789abcdef0123456789abcdef";

async function freshCluster(): Promise<MotoCluster> {
  if (moto === undefined) moto = await startMoto();
  else await moto.reset();
  return createMotoCluster(moto);
}

function logsClient(): CloudWatchLogsClient {
  const env = moto?.awsEnv() ?? {};
  return new CloudWatchLogsClient({
    region: "us-east-1",
    endpoint: env["AWS_ENDPOINT_URL"] ?? "",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    disableHostPrefix: true,
    maxAttempts: 1,
  });
}

/** Puts `[timestamp, message]` events into one stream of the cluster's log group. */
async function put(
  cluster: MotoCluster,
  stream: string,
  events: Array<[number, string]>,
  create = true,
): Promise<void> {
  const client = logsClient();
  if (create) {
    await client.send(
      new CreateLogStreamCommand({
        logGroupName: cluster.refs.logGroupName,
        logStreamName: stream,
      }),
    );
  }
  await client.send(
    new PutLogEventsCommand({
      logGroupName: cluster.refs.logGroupName,
      logStreamName: stream,
      logEvents: events.map(([timestamp, message]) => ({ timestamp, message })),
    }),
  );
}

function sourceOf(cluster: MotoCluster): AwsLogSource {
  return new AwsLogSource({
    ports: cluster.ports,
    refs: cluster.refs,
    target: cluster.ports.target,
    pollMs: 50,
    liveTail: false,
  });
}

const at = (ms: number): string => formatLogTime(new Date(ms));

describe.skipIf(!HAS_MOTO)(
  "an API's logs on CloudWatch Logs (skipped when python3 has no moto)",
  () => {
    it("Given two replica streams of iris and one of iris-v2, When iris is tailed, Then its lines come in time order in the CLI's shape, short task ids in place of replica ids, without the in-flight metric's EMF lines", async () => {
      const cluster = await freshCluster();
      const t = Date.now() - 5_000;
      await put(cluster, `iris/replica/${TASK_A}`, [
        [t, "axon-replica: downloading bundle ab12"],
        [t + 2, "2026-11-23 16:50:01.123 INFO [iris r-3fa2c1 w0] model loaded"],
        [t + 3, '{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"InFlightRequests":2}'],
        [t + 4, "hello from print()"],
      ]);
      await put(cluster, `iris/replica/${TASK_B}`, [
        [t + 1, "2026-11-23 16:50:01.124 WARNING [iris r-77aa0b front] slow request a1"],
      ]);
      await put(cluster, `iris-v2/replica/${TASK_OTHER}`, [[t + 3, "not iris"]]);

      const { text, position } = await sourceOf(cluster).tail("iris", 100);

      expect(text).toBe(
        [
          `${at(t)} INFO [iris 3fa2c1d0 front] axon-replica: downloading bundle ab12`,
          `${at(t + 1)} WARNING [iris 77aa0b1c front] slow request a1`,
          `${at(t + 2)} INFO [iris 3fa2c1d0 w0] model loaded`,
          `${at(t + 4)} INFO [iris 3fa2c1d0 front] hello from print()`,
          "",
        ].join("\n"),
      );
      expect(position).toBe(t + 4);
    });

    it("Given more lines than asked for, When tailed with a limit, Then only the last ones come, and none when 0 is asked", async () => {
      const cluster = await freshCluster();
      const t = Date.now() - 5_000;
      await put(
        cluster,
        `iris/replica/${TASK_A}`,
        Array.from({ length: 30 }, (_, index): [number, string] => [t + index, `line ${index}`]),
      );
      const source = sourceOf(cluster);

      const { text, position } = await source.tail("iris", 3);

      expect(text.split("\n").filter((line) => line !== "")).toEqual([
        `${at(t + 27)} INFO [iris 3fa2c1d0 front] line 27`,
        `${at(t + 28)} INFO [iris 3fa2c1d0 front] line 28`,
        `${at(t + 29)} INFO [iris 3fa2c1d0 front] line 29`,
      ]);
      expect(position).toBe(t + 29);
      expect((await source.tail("iris", 0)).text).toBe("");
    });

    it("Given an API none of whose tasks has started (moto starts none), When tailed, Then one control-plane line says so and where to look, and the position is now", async () => {
      // Given
      const cluster = await freshCluster();
      const now = 1_800_000_000_000;
      const source = new AwsLogSource({
        ports: cluster.ports,
        refs: cluster.refs,
        target: cluster.ports.target,
        now: () => now,
      });
      // When
      const tailed = await source.tail("iris", 100);
      // Then
      expect(tailed).toEqual({
        text: `${at(now)} axon   [iris] no task of iris has started yet: its log streams appear in ${cluster.refs.logGroupName} when a replica's container starts — axon get iris --env prod shows why\n`,
        position: now,
      });
    });

    it("Given a task stream of iris with no line in the last 30 days, When tailed, Then the text is empty: a task did start", async () => {
      // Given
      const cluster = await freshCluster();
      await logsClient().send(
        new CreateLogStreamCommand({
          logGroupName: cluster.refs.logGroupName,
          logStreamName: `iris/replica/${TASK_A}`,
        }),
      );
      // When
      const tailed = await sourceOf(cluster).tail("iris", 100);
      // Then
      expect(tailed.text).toBe("");
    });

    it("Given iris with no task started, When tailed and then followed, and followed again with no tail, Then the tail says it, its follow stays silent until the first task writes, and the bare follow says it once", async () => {
      // Given
      const cluster = await freshCluster();
      const source = sourceOf(cluster);
      const { text, position } = await source.tail("iris", 10);
      const chunks: string[] = [];
      const bare: string[] = [];
      const controller = new AbortController();
      // When
      const following = source.follow(
        "iris",
        position,
        (chunk) => chunks.push(chunk.toString()),
        controller.signal,
      );
      const followingBare = source.follow(
        "iris",
        position - 1,
        (chunk) => bare.push(chunk.toString()),
        controller.signal,
      );
      await waitFor(() => bare.length > 0);
      await new Promise((resolve) => setTimeout(resolve, 300)); // a few polls with nothing
      const t = Date.now();
      await put(cluster, `iris/replica/${TASK_A}`, [[t, "first line of the first task"]]);
      await waitFor(
        () => chunks.join("").includes("first line") && bare.join("").includes("first line"),
      );
      controller.abort();
      await Promise.all([following, followingBare]);
      // Then
      expect(text).toMatch(/ axon   \[iris\] no task of iris has started yet: /);
      expect(chunks).toEqual([
        `${at(t)} INFO [iris 3fa2c1d0 front] first line of the first task\n`,
      ]);
      expect(
        bare
          .join("")
          .split("\n")
          .filter((line) => line !== "")
          .map((line) => line.slice(24)),
      ).toEqual([
        `axon   [iris] no task of iris has started yet: its log streams appear in ${cluster.refs.logGroupName} when a replica's container starts — axon get iris --env prod shows why`,
        "INFO [iris 3fa2c1d0 front] first line of the first task",
      ]);
    });

    it("Given a tail, When lines are written after it while following by polling, Then each new line is written exactly once and the tail's are not repeated", async () => {
      const cluster = await freshCluster();
      const t = Date.now() - 5_000;
      const stream = `iris/replica/${TASK_A}`;
      await put(cluster, stream, [
        [t, "before 1"],
        [t + 1, "before 2"],
      ]);
      const source = sourceOf(cluster);
      const { position } = await source.tail("iris", 10);
      const chunks: string[] = [];
      const controller = new AbortController();
      const following = source.follow(
        "iris",
        position,
        (chunk) => chunks.push(chunk.toString()),
        controller.signal,
      );

      // Same millisecond as the tail's last line, and later; and another API's line.
      await put(
        cluster,
        stream,
        [
          [t + 1, "after 1"],
          [t + 2, "after 2"],
        ],
        false,
      );
      await put(cluster, `iris-v2/replica/${TASK_OTHER}`, [[t + 3, "not iris"]]);
      await waitFor(() => chunks.join("").includes("after 2"));
      await put(cluster, `iris/replica/${TASK_B}`, [[t + 5, "from a new task"]]);
      await waitFor(() => chunks.join("").includes("from a new task"));
      await new Promise((resolve) => setTimeout(resolve, 300)); // a few more polls
      controller.abort();
      await following;

      expect(chunks.join("")).toBe(
        [
          `${at(t + 1)} INFO [iris 3fa2c1d0 front] after 1`,
          `${at(t + 2)} INFO [iris 3fa2c1d0 front] after 2`,
          `${at(t + 5)} INFO [iris 77aa0b1c front] from a new task`,
          "",
        ].join("\n"),
      );
    });
  },
);

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the follow's output");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
