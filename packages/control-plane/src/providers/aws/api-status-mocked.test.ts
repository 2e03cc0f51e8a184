/**
 * What moto cannot show about an API's status (shared/reference/moto.md): moto never fails or rolls
 * back a rollout, has no service deployments (ListServiceDeployments, DescribeServiceDeployments,
 * DescribeServiceRevisions answer 500), no canary strategy, no service events or stopped tasks, never
 * paginates ListServices and never throttles. Every ECSClient's `send` is mocked with
 * aws-sdk-client-mock and reached through the same `connectAws` ports the daemon uses.
 */
import {
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ECSServiceException,
  ListServiceDeploymentsCommand,
  ListServicesCommand,
  ListTasksCommand,
  type Deployment,
  type Service,
  type ServiceDeployment,
  type Task,
} from "@aws-sdk/client-ecs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { REPLICA_ENV } from "./replica-env.js";
import { DomainError } from "../../errors.js";
import { apiSpec } from "../../testing/specs.js";
import { API_TAGS, REPLICA_CONTAINER, type AwsClusterRefs, type EcsApiDeps } from "./api-names.js";
import { describeAwsApis, listAwsApiNames } from "./api-status.js";
import { connectAws } from "./sdk.js";

const ecs = mockClient(ECSClient);
afterEach(() => ecs.reset());

const ACCOUNT = "123456789012";
const REFS: AwsClusterRefs = {
  envName: "prod",
  region: "eu-west-1",
  clusterName: "axon-demo",
  listenerArn: `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:listener/app/axon-demo/1/2`,
  loadBalancerArn: `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:loadbalancer/app/axon-demo/1`,
  loadBalancerDnsName: "axon-demo-1.eu-west-1.elb.amazonaws.com",
  bucketName: "axon-demo-bundles",
  logGroupName: "/axon/demo",
  executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/axon-demo-Execution`,
  taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/axon-demo-Task`,
  taskSecurityGroupId: "sg-1",
  taskSubnetIds: ["subnet-1", "subnet-2"],
  assignPublicIp: true,
  vpcId: "vpc-1",
  image: `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/axon-replica:0.1.0`,
};
const SERVICE_ARN = `arn:aws:ecs:eu-west-1:${ACCOUNT}:service/axon-demo/iris`;
const taskDefinition = (revision: number): string =>
  `arn:aws:ecs:eu-west-1:${ACCOUNT}:task-definition/axon-demo-iris:${revision}`;
const serviceRevision = (id: string): string =>
  `arn:aws:ecs:eu-west-1:${ACCOUNT}:service-revision/axon-demo/iris/${id}`;
const DEPLOYMENT_ARN = `arn:aws:ecs:eu-west-1:${ACCOUNT}:service-deployment/axon-demo/iris/sd3`;
const NOW = Date.UTC(2026, 11, 3, 17, 30, 0);
const minutesAgo = (minutes: number): Date => new Date(NOW - minutes * 60_000);

async function harness(): Promise<{ deps: EcsApiDeps; pauses: number[] }> {
  const ports = await connectAws("eu-west-1");
  const pauses: number[] = [];
  return {
    deps: {
      ports,
      refs: REFS,
      target: { region: "eu-west-1", profile: "ml-team" },
      signal: new AbortController().signal,
      pollMs: 10,
      sleep: async (ms) => {
        pauses.push(ms);
      },
    },
    pauses,
  };
}

function awsError(name: string, message: string, status = 400): ECSServiceException {
  return new ECSServiceException({
    name,
    message,
    $fault: status >= 500 ? "server" : "client",
    $metadata: { httpStatusCode: status },
  });
}

function service(deployments: Deployment[], extra: Partial<Service> = {}): Service {
  return {
    serviceArn: SERVICE_ARN,
    serviceName: "iris",
    clusterArn: `arn:aws:ecs:eu-west-1:${ACCOUNT}:cluster/axon-demo`,
    status: "ACTIVE",
    desiredCount: 2,
    runningCount: 2,
    pendingCount: 0,
    taskDefinition: deployments.find((d) => d.status === "PRIMARY")?.taskDefinition,
    deployments,
    tags: [
      { key: API_TAGS.api, value: "iris" },
      { key: API_TAGS.specHash, value: "f00d" },
    ],
    ...extra,
  };
}

