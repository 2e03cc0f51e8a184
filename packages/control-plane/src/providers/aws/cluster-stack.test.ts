/**
 * What moto cannot show (shared/reference/moto.md): a stack that fails with a resource's reason,
 * AWS throttling, expired credentials and access denied. The SDK clients are mocked with
 * aws-sdk-client-mock (every CloudFormationClient's `send`), and reached through the same
 * `connectAws` ports the daemon uses.
 */
import {
  CloudFormationClient,
  CloudFormationServiceException,
  CreateStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type StackEvent,
} from "@aws-sdk/client-cloudformation";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { DomainError } from "../../errors.js";
import { translateAwsError } from "./aws-errors.js";
import { createClusterStack, describeClusterStack, type StackDeps } from "./cluster-stack.js";
import { connectAws } from "./sdk.js";

const cfn = mockClient(CloudFormationClient);
afterEach(() => cfn.reset());

const STACK_ID = "arn:aws:cloudformation:eu-west-1:123456789012:stack/axon-demo/1";

function awsError(name: string, message: string): CloudFormationServiceException {
  return new CloudFormationServiceException({
    name,
    message,
    $fault: "client",
    $metadata: { httpStatusCode: 400 },
  });
}

async function harness(): Promise<{ deps: StackDeps; progress: string[]; pauses: number[] }> {
  const ports = await connectAws("eu-west-1");
  const progress: string[] = [];
  const pauses: number[] = [];
  return {
    deps: {
      cloudFormation: ports.cloudFormation,
      target: { region: "eu-west-1", profile: "ml-team" },
      signal: new AbortController().signal,
      pollMs: 10,
      sleep: async (ms) => {
        pauses.push(ms);
      },
      onResource: (step) =>
        progress.push(
          `${step.logicalId} ${step.status}${step.reason === undefined ? "" : `: ${step.reason}`}`,
        ),
    },
    progress,
    pauses,
  };
}

/** Stack events newest first, as DescribeStackEvents returns them. */
function events(...steps: Array<[string, string, string, string?]>): StackEvent[] {
  return steps
    .map(([logicalId, type, status, reason], index) => ({
      EventId: `e${index}`,
      StackId: STACK_ID,
      StackName: "axon-demo",
      LogicalResourceId: logicalId,
      ResourceType: type,
      ResourceStatus: status as StackEvent["ResourceStatus"],
      ...(reason === undefined ? {} : { ResourceStatusReason: reason }),
      Timestamp: new Date(Date.UTC(2026, 11, 3, 17, 0, index)),
    }))
    .reverse();
}

const INPUT = { stackName: "axon-demo", templateBody: "{}", tags: { "axon:env": "demo" } };

