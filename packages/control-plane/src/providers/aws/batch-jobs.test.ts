/**
 * A BatchAPI's jobs on a real moto server (shared/reference/moto.md), on a cluster stack made by
 * `cluster up`'s own code: a job is created (queues, RunTask's tasks, status object), described,
 * drained and torn down with nothing left; S3 item sources; an empty listing; a stop.
 *
 * moto runs no container: the job's workers are played by the test — its batches are drained
 * through the container's own `SqsBatchSource` with a tiny loop (the shared worker loop is on
 * another branch), then the tasks are stopped as a worker exits once its queue is empty.
 */
import { readFileSync } from "node:fs";
import { ECSClient, ListTasksCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { ListQueueTagsCommand, ListQueuesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { parseApiConfig, type ApiSpec } from "@axon/config";
import { afterAll, describe, expect, it } from "vitest";
import { DomainError } from "../../errors.js";
import { SqsBatchSource } from "../../entrypoint/sqs-batch-source.js";
import { BATCH_S3_NOTHING_MATCHED } from "./s3-items.js";
import { deleteApiResources } from "./api-delete.js";
import type { EcsApiDeps } from "./api-names.js";
import {
  deleteEcsBatchJobs,
  describeEcsJob,
  listEcsBatchApis,
  listEcsJobs,
  stopEcsJob,
  submitEcsJob,
} from "./batch-jobs.js";
import { deployEcsBatchApi } from "./batch-api.js";
import { jobQueuePrefix, jobStartedBy } from "./batch-names.js";
import { deleteAllAwsApis } from "../../services/aws-apis.js";
import { createMotoCluster, type MotoCluster } from "./testing/moto-cluster.js";
import { clientConfig, leftovers } from "./testing/leftovers.js";
import { motoAvailable, startMoto, type MotoServer } from "./testing/moto-server.js";

const HAS_MOTO = motoAvailable();
let moto: MotoServer | undefined;
afterAll(async () => {
  await moto?.stop();
});

const IRIS_YAML = readFileSync(
  new URL("../../../../../examples/iris-sklearn/axon.yaml", import.meta.url),
  "utf8",
);

/** The iris example's spec as the BatchAPI's (the kind is not parsed on this branch yet). */
function batchSpec(name = "scorer"): ApiSpec {
  const yaml = IRIS_YAML.replace("name: iris-classifier", `name: ${name}`);
  const [spec] = parseApiConfig(yaml, "axon.yaml").apis;
  if (spec === undefined) throw new Error("the example has no API");
  return spec;
}

async function freshCluster(): Promise<{ cluster: MotoCluster; deps: EcsApiDeps }> {
  moto ??= await startMoto();
  await moto.reset();
  // Keep RunTask's tasks RUNNING until they are stopped (moto.md: the set-transition call).
  const response = await fetch(`${moto.url}/moto-api/state-manager/set-transition`, {
    method: "POST",
    body: JSON.stringify({
      model_name: "ecs::task",
      transition: { progression: "manual", times: 1_000_000 },
    }),
  });
  if (!response.ok) throw new Error(`moto set-transition answered ${response.status}`);
  Object.assign(process.env, moto.awsEnv());
  const cluster = await createMotoCluster(moto);
  return {
    cluster,
    deps: {
      ports: cluster.ports,
      refs: cluster.refs,
      target: cluster.ports.target,
      signal: new AbortController().signal,
      pollMs: 20,
    },
  };
}

async function deploy(deps: EcsApiDeps, spec = batchSpec()): Promise<void> {
  await deployEcsBatchApi(deps, {
    spec,
    bundleSha256: "c".repeat(64),
    readBundle: () => Promise.resolve(new Uint8Array(1024)),
  });
}

/** The queues of the API's jobs, the dead-letter ones included. */
async function jobQueues(deps: EcsApiDeps, api = "scorer"): Promise<string[]> {
  const listed = await new SQSClient(clientConfig).send(
    new ListQueuesCommand({ QueueNamePrefix: jobQueuePrefix(deps.refs, api) }),
  );
  return listed.QueueUrls ?? [];
}

async function tasksOf(deps: EcsApiDeps, jobId: string, status: "RUNNING" | "STOPPED") {
  const listed = await new ECSClient(clientConfig).send(
    new ListTasksCommand({
      cluster: deps.refs.clusterName,
      startedBy: jobStartedBy(jobId),
      desiredStatus: status,
    }),
  );
  return listed.taskArns ?? [];
}

/** What the job's workers would do: run every batch, then exit (their tasks stop). */
async function playWorkers(
  deps: EcsApiDeps,
  queueUrl: string,
  jobId: string,
): Promise<unknown[][]> {
  const source = new SqsBatchSource({ sqs: deps.ports.sqs, queueUrl, waitSeconds: 1 });
  const payloads: unknown[][] = [];
  const signal = AbortSignal.timeout(30_000);
  for (let batch = await source.lease(signal); batch !== null; batch = await source.lease(signal)) {
    payloads.push(batch.payload);
    await source.succeed(batch, 0);
  }
  const ecs = new ECSClient(clientConfig);
  for (const task of await tasksOf(deps, jobId, "RUNNING")) {
    await ecs.send(new StopTaskCommand({ cluster: deps.refs.clusterName, task }));
  }
  return payloads;
}

describe.skipIf(!HAS_MOTO)(
  "BatchAPI jobs on ECS, on moto (skipped when python3 has no moto)",
  () => {
    it("Given a BatchAPI on a moto cluster, When a job of 25 items in batches of 10 with 3 workers runs to the end, Then it has its queues and RunTask's tasks while it runs and nothing once it has ended", async () => {
      // Given
      const { deps, cluster } = await freshCluster();
      await deploy(deps);
      expect(cluster.calls.filter((call) => call.startsWith("ecs:CreateService"))).toEqual([]);
      // When: submitted
      const items = Array.from({ length: 25 }, (_, index) => ({ n: index }));
      const spec = await submitEcsJob(deps, "scorer", {
        workers: 3,
        item_list: { items, batch_size: 10 },
        config: { threshold: 0.5 },
      });
      // Then: Cortex's spec, one queue and its dead-letter queue tagged with the job, three tasks
      expect(spec).toMatchObject({
        api_name: "scorer",
        workers: 3,
        total_batch_count: 3,
        max_retries: 1,
        timeout: 600,
      });
      expect(spec.config).toMatchObject({ threshold: 0.5 });
      expect(spec.sqs_url).toMatch(/axon-demo-[0-9a-f]{8}-[0-9a-f]{16}$/);
      const queues = await jobQueues(deps);
      expect(new Set(queues)).toEqual(new Set([spec.sqs_url, `${spec.sqs_url ?? ""}-dlq`]));
      const tags = await new SQSClient(clientConfig).send(
        new ListQueueTagsCommand({ QueueUrl: spec.sqs_url ?? "" }),
      );
      expect(tags.Tags).toMatchObject({ "axon:api": "scorer", "axon:job": spec.job_id });
      expect(await tasksOf(deps, spec.job_id, "RUNNING")).toHaveLength(3);
      expect(await listEcsBatchApis(deps, [])).toEqual([
        {
          name: "scorer",
          kind: "BatchAPI",
          endpoint: "/v1/apis/scorer/jobs",
          lastUpdated: "",
          runningJobs: 1,
          latestJobId: spec.job_id,
        },
      ]);

      // When: described while it runs
      const running = await describeEcsJob(deps, "scorer", spec.job_id);
      // Then
      expect(running.job_status).toMatchObject({
        status: "status_running",
        batches_in_queue: 3,
        batch_metrics: { succeeded: 0, failed: 0 },
        worker_counts: { running: 3 },
      });

      // When: the workers drain the queue and exit
      const payloads = await playWorkers(deps, spec.sqs_url ?? "", spec.job_id);
      expect(payloads.flat()).toHaveLength(25);
      const ended = await describeEcsJob(deps, "scorer", spec.job_id);
      // Then: succeeded, settled, and its queues and tasks are gone
      expect(ended.job_status).toMatchObject({
        status: "status_succeeded",
        batches_in_queue: 0,
        batch_metrics: { succeeded: 3, failed: 0 },
      });
      expect(ended.job_status.end_time).toBeDefined();
      expect(await jobQueues(deps)).toEqual([]);
      expect(await tasksOf(deps, spec.job_id, "RUNNING")).toEqual([]);
      expect((await listEcsBatchApis(deps, []))[0]?.runningJobs).toBe(0);
      // A RealtimeAPI of that name (a service) is skipped without a call.
      expect(await listEcsBatchApis(deps, ["scorer"])).toEqual([]);
      const listed = await listEcsJobs(deps, "scorer");
      expect(listed.jobs.map((job) => [job.job_id, job.status])).toEqual([
        [spec.job_id, "status_succeeded"],
      ]);

      // When: the API is deleted
      expect(await deleteEcsBatchJobs(deps, "scorer")).toBe(1);
      expect(await deleteApiResources(deps, "scorer")).toBe("deleted");
      // Then: no job, no queue, no task definition
      await expect(describeEcsJob(deps, "scorer", spec.job_id)).rejects.toMatchObject({
        code: "job.not_found",
      });
      expect(await jobQueues(deps)).toEqual([]);
      await expect(listEcsJobs(deps, "scorer")).rejects.toMatchObject({ code: "api.not_found" });
      const left = await leftovers();
      expect({
        queues: left.queues,
        tasks: left.tasks,
        taskDefinitions: left.taskDefinitions,
      }).toEqual({
        queues: [],
        tasks: [],
        taskDefinitions: [],
      });
    });

    it("Given an S3 folder in moto, When a file_path_lister job with includes and excludes runs, Then its batches are the matching paths", async () => {
      // Given
      const { deps } = await freshCluster();
      await deploy(deps);
      const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
      await s3.send(new CreateBucketCommand({ Bucket: "images" }));
      for (const key of ["in/a.jpg", "in/b.jpg", "in/c_3.jpg", "in/d.png", "out/e.jpg"]) {
        await s3.send(new PutObjectCommand({ Bucket: "images", Key: key, Body: key }));
      }
      // When
      const spec = await submitEcsJob(deps, "scorer", {
        workers: 1,
        file_path_lister: {
          s3_paths: ["s3://images/in/"],
          includes: ["**.jpg"],
          excludes: ["**_3.jpg"],
          batch_size: 1,
        },
      });
      const payloads = await playWorkers(deps, spec.sqs_url ?? "", spec.job_id);
      // Then
      expect(spec.total_batch_count).toBe(2);
      expect(new Set(payloads.flat())).toEqual(
        new Set(["s3://images/in/a.jpg", "s3://images/in/b.jpg"]),
      );
      expect((await describeEcsJob(deps, "scorer", spec.job_id)).job_status.status).toBe(
        "status_succeeded",
      );
    });

    it("Given an S3 prefix with no object, When a job lists it, Then the job fails with that reason, is listed as failed to enqueue, and leaves no queue or task", async () => {
      // Given
      const { deps } = await freshCluster();
      await deploy(deps);
      await new S3Client({ ...clientConfig, forcePathStyle: true }).send(
        new CreateBucketCommand({ Bucket: "empty" }),
      );
      // When
      const error = await submitEcsJob(deps, "scorer", {
        workers: 2,
        delimited_files: { s3_paths: ["s3://empty/rows/"], batch_size: 5 },
      }).catch((caught: unknown) => caught);
      // Then
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ code: BATCH_S3_NOTHING_MATCHED, status: 400 });
      expect((error as Error).message).toMatch(
        /^job [0-9a-f]{16} failed to enqueue: no S3 object found under s3_paths \["s3:\/\/empty\/rows\/"\]$/,
      );
      const [job] = (await listEcsJobs(deps, "scorer")).jobs;
      expect(job).toMatchObject({
        status: "status_enqueue_failed",
        status_message: 'no S3 object found under s3_paths ["s3://empty/rows/"]',
      });
      expect(await jobQueues(deps)).toEqual([]);
      expect(await tasksOf(deps, job?.job_id ?? "", "RUNNING")).toEqual([]);
    });

    it("Given a running job, When it is stopped, Then its tasks are stopped, its queues deleted and it says stopped with the batches it had left", async () => {
      const { deps } = await freshCluster();
      await deploy(deps);
      const spec = await submitEcsJob(deps, "scorer", {
        workers: 12,
        item_list: { items: Array.from({ length: 30 }, (_, n) => n), batch_size: 2 },
      });
      // 12 workers: two RunTask calls (at most 10 each)
      expect(await tasksOf(deps, spec.job_id, "RUNNING")).toHaveLength(12);
      expect(await stopEcsJob(deps, "scorer", spec.job_id)).toEqual({
        message: `stopped job ${spec.job_id}`,
      });
      expect(await tasksOf(deps, spec.job_id, "RUNNING")).toEqual([]);
      expect(await jobQueues(deps)).toEqual([]);
      const stopped = await describeEcsJob(deps, "scorer", spec.job_id);
      expect(stopped.job_status).toMatchObject({ status: "status_stopped", batches_in_queue: 15 });
      expect(await stopEcsJob(deps, "scorer", spec.job_id)).toEqual({
        message: `job ${spec.job_id} had already ended (status_stopped)`,
      });
    });

    it("Given a RealtimeAPI-less environment, When a job is submitted to an API that does not exist, Then it is a 404 naming the API and nothing is made", async () => {
      const { deps } = await freshCluster();
      await expect(
        submitEcsJob(deps, "nope", { workers: 1, item_list: { items: [1], batch_size: 1 } }),
      ).rejects.toMatchObject({ code: "api.not_found", status: 404 });
      expect(await jobQueues(deps, "nope")).toEqual([]);
    });

    it("Given a BatchAPI with a running job, When the cluster's APIs are all deleted (cluster down), Then its tasks, queues, records and task definitions are gone", async () => {
      // Given
      const { deps } = await freshCluster();
      await deploy(deps);
      const spec = await submitEcsJob(deps, "scorer", {
        workers: 2,
        item_list: { items: [1, 2, 3], batch_size: 1 },
      });
      // When
      expect(await deleteAllAwsApis(deps)).toEqual(["scorer"]);
      // Then
      expect(await tasksOf(deps, spec.job_id, "RUNNING")).toEqual([]);
      expect(await jobQueues(deps)).toEqual([]);
      expect((await leftovers()).taskDefinitions).toEqual([]);
      await expect(describeEcsJob(deps, "scorer", spec.job_id)).rejects.toMatchObject({
        code: "job.not_found",
      });
    });
  },
);
