/**
 * A batch job's workers on ECS (issue 32): Fargate tasks started with RunTask — at most 10 per call,
 * `startedBy` the job, tagged, in the services' network — each given its job's queue and spec in a
 * container override; found again by `startedBy` and by the ARNs RunTask answered; counted in
 * Cortex's worker states; stopped when the job ends.
 */
import type { Task } from "@aws-sdk/client-ecs";
import type { BatchJobSpec, BatchWorkerCounts } from "../../contract/index.js";
import { DomainError, JOB_INVALID } from "../../errors.js";
import { REPLICA_CONTAINER, type EcsApiDeps } from "./api-names.js";
import {
  BATCH_ENV,
  RUN_TASK_MAX_COUNT,
  RUN_TASK_MAX_OVERRIDE_CHARS,
  jobFailurePrefix,
  jobStartedBy,
} from "./batch-names.js";
import type { JobQueues } from "./batch-queue.js";
import type { EcsJobRecord } from "./batch-records.js";
import { callAws } from "./cluster-stack.js";

/** A worker pending longer than this is stalled (Cortex's "stuck in pending for more than 10 minutes"). */
const STALLED_MS = 10 * 60_000;

/** Shown stopped reasons. */
export const MAX_REASONS = 5;

/** The container environment a job's workers get, checked against RunTask's 8,192 characters. */
export function workerOverrides(
  spec: BatchJobSpec,
  queueUrl: string,
  maxReceives: number,
): {
  containerOverrides: Array<{ name: string; environment: Array<{ name: string; value: string }> }>;
} {
  const overrides = {
    containerOverrides: [
      {
        name: REPLICA_CONTAINER,
        environment: [
          { name: BATCH_ENV.queueUrl, value: queueUrl },
          { name: BATCH_ENV.job, value: JSON.stringify(spec) },
          { name: BATCH_ENV.maxReceives, value: String(maxReceives) },
          { name: BATCH_ENV.failurePrefix, value: jobFailurePrefix(spec.api_name, spec.job_id) },
        ],
      },
    ],
  };
  const size = JSON.stringify(overrides).length;
  if (size > RUN_TASK_MAX_OVERRIDE_CHARS) {
    throw new DomainError(
      JOB_INVALID,
      `config is too large for ECS: the job's spec reaches its workers in RunTask's overrides, at most ${RUN_TASK_MAX_OVERRIDE_CHARS} characters, and this one takes ${size}`,
      {
        status: 400,
        hint: "keep the job's config small (put large settings in S3 and pass their path)",
      },
    );
  }
  return overrides;
}

/** RunTask in calls of at most 10: the ARNs started and the reasons of those that were not. */
export async function startWorkers(
  deps: EcsApiDeps,
  taskDefinitionArn: string,
  spec: BatchJobSpec,
  queues: JobQueues,
  tags: Record<string, string>,
  workers: number,
): Promise<{ taskArns: string[]; failures: string[] }> {
  const { refs } = deps;
  const taskArns: string[] = [];
  const failures: string[] = [];
  const overrides = workerOverrides(spec, queues.queueUrl, (spec.max_retries ?? 0) + 1);
  for (let left = workers; left > 0; left -= RUN_TASK_MAX_COUNT) {
    const count = Math.min(RUN_TASK_MAX_COUNT, left);
    const output = await callAws(deps, "ecs:RunTask", () =>
      deps.ports.ecs.runTask({
        cluster: refs.clusterName,
        taskDefinition: taskDefinitionArn,
        count,
        launchType: "FARGATE",
        startedBy: jobStartedBy(spec.job_id),
        // The services' network: the cluster's task subnets and security group.
        networkConfiguration: {
          awsvpcConfiguration: {
            subnets: refs.taskSubnetIds,
            securityGroups: [refs.taskSecurityGroupId],
            assignPublicIp: refs.assignPublicIp ? "ENABLED" : "DISABLED",
          },
        },
        overrides,
        tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      }),
    );
    taskArns.push(...(output.tasks ?? []).flatMap((task) => (task.taskArn ? [task.taskArn] : [])));
    failures.push(
      ...(output.failures ?? []).map(
        (failure) => `${failure.reason ?? "failed"}${failure.detail ? ` (${failure.detail})` : ""}`,
      ),
    );
  }
  deps.onProgress?.(`started ${taskArns.length} worker task(s) for job ${spec.job_id}`);
  return { taskArns, failures: [...new Set(failures)].slice(0, MAX_REASONS) };
}