function deployment(revision: number, fields: Partial<Deployment>): Deployment {
  return {
    id: `ecs-svc/${revision}`,
    status: "ACTIVE",
    taskDefinition: taskDefinition(revision),
    desiredCount: 2,
    runningCount: 0,
    pendingCount: 0,
    failedTasks: 0,
    createdAt: minutesAgo(20 - revision),
    updatedAt: minutesAgo(10 - revision),
    ...fields,
  };
}

/** The service, its task definition, and (when given) its newest service deployment. */
function mockService(described: Service, serviceDeployment?: ServiceDeployment): void {
  ecs.on(DescribeServicesCommand).resolves({ services: [described], failures: [] });
  ecs.on(DescribeTaskDefinitionCommand).resolves({
    taskDefinition: {
      containerDefinitions: [
        {
          name: REPLICA_CONTAINER,
          environment: [{ name: REPLICA_ENV.spec, value: JSON.stringify(apiSpec("iris")) }],
        },
      ],
    },
  });
  ecs.on(ListTasksCommand).resolves({ taskArns: [] });
  if (serviceDeployment === undefined) {
    // What moto answers: an HTML 500 the SDK cannot parse.
    ecs
      .on(ListServiceDeploymentsCommand)
      .rejects(awsError("InternalFailure", "Internal Server Error", 500));
    return;
  }
  ecs.on(ListServiceDeploymentsCommand).resolves({
    serviceDeployments: [
      { serviceDeploymentArn: "older", createdAt: minutesAgo(60), status: "SUCCESSFUL" },
      { serviceDeploymentArn: DEPLOYMENT_ARN, createdAt: minutesAgo(12) },
    ],
  });
  ecs
    .on(DescribeServiceDeploymentsCommand, { serviceDeploymentArns: [DEPLOYMENT_ARN] })
    .resolves({ serviceDeployments: [serviceDeployment] });
  ecs.on(DescribeServiceRevisionsCommand).resolves({
    serviceRevisions: [
      { serviceRevisionArn: serviceRevision("r3"), taskDefinition: taskDefinition(3) },
      { serviceRevisionArn: serviceRevision("r2"), taskDefinition: taskDefinition(2) },
    ],
  });
}

function stoppedTask(id: string, minutes: number, fields: Partial<Task>): Task {
  return {
    taskArn: `arn:aws:ecs:eu-west-1:${ACCOUNT}:task/axon-demo/${id}`,
    lastStatus: "STOPPED",
    stoppedAt: minutesAgo(minutes),
    ...fields,
  };
}

