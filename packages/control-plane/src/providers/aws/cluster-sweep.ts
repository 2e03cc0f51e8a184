/**
 * The ECS side of `cluster down`, around the stack's deletion.
 *
 * Before: DeleteCluster (which CloudFormation calls for the stack's cluster) refuses a cluster
 * that still has services or tasks — "You can't delete a cluster that contains services" /
 * "… that has active tasks"
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteCluster.html) — and a
 * deleted service stays DRAINING until its tasks have stopped: "After all tasks have transitioned
 * to either STOPPING or STOPPED status, the service status moves from DRAINING to INACTIVE"
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html). So the
 * stack is deleted only once the APIs' services are INACTIVE and no task is listed (ecs.md §1.5).
 *
 * After: make sure the cluster and the listener's default target group are gone. CloudFormation
 * deletes them with the stack on AWS; an emulator (moto 5.2) or a cluster re-created by hand can
 * leave them, and `cluster down` promises that nothing is left.
 */
import { setTimeout as delay } from "node:timers/promises";
import { DomainError } from "../../errors.js";
import { callAws, type AwsCallDeps } from "./cluster-stack.js";
import { isAwsError } from "./api-deploy.js";
import { defaultTargetGroupName } from "./cluster-template.js";
import type { EcsPort, ElbPort } from "./sdk.js";

/** The cluster's tasks did not drain in time; its stack was left in place (504). */
export const AWS_DRAIN_TIMEOUT = "provider.aws.drain_timeout";

/** How long `cluster down` waits for services to drain (Fargate stops a task in ~30 s–2 min). */
export const DRAIN_TIMEOUT_MS = 10 * 60_000;

/**
 * Waits until `services` are INACTIVE (or gone) and the cluster lists no running task, reporting
 * what is left on each poll that changes it; bounded by `timeoutMs`.
 *
 * @throws DomainError `provider.aws.drain_timeout` (504) when they are still there at the end.
 */
export async function waitForClusterEmpty(
  deps: AwsCallDeps & { ecs: EcsPort; onProgress?: (message: string) => void },
  clusterName: string,
  services: readonly string[],
  timeoutMs = DRAIN_TIMEOUT_MS,
): Promise<void> {
  const sleep = deps.sleep ?? abortableSleep;
  const pause = deps.pollMs ?? 5000;
  const started = Date.now();
  let last = "";
  for (;;) {
    const live: string[] = [];
    // DescribeServices takes 10 names per call.
    for (let i = 0; i < services.length; i += 10) {
      const described = await callAws(deps, "ecs:DescribeServices", () =>
        deps.ecs.describeServices({ cluster: clusterName, services: services.slice(i, i + 10) }),
      );
      for (const service of described.services ?? []) {
        if (service.status === "ACTIVE" || service.status === "DRAINING")
          live.push(`${service.serviceName ?? "?"} ${service.status}`);
      }
    }
    let tasks;
    try {
      tasks = await callAws(deps, "ecs:ListTasks", () =>
        deps.ecs.listTasks({ cluster: clusterName }),
      );
    } catch (error) {
      // No cluster, nothing to wait for (a stack deleted halfway by an earlier `down`).
      if (isAwsError(error, "ClusterNotFoundException")) return;
      throw error;
    }
    const running = (tasks.taskArns ?? []).length;
    if (live.length === 0 && running === 0) return;
    const left = `${live.length > 0 ? `${live.join(", ")}; ` : ""}${running} task${running === 1 ? "" : "s"} running`;
    if (left !== last) {
      deps.onProgress?.(`waiting for the ECS cluster ${clusterName} to empty: ${left}`);
      last = left;
    }
    if (Date.now() - started >= timeoutMs || deps.signal.aborted) {
      throw new DomainError(
        AWS_DRAIN_TIMEOUT,
        `the ECS cluster ${clusterName} still has ${left} after ${Math.round((Date.now() - started) / 1000)}s; its stack was not deleted`,
        {
          status: 504,
          hint: "run axon cluster down again in a few minutes (ECS stops tasks on its own); aws ecs list-tasks --cluster shows what is left",
        },
      );
    }
    await sleep(pause, deps.signal).catch(() => undefined);
  }
}

/** Deletes `clusterName` if it is still ACTIVE; true when it had to. */
export async function sweepCluster(
  deps: AwsCallDeps & { ecs: EcsPort },
  clusterName: string,
): Promise<boolean> {
  const described = await callAws(deps, "ecs:DescribeClusters", () =>
    deps.ecs.describeClusters({ clusters: [clusterName] }),
  );
  const active = (described.clusters ?? []).some((cluster) => cluster.status === "ACTIVE");
  if (!active) return false;
  await callAws(deps, "ecs:DeleteCluster", () => deps.ecs.deleteCluster({ cluster: clusterName }));
  return true;
}

/**
 * Deletes the cluster's default target group if it outlived its stack; true when it had to.
 * `clusterName` is the config's name (`cluster_name`).
 */
export async function sweepDefaultTargetGroup(
  deps: AwsCallDeps & { elb: ElbPort },
  clusterName: string,
): Promise<boolean> {
  const name = defaultTargetGroupName(clusterName);
  let arn: string | undefined;
  try {
    const found = await callAws(deps, "elasticloadbalancing:DescribeTargetGroups", () =>
      deps.elb.describeTargetGroups({ Names: [name] }),
    );
    arn = found.TargetGroups?.find((group) => group.TargetGroupName === name)?.TargetGroupArn;
  } catch (error) {
    if (isAwsError(error, "TargetGroupNotFoundException", "TargetGroupNotFound")) return false;
    throw error;
  }
  if (arn === undefined) return false;
  const groupArn = arn;
  await callAws(deps, "elasticloadbalancing:DeleteTargetGroup", () =>
    deps.elb.deleteTargetGroup({ TargetGroupArn: groupArn }),
  );
  return true;
}

/** Waits `ms`, or rejects when `signal` aborts (callers swallow either way and check the signal). */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal });
}