/** The job's tasks: those RunTask answered, and any ListTasks finds by `startedBy`. */
export async function jobTaskArns(deps: EcsApiDeps, record: EcsJobRecord): Promise<string[]> {
  const arns = new Set(record.taskArns);
  for (const desiredStatus of ["RUNNING", "STOPPED"] as const) {
    const listed = await callAws(deps, "ecs:ListTasks", () =>
      deps.ports.ecs.listTasks({
        cluster: deps.refs.clusterName,
        startedBy: jobStartedBy(record.job.job_id),
        desiredStatus,
      }),
    );
    for (const arn of listed.taskArns ?? []) arns.add(arn);
  }
  return [...arns];
}

export async function describeJobTasks(deps: EcsApiDeps, arns: string[]): Promise<Task[]> {
  const tasks: Task[] = [];
  // DescribeTasks takes up to 100 tasks per call.
  for (let start = 0; start < arns.length; start += 100) {
    const output = await callAws(deps, "ecs:DescribeTasks", () =>
      deps.ports.ecs.describeTasks({
        cluster: deps.refs.clusterName,
        tasks: arns.slice(start, start + 100),
      }),
    );
    tasks.push(...(output.tasks ?? []));
  }
  return tasks;
}

/** StopTask's `reason` is at most this long (R27). */
export const STOP_REASON_MAX_CHARS = 255;

export async function stopTasks(deps: EcsApiDeps, arns: string[], reason: string): Promise<void> {
  const tasks = await describeJobTasks(deps, arns);
  for (const task of tasks) {
    if (
      task.lastStatus === "STOPPED" ||
      task.desiredStatus === "STOPPED" ||
      task.taskArn === undefined
    )
      continue;
    const taskArn = task.taskArn;
    // "Up to 255 characters are allowed in this message"
    // (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html; RULES.md R27).
    const stopReason = reason.slice(0, STOP_REASON_MAX_CHARS);
    await callAws(deps, "ecs:StopTask", () =>
      deps.ports.ecs.stopTask({
        cluster: deps.refs.clusterName,
        task: taskArn,
        reason: stopReason,
      }),
    );
  }
}

/**
 * Cortex's worker counts from ECS task states: PROVISIONING/PENDING are pending (stalled after 10
 * minutes), ACTIVATING initializing, RUNNING running; a stopped task succeeded when its container
 * exited 0, else failed. A task on its way down counts as running until it has stopped.
 */
export function workerCounts(tasks: Task[], now: Date): BatchWorkerCounts {
  const counts: BatchWorkerCounts = {
    pending: 0,
    initializing: 0,
    running: 0,
    succeeded: 0,
    failed: 0,
    stalled: 0,
  };
  for (const task of tasks) {
    switch (task.lastStatus) {
      case undefined:
      case "PROVISIONING":
      case "PENDING": {
        const created = task.createdAt?.getTime() ?? now.getTime();
        if (now.getTime() - created > STALLED_MS) counts.stalled += 1;
        else counts.pending += 1;
        break;
      }
      case "ACTIVATING":
        counts.initializing += 1;
        break;
      case "STOPPED": {
        const exit = task.containers?.find((c) => c.name === REPLICA_CONTAINER)?.exitCode;
        if (exit === 0) counts.succeeded += 1;
        else counts.failed += 1;
        break;
      }
      default:
        counts.running += 1;
    }
  }
  return counts;
}

export function stoppedReasons(tasks: Task[]): string[] {
  const reasons = tasks.flatMap((task) => {
    const container = task.containers?.find((c) => c.name === REPLICA_CONTAINER);
    const parts = [task.stoppedReason, container?.reason].filter(
      (part): part is string => part !== undefined && part !== "",
    );
    return parts.length === 0 ? [] : [parts.join(": ")];
  });
  return [...new Set(reasons)].slice(0, MAX_REASONS);
}
