/**
 * The cluster's CloudFormation stack: create, describe, delete, and wait on them while reporting
 * each resource's progress. Waiting polls DescribeStacks and DescribeStackEvents (new events only,
 * by id), pausing and retrying when AWS throttles. A failure names the resource that failed first
 * and CloudFormation's reason for it; every SDK error leaves here as a `DomainError`.
 */
import { setTimeout as delay } from "node:timers/promises";
import { DomainError } from "../../errors.js";
import {
  isAccessDeniedError,
  isNoUpdateError,
  isServiceLinkedRoleTakenError,
  isStackMissingError,
  isThrottlingError,
  translateAwsError,
} from "./aws-errors.js";
import { CLUSTER_OUTPUT_NAMES } from "./cluster-template.js";
import type { AwsTarget, CloudFormationPort, IamPort } from "./sdk.js";

/** One resource's step, as CloudFormation reported it. */
export interface StackResourceProgress {
  logicalId: string;
  resourceType: string;
  /** e.g. CREATE_IN_PROGRESS, CREATE_COMPLETE, CREATE_FAILED, DELETE_COMPLETE. */
  status: string;
  reason?: string;
}

export type ClusterStackOutputs = Partial<Record<(typeof CLUSTER_OUTPUT_NAMES)[number], string>>;

/** A stack as DescribeStacks shows it. */
export interface ClusterStackState {
  stackId: string;
  stackName: string;
  status: string;
  statusReason?: string;
  outputs: ClusterStackOutputs;
}