describe("cluster stack on a mocked CloudFormation", () => {
  it("Given a load balancer that fails, When the stack is created, Then every step is reported and the error names the resource and its reason", async () => {
    const { deps, progress } = await harness();
    cfn.on(CreateStackCommand).resolves({ StackId: STACK_ID });
    cfn.on(DescribeStackEventsCommand).resolves({
      StackEvents: events(
        ["axon-demo", "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated"],
        ["LoadBalancer", "AWS::ElasticLoadBalancingV2::LoadBalancer", "CREATE_IN_PROGRESS"],
        ["Cluster", "AWS::ECS::Cluster", "CREATE_IN_PROGRESS"],
        [
          "LoadBalancer",
          "AWS::ElasticLoadBalancingV2::LoadBalancer",
          "CREATE_FAILED",
          "At least two subnets in two different Availability Zones must be specified",
        ],
        ["Cluster", "AWS::ECS::Cluster", "CREATE_FAILED", "Resource creation cancelled"],
        ["axon-demo", "AWS::CloudFormation::Stack", "ROLLBACK_IN_PROGRESS"],
        ["Cluster", "AWS::ECS::Cluster", "DELETE_COMPLETE"],
        ["axon-demo", "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE"],
      ),
    });
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackId: STACK_ID,
          StackName: "axon-demo",
          StackStatus: "ROLLBACK_COMPLETE",
          CreationTime: new Date(),
        },
      ],
    });

    // When
    const error = await createClusterStack(deps, INPUT).catch((caught: unknown) => caught);

    // Then the failure names the first failed resource (not the cancelled one) and what to do
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe("provider.aws.stack_failed");
    expect((error as DomainError).message).toBe(
      "creating stack axon-demo failed (ROLLBACK_COMPLETE): LoadBalancer (AWS::ElasticLoadBalancingV2::LoadBalancer) CREATE_FAILED: At least two subnets in two different Availability Zones must be specified",
    );
    expect((error as DomainError).hint).toMatch(/rolled the stack back.*axon cluster down/);
    // And each resource's steps came in order, the stack's own events left out
    expect(progress).toEqual([
      "LoadBalancer CREATE_IN_PROGRESS",
      "Cluster CREATE_IN_PROGRESS",
      "LoadBalancer CREATE_FAILED: At least two subnets in two different Availability Zones must be specified",
      "Cluster CREATE_FAILED: Resource creation cancelled",
      "Cluster DELETE_COMPLETE",
    ]);
    // And the stack was asked for with IAM capability, rollback on failure and the tags
    expect(cfn.commandCalls(CreateStackCommand)[0]?.args[0].input).toMatchObject({
      StackName: "axon-demo",
      Capabilities: ["CAPABILITY_IAM"],
      OnFailure: "ROLLBACK",
      Tags: [{ Key: "axon:env", Value: "demo" }],
    });
  });

  it("Given AWS throttles DescribeStacks twice, When the stack is awaited, Then it pauses, doubling, and succeeds", async () => {
    const { deps, pauses } = await harness();
    cfn.on(CreateStackCommand).resolves({ StackId: STACK_ID });
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
    cfn
      .on(DescribeStacksCommand)
      .rejectsOnce(awsError("Throttling", "Rate exceeded"))
      .rejectsOnce(awsError("Throttling", "Rate exceeded"))
      .resolves({
        Stacks: [
          {
            StackId: STACK_ID,
            StackName: "axon-demo",
            StackStatus: "CREATE_COMPLETE",
            CreationTime: new Date(),
            Outputs: [{ OutputKey: "BucketName", OutputValue: "axon-demo-bundlebucket-1" }],
          },
        ],
      });

    const state = await createClusterStack(deps, INPUT);

    expect(state.status).toBe("CREATE_COMPLETE");
    expect(state.outputs).toEqual({ BucketName: "axon-demo-bundlebucket-1" });
    expect(pauses).toEqual([50, 100]); // from max(pollMs, 50 ms), doubling
  });

  it("Given AWS throttles without end, When a stack is described, Then it gives up with provider.aws.throttled after 5 retries", async () => {
    const { deps, pauses } = await harness();
    cfn.on(DescribeStacksCommand).rejects(awsError("Throttling", "Rate exceeded"));

    const error = await describeClusterStack(deps, "axon-demo").catch((caught: unknown) => caught);

    expect((error as DomainError).code).toBe("provider.aws.throttled");
    expect((error as DomainError).status).toBe(503);
    expect(pauses).toEqual([50, 100, 200, 400, 800]);
  });

  it("Given expired credentials, When the stack is created, Then the error names the profile, region and refused action", async () => {
    const { deps } = await harness();
    cfn
      .on(CreateStackCommand)
      .rejects(awsError("ExpiredToken", "The security token included in the request is expired"));

    const error = await createClusterStack(deps, INPUT).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe("provider.aws.credentials_expired");
    expect((error as DomainError).status).toBe(401);
    expect((error as DomainError).message).toBe(
      "the AWS credentials (profile ml-team, region eu-west-1) were refused for cloudformation:CreateStack: The security token included in the request is expired",
    );
    expect((error as DomainError).hint).toMatch(/^refresh them \(aws sso login --profile ml-team/);
  });

  it("Given an identity without the permission, When the stack is created, Then access denied names the action", async () => {
    const { deps } = await harness();
    cfn
      .on(CreateStackCommand)
      .rejects(
        awsError(
          "AccessDenied",
          "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: cloudformation:CreateStack",
        ),
      );

    const error = await createClusterStack(deps, INPUT).catch((caught: unknown) => caught);

    expect((error as DomainError).code).toBe("provider.aws.access_denied");
    expect((error as DomainError).status).toBe(403);
    expect((error as DomainError).message).toMatch(
      /^AWS denied cloudformation:CreateStack \(profile ml-team, region eu-west-1\): User: .* is not authorized/,
    );
    expect((error as DomainError).hint).toMatch(
      /^allow cloudformation:CreateStack for this identity/,
    );
  });

  it("Given a stack that does not exist, When described, Then the answer is undefined, not an error", async () => {
    const { deps } = await harness();
    cfn
      .on(DescribeStacksCommand)
      .rejects(awsError("ValidationError", "Stack with id axon-demo does not exist"));
    expect(await describeClusterStack(deps, "axon-demo")).toBeUndefined();
  });

  it("Given access keys from the environment that expired, Then the message says so and what to set", () => {
    const error = translateAwsError(
      awsError("ExpiredTokenException", "The security token included in the request is expired"),
      "cloudformation:DescribeStacks",
      { region: "us-east-1", profile: "default", keysFromEnvironment: true },
    );
    expect(error.message).toBe(
      "the AWS credentials (access keys from the environment, region us-east-1) were refused for cloudformation:DescribeStacks: The security token included in the request is expired",
    );
    expect(error.hint).toMatch(/^set fresh AWS_ACCESS_KEY_ID \/ AWS_SECRET_ACCESS_KEY/);
  });
});