describe("an API's status from a mocked ECS", () => {
  it("Given a scale-to-zero API the idle policy set to 0 tasks, When described, Then it is live and idle, saying what its next caller gets", async () => {
    // Given min_replicas 0 in the task definition's spec, and a service at 0 of 0 tasks
    const { deps } = await harness();
    mockService(
      service([deployment(2, { status: "PRIMARY", rolloutState: "COMPLETED", desiredCount: 0 })], {
        desiredCount: 0,
        runningCount: 0,
      }),
    );
    const sleepy = apiSpec("iris", "  autoscaling:\n    min_replicas: 0\n");
    ecs.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: {
        containerDefinitions: [
          {
            name: REPLICA_CONTAINER,
            environment: [{ name: REPLICA_ENV.spec, value: JSON.stringify(sleepy) }],
          },
        ],
      },
    });
    // When described
    const [state] = await describeAwsApis(deps, ["iris"], { now: () => NOW });
    // Then idle, not updating or broken
    expect(state?.status).toBe("live");
    expect(state?.statusMessage).toBe(
      "idle (0 tasks; a request wakes one in about 2–4 minutes, answered 503 by the load balancer until then)",
    );
  });

  it("Given a rollout the circuit breaker rolled back, When described, Then the API is in error naming both revisions, the cause and the last stopped task", async () => {
    const { deps } = await harness();
    mockService(
      service([deployment(2, { status: "PRIMARY", rolloutState: "COMPLETED", runningCount: 2 })], {
        events: [
          {
            id: "e2",
            createdAt: minutesAgo(1),
            message: "(service iris) has reached a steady state.",
          },
          {
            id: "e1",
            createdAt: minutesAgo(5),
            message:
              "(service iris) (deployment ecs-svc/3) deployment failed: tasks failed to start.",
          },
        ],
      }),
      {
        serviceDeploymentArn: DEPLOYMENT_ARN,
        serviceArn: SERVICE_ARN,
        createdAt: minutesAgo(12),
        status: "ROLLBACK_SUCCESSFUL",
        statusReason: "ECS deployment circuit breaker: tasks failed to start.",
        targetServiceRevision: { arn: serviceRevision("r3") },
        sourceServiceRevisions: [{ arn: serviceRevision("r2") }],
        deploymentCircuitBreaker: { status: "TRIGGERED", failureCount: 3, threshold: 3 },
        rollback: {
          reason:
            "Service deployment rolled back because the circuit breaker threshold was exceeded.",
          serviceRevisionArn: serviceRevision("r2"),
        },
      },
    );
    ecs.on(ListTasksCommand).resolves({ taskArns: ["t1", "t2", "t3", "t4"] });
    ecs.on(DescribeTasksCommand).resolves({
      tasks: [
        stoppedTask("t1", 9, {
          stopCode: "EssentialContainerExited",
          stoppedReason: "Essential container in task exited",
          containers: [{ name: REPLICA_CONTAINER, exitCode: 137 }],
        }),
        stoppedTask("t2", 2, {
          stopCode: "ServiceSchedulerInitiated",
          stoppedReason: "Scaling activity initiated by (deployment ecs-svc/3)",
        }),
        stoppedTask("t3", 6, {
          stopCode: "EssentialContainerExited",
          stoppedReason: "Essential container in task exited",
          containers: [{ name: REPLICA_CONTAINER, exitCode: 1 }],
        }),
        stoppedTask("t4", 8, {
          stopCode: "TaskFailedToStart",
          stoppedReason: "CannotPullContainerError: pull image manifest has been retried 1 time(s)",
          containers: [{ name: REPLICA_CONTAINER, reason: "CannotPullContainerError" }],
        }),
      ],
    });

    const [state] = await describeAwsApis(deps, ["iris"], { now: () => NOW });

    expect(state?.status).toBe("error");
    expect(state?.statusMessage).toBe(
      "revision 3 failed and was rolled back to revision 2: tasks failed to start (circuit breaker); last stopped task: Essential container in task exited: exit code 1",
    );
    expect(state?.rollout).toEqual({
      stage: "rolled back to revision 2",
      state: "ROLLED_BACK",
      reason: "ECS deployment circuit breaker: tasks failed to start",
    });
    expect(state?.stoppedTasks).toEqual([
      "Essential container in task exited: exit code 1",
      "CannotPullContainerError: pull image manifest has been retried 1 time(s)",
      "Essential container in task exited: exit code 137",
    ]);
    expect(state?.events).toEqual([
      {
        time: minutesAgo(1).toISOString(),
        type: "info",
        message: "(service iris) has reached a steady state.",
      },
      {
        time: minutesAgo(5).toISOString(),
        type: "warning",
        message: "(service iris) (deployment ecs-svc/3) deployment failed: tasks failed to start.",
      },
    ]);
    expect(state).toMatchObject({
      revision: 2,
      specHash: "f00d",
      replicas: { requested: 2, upToDate: 2, stale: 0, initializing: 0, failed: 0 },
      lastUpdated: minutesAgo(12).toISOString(),
    });
    expect(ecs.commandCalls(ListTasksCommand)[0]?.args[0].input).toEqual({
      cluster: "axon-demo",
      serviceName: "iris",
      desiredStatus: "STOPPED",
    });
  });

  it("Given a rollback under way and no service deployments to read (moto, or no permission), When described, Then the deployments array says which revision failed and where it goes back to", async () => {
    const { deps } = await harness();
    mockService(
      service([
        deployment(2, {
          status: "PRIMARY",
          rolloutState: "IN_PROGRESS",
          runningCount: 1,
          pendingCount: 1,
        }),
        deployment(3, {
          status: "ACTIVE",
          rolloutState: "FAILED",
          rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start.",
          runningCount: 1,
          failedTasks: 3,
        }),
      ]),
    );

    const [state] = await describeAwsApis(deps, ["iris"], { now: () => NOW });

    expect(state).toMatchObject({
      status: "error",
      statusMessage:
        "revision 3 failed and is being rolled back to revision 2: ECS deployment circuit breaker: tasks failed to start",
      rollout: { stage: "rolling back to revision 2", state: "ROLLING_BACK" },
      replicas: { requested: 2, upToDate: 1, stale: 1, initializing: 1, failed: 0 },
      revision: 2,
    });
  });

  it("Given a canary rollout 7 minutes into its 10-minute bake, When described, Then the API is updating and the stage says how long is left", async () => {
    const { deps } = await harness();
    mockService(
      service([
        deployment(2, { status: "ACTIVE", rolloutState: "COMPLETED", runningCount: 2 }),
        deployment(3, { status: "PRIMARY", rolloutState: "IN_PROGRESS", runningCount: 2 }),
      ]),
      {
        serviceDeploymentArn: DEPLOYMENT_ARN,
        status: "IN_PROGRESS",
        lifecycleStage: "BAKE_TIME",
        createdAt: minutesAgo(12),
        updatedAt: minutesAgo(7),
        deploymentConfiguration: {
          strategy: "CANARY",
          canaryConfiguration: { canaryPercent: 5, canaryBakeTimeInMinutes: 10 },
        },
        targetServiceRevision: {
          arn: serviceRevision("r3"),
          requestedTaskCount: 2,
          runningTaskCount: 2,
          requestedProductionTrafficWeight: 5,
        },
      },
    );

    const [state] = await describeAwsApis(deps, ["iris"], { now: () => NOW });

    expect(state).toMatchObject({
      status: "updating",
      statusMessage: "canary 5% for 10m, 3m left",
      rollout: { stage: "canary 5% for 10m, 3m left", state: "IN_PROGRESS" },
      replicas: { requested: 2, upToDate: 2, stale: 2 },
    });
    // Nothing failed: no revisions are looked up.
    expect(ecs.commandCalls(DescribeServiceRevisionsCommand)).toHaveLength(0);
  });

  it("Given a rollout an alarm rolled back, When described, Then the message names the alarm", async () => {
    const { deps } = await harness();
    mockService(
      service([deployment(2, { status: "PRIMARY", rolloutState: "COMPLETED", runningCount: 2 })]),
      {
        serviceDeploymentArn: DEPLOYMENT_ARN,
        status: "ROLLBACK_SUCCESSFUL",
        targetServiceRevision: { arn: serviceRevision("r3") },
        rollback: { serviceRevisionArn: serviceRevision("r2") },
        alarms: {
          status: "TRIGGERED",
          alarmNames: ["axon-demo-iris-5xx"],
          triggeredAlarmNames: ["axon-demo-iris-5xx"],
        },
      },
    );

    const [state] = await describeAwsApis(deps, ["iris"], { now: () => NOW });

    expect(state?.statusMessage).toBe(
      "revision 3 failed and was rolled back to revision 2: alarm axon-demo-iris-5xx went off",
    );
  });

  it("Given a completed rollout with every task running, When described, Then the API is live and no stopped tasks are read", async () => {
    const { deps } = await harness();
    mockService(
      service([deployment(4, { status: "PRIMARY", rolloutState: "COMPLETED", runningCount: 2 })]),
      {
        serviceDeploymentArn: DEPLOYMENT_ARN,
        status: "SUCCESSFUL",
        targetServiceRevision: {
          arn: serviceRevision("r4"),
          requestedTaskCount: 2,
          runningTaskCount: 2,
        },
      },
    );

    const [state] = await describeAwsApis(deps, ["iris"], { now: () => NOW });

    expect(state).toMatchObject({
      status: "live",
      revision: 4,
      rollout: { stage: "rolling: 2 of 2 new tasks running", state: "COMPLETED" },
      stoppedTasks: [],
    });
    expect(state?.statusMessage).toBeUndefined();
    expect(ecs.commandCalls(ListTasksCommand)).toHaveLength(0);
  });

  it("Given 23 APIs over two pages of ListServices, When listed and described, Then every page is read and DescribeServices gets at most 10 per call", async () => {
    const { deps } = await harness();
    const names = Array.from({ length: 23 }, (_, index) => `api-${String(index).padStart(2, "0")}`);
    const arn = (name: string): string =>
      `arn:aws:ecs:eu-west-1:${ACCOUNT}:service/axon-demo/${name}`;
    ecs
      .on(ListServicesCommand)
      .resolvesOnce({ serviceArns: names.slice(0, 15).map(arn), nextToken: "page2" })
      .resolvesOnce({ serviceArns: names.slice(15).map(arn) });
    ecs.on(DescribeServicesCommand).callsFake((input: { services: string[] }) => ({
      services: input.services.map((requested) => {
        const name = requested.slice(requested.lastIndexOf("/") + 1);
        return {
          serviceArn: arn(name),
          status: "ACTIVE",
          tags: name === "api-07" ? [] : [{ key: API_TAGS.api, value: name }],
        };
      }),
    }));

    const listed = await listAwsApiNames(deps);

    expect(listed).toEqual(names.filter((name) => name !== "api-07"));
    expect(ecs.commandCalls(ListServicesCommand).map((call) => call.args[0].input)).toEqual([
      { cluster: "axon-demo", maxResults: 100 },
      { cluster: "axon-demo", maxResults: 100, nextToken: "page2" },
    ]);
    const batches = ecs
      .commandCalls(DescribeServicesCommand)
      .map((call) => call.args[0].input.services?.length);
    expect(batches).toEqual([10, 10, 3]);
    expect(ecs.commandCalls(DescribeServicesCommand)[0]?.args[0].input.include).toEqual(["TAGS"]);
  });

  it("Given AWS throttles DescribeServices twice, When described, Then the call is retried with doubling pauses and succeeds", async () => {
    const { deps, pauses } = await harness();
    mockService(
      service([deployment(2, { status: "PRIMARY", rolloutState: "COMPLETED", runningCount: 2 })]),
    );
    ecs
      .on(DescribeServicesCommand)
      .rejectsOnce(awsError("ThrottlingException", "Rate exceeded"))
      .rejectsOnce(awsError("ThrottlingException", "Rate exceeded"))
      .resolves({
        services: [
          service([
            deployment(2, { status: "PRIMARY", rolloutState: "COMPLETED", runningCount: 2 }),
          ]),
        ],
      });

    const [state] = await describeAwsApis(deps, ["iris"], { now: () => NOW });

    expect(state?.status).toBe("live");
    expect(pauses).toEqual([50, 100]);
  });

  it("Given an identity without ecs:DescribeServices, When described, Then access denied names the action, profile and region", async () => {
    const { deps } = await harness();
    ecs
      .on(DescribeServicesCommand)
      .rejects(
        awsError(
          "AccessDeniedException",
          `User: arn:aws:iam::${ACCOUNT}:user/dev is not authorized to perform: ecs:DescribeServices`,
        ),
      );

    const error = await describeAwsApis(deps, ["iris"]).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe("provider.aws.access_denied");
    expect((error as DomainError).message).toMatch(
      /^AWS denied ecs:DescribeServices \(profile ml-team, region eu-west-1\): User: .* is not authorized/,
    );
    expect((error as DomainError).hint).toMatch(/^allow ecs:DescribeServices for this identity/);
  });
});