/** What any AWS call needs: where it goes (for messages), a signal, and how to pause. */
export interface AwsCallDeps {
  target: AwsTarget;
  signal: AbortSignal;
  /** Pause between polls (default 5 s; tests pass less); throttling retries start from it. */
  pollMs?: number;
  /** Injectable for tests; waits `ms` or rejects when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface StackDeps extends AwsCallDeps {
  cloudFormation: CloudFormationPort;
  onResource: (progress: StackResourceProgress) => void;
}

/** Retries per call when AWS throttles, with doubling pauses from `pollMs`. */
/** The stack ended in a failed or rolled-back state (its reason in the message): 502. */
export const AWS_STACK_FAILED = "provider.aws.stack_failed";
/** The wait for the stack was cancelled (the client went away); the stack goes on. */
export const AWS_WAIT_CANCELLED = "provider.aws.wait_cancelled";

const THROTTLE_RETRIES = 5;

/** The stack, or undefined when it does not exist (or was deleted). */
export async function describeClusterStack(
  deps: StackDeps,
  stackName: string,
): Promise<ClusterStackState | undefined> {
  let output;
  try {
    output = await callAws(deps, "cloudformation:DescribeStacks", () =>
      deps.cloudFormation.describeStacks({ StackName: stackName }),
    );
  } catch (error) {
    if (error instanceof DomainError && isStackMissingError(error.cause)) return undefined;
    throw error;
  }
  const stack = output.Stacks?.[0];
  if (stack === undefined || stack.StackStatus === "DELETE_COMPLETE") return undefined;
  const outputs: ClusterStackOutputs = {};
  for (const entry of stack.Outputs ?? []) {
    const key = entry.OutputKey as (typeof CLUSTER_OUTPUT_NAMES)[number] | undefined;
    if (key !== undefined && CLUSTER_OUTPUT_NAMES.includes(key) && entry.OutputValue !== undefined)
      outputs[key] = entry.OutputValue;
  }
  return {
    stackId: stack.StackId ?? stackName,
    stackName: stack.StackName ?? stackName,
    status: stack.StackStatus ?? "UNKNOWN",
    ...(stack.StackStatusReason === undefined ? {} : { statusReason: stack.StackStatusReason }),
    outputs,
  };
}

/** Creates the stack and waits until CREATE_COMPLETE; throws naming the failed resource. */
export async function createClusterStack(
  deps: StackDeps,
  input: { stackName: string; templateBody: string; tags: Record<string, string> },
): Promise<ClusterStackState> {
  const created = await callAws(deps, "cloudformation:CreateStack", () =>
    deps.cloudFormation.createStack({
      StackName: input.stackName,
      TemplateBody: input.templateBody,
      // The template creates unnamed IAM roles (least privilege, CAPABILITY_IAM only).
      Capabilities: ["CAPABILITY_IAM"],
      // Roll back on failure: nothing half-made stays, and the stack is left for `cluster down`.
      OnFailure: "ROLLBACK",
      Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  const stackId = created.StackId ?? input.stackName;
  return waitForStack(deps, stackId, input.stackName, "create");
}

/**
 * Applies a new template to an existing stack and waits for UPDATE_COMPLETE; `unchanged` when the
 * template and tags are what the stack already has. A failed update is rolled back by
 * CloudFormation and reported like a failed creation.
 */
export async function updateClusterStack(
  deps: StackDeps,
  input: { stackId: string; stackName: string; templateBody: string; tags: Record<string, string> },
): Promise<ClusterStackState | "unchanged"> {
  const seen = await eventIds(deps, input.stackId);
  try {
    await callAws(deps, "cloudformation:UpdateStack", () =>
      deps.cloudFormation.updateStack({
        StackName: input.stackId,
        TemplateBody: input.templateBody,
        Capabilities: ["CAPABILITY_IAM"],
        Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
  } catch (error) {
    if (error instanceof DomainError && isNoUpdateError(error.cause)) return "unchanged";
    throw error;
  }
  return waitForStack(deps, input.stackId, input.stackName, "update", seen);
}

/** The ids of the stack's events so far: history a new operation does not report again. */
async function eventIds(deps: StackDeps, stackId: string): Promise<Set<string>> {
  const before = await callAws(deps, "cloudformation:DescribeStackEvents", () =>
    deps.cloudFormation.describeStackEvents({ StackName: stackId }),
  );
  return new Set((before.StackEvents ?? []).map((event) => event.EventId ?? ""));
}

/**
 * Deletes the stack and waits until it is gone. Returns `absent` when there was nothing to delete.
 */
export async function deleteClusterStack(
  deps: StackDeps,
  stackName: string,
): Promise<"deleted" | "absent"> {
  const existing = await describeClusterStack(deps, stackName);
  if (existing === undefined) return "absent";
  // The stack's earlier events are history: report only what the deletion does.
  const seen = await eventIds(deps, existing.stackId);
  if (existing.status !== "DELETE_IN_PROGRESS") {
    await callAws(deps, "cloudformation:DeleteStack", () =>
      deps.cloudFormation.deleteStack({ StackName: existing.stackId }),
    );
  }
  await waitForStack(deps, existing.stackId, stackName, "delete", seen);
  return "deleted";
}

/**
 * Makes sure the account has the ECS service-linked role before a stack declares a cluster with
 * capacity providers: a fresh account has none, and CloudFormation's cluster then fails with
 * "Unable to assume the service linked role" (RULES.md R6). ECS's CreateCluster "attempts to
 * create the Amazon ECS service-linked role for your account" only on its own path
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCluster.html); creating
 * it is `iam:CreateServiceLinkedRole` for `ecs.amazonaws.com`
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html).
 * Returns `created`, `exists` (IAM: "has been taken in this account"), or `unknown` when this
 * identity may not create roles: the stack is tried anyway (the role usually exists), with
 * `onNote` saying how to create it if the stack then fails.
 */
export async function ensureEcsServiceLinkedRole(
  deps: AwsCallDeps & { iam: IamPort; onNote?: (message: string) => void },
): Promise<"created" | "exists" | "unknown"> {
  try {
    await callAws(deps, "iam:CreateServiceLinkedRole", () =>
      deps.iam.createServiceLinkedRole({ AWSServiceName: "ecs.amazonaws.com" }),
    );
    return "created";
  } catch (error) {
    const cause = error instanceof DomainError ? error.cause : error;
    if (isServiceLinkedRoleTakenError(cause)) return "exists";
    if (isAccessDeniedError(cause)) {
      deps.onNote?.(
        'could not check the ECS service-linked role (no iam:CreateServiceLinkedRole permission); if the stack fails with "Unable to assume the service linked role", run: aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com',
      );
      return "unknown";
    }
    throw error;
  }
}

/**
 * Waits for a stack operation to finish, reporting every new resource event. For `create`, an
 * operation already under way (CREATE_IN_PROGRESS from an earlier, interrupted `cluster up`) is
 * waited on the same way. Events whose ids are in `seen` are not reported again.
 */
export async function waitForStack(
  deps: StackDeps,
  stackId: string,
  stackName: string,
  operation: "create" | "update" | "delete",
  seen = new Set<string>(),
): Promise<ClusterStackState> {
  const sleep = deps.sleep ?? abortableSleep;
  const failures: StackResourceProgress[] = [];
  for (;;) {
    const events = await callAws(deps, "cloudformation:DescribeStackEvents", () =>
      deps.cloudFormation.describeStackEvents({ StackName: stackId }),
    );
    const fresh = (events.StackEvents ?? [])
      .filter((event) => event.EventId !== undefined && !seen.has(event.EventId))
      .reverse();
    for (const event of fresh) {
      seen.add(event.EventId ?? "");
      if (event.ResourceType === "AWS::CloudFormation::Stack") continue;
      const progress: StackResourceProgress = {
        logicalId: event.LogicalResourceId ?? "?",
        resourceType: event.ResourceType ?? "?",
        status: event.ResourceStatus ?? "?",
        ...(event.ResourceStatusReason === undefined ? {} : { reason: event.ResourceStatusReason }),
      };
      if (progress.status.endsWith("_FAILED")) failures.push(progress);
      deps.onResource(progress);
    }
    const state = await describeClusterStack(deps, stackId);
    if (state === undefined) {
      if (operation === "delete")
        return { stackId, stackName, status: "DELETE_COMPLETE", outputs: {} };
      throw new DomainError(
        AWS_STACK_FAILED,
        `stack ${stackName} disappeared while it was being created (someone deleted it)`,
        { status: 409, hint: "run axon cluster up again" },
      );
    }
    if (!state.status.endsWith("_IN_PROGRESS")) {
      if (operation === "create" && state.status === "CREATE_COMPLETE") return state;
      if (operation === "update" && state.status === "UPDATE_COMPLETE") return state;
      if (operation === "delete" && state.status === "DELETE_COMPLETE") return state;
      throw stackFailure(stackName, operation, state, failures);
    }
    if (deps.signal.aborted) {
      throw new DomainError(
        AWS_WAIT_CANCELLED,
        `stopped waiting for stack ${stackName} (${state.status}); CloudFormation carries on without us`,
        {
          status: 499,
          hint: `axon cluster info shows where it got to; axon cluster ${operation === "delete" ? "down" : "up"} again picks it up`,
        },
      );
    }
    await sleep(deps.pollMs ?? 5000, deps.signal).catch(() => undefined);
  }
}

function stackFailure(
  stackName: string,
  operation: "create" | "update" | "delete",
  state: ClusterStackState,
  failures: StackResourceProgress[],
): DomainError {
  // The first failure is the cause; later ones are usually "Resource creation cancelled".
  const cause = failures.find((failure) => !/cancelled/i.test(failure.reason ?? "")) ?? failures[0];
  const what =
    cause === undefined
      ? (state.statusReason ?? "no resource reported a reason")
      : `${cause.logicalId} (${cause.resourceType}) ${cause.status}: ${cause.reason ?? "no reason given"}`;
  const hint =
    operation === "create"
      ? "CloudFormation rolled the stack back, so nothing half-made is left running; fix the cause and run axon cluster up again, or remove the rolled-back stack with axon cluster down"
      : operation === "update"
        ? "CloudFormation rolled the update back: the cluster is as it was; fix the cause and run axon cluster up again"
        : "fix the cause (a resource created outside the stack may be holding it, e.g. an ENI or a non-empty bucket), then run axon cluster down again";
  return new DomainError(
    AWS_STACK_FAILED,
    `${{ create: "creating", update: "updating", delete: "deleting" }[operation]} stack ${stackName} failed (${state.status}): ${what}`,
    { status: 502, hint },
  );
}

/** Calls AWS once, retrying with doubling pauses while it throttles; errors leave translated. */
export async function callAws<T>(
  deps: AwsCallDeps,
  action: string,
  call: () => Promise<T>,
): Promise<T> {
  const sleep = deps.sleep ?? abortableSleep;
  let pause = Math.max(deps.pollMs ?? 1000, 50);
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (!isThrottlingError(error) || attempt >= THROTTLE_RETRIES || deps.signal.aborted)
        throw translateAwsError(error, action, deps.target);
      await sleep(pause, deps.signal).catch(() => undefined);
      pause *= 2;
    }
  }
}

/** Waits `ms`, or rejects when `signal` aborts (callers swallow either way and check the signal). */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal });
}
