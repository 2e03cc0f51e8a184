/**
 * What moto cannot show about an API's versions: ListTaskDefinitions pages (moto ignores
 * maxResults and answers everything at once, shared/reference/moto.md). ECSClient's `send` is
 * mocked with aws-sdk-client-mock and reached through the same `connectAws` port the daemon uses.
 */
import { ECSClient, ListTaskDefinitionsCommand } from "@aws-sdk/client-ecs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { connectAws } from "./sdk.js";

const ecs = mockClient(ECSClient);
afterEach(() => ecs.reset());

const arn = (revision: number): string =>
  `arn:aws:ecs:eu-west-1:123456789012:task-definition/axon-demo-iris:${revision}`;

describe("the ECS port's ListTaskDefinitions, all pages", () => {
  it("Given three pages, the middle one empty with a token, When every ARN is asked for, Then the port follows nextToken to the end and keeps the filter on every page", async () => {
    // Given
    ecs
      .on(ListTaskDefinitionsCommand)
      .resolvesOnce({ taskDefinitionArns: [arn(5), arn(4)], nextToken: "t1" })
      .resolvesOnce({ taskDefinitionArns: [], nextToken: "t2" })
      .resolvesOnce({ taskDefinitionArns: [arn(3)] });
    const ports = await connectAws("eu-west-1");
    // When
    const arns = await ports.ecs.listAllTaskDefinitionArns({
      familyPrefix: "axon-demo-iris",
      status: "ACTIVE",
      sort: "DESC",
    });
    // Then
    expect(arns).toEqual([arn(5), arn(4), arn(3)]);
    const inputs = ecs.commandCalls(ListTaskDefinitionsCommand).map((call) => call.args[0].input);
    expect(inputs).toEqual([
      { familyPrefix: "axon-demo-iris", status: "ACTIVE", sort: "DESC" },
      { familyPrefix: "axon-demo-iris", status: "ACTIVE", sort: "DESC", nextToken: "t1" },
      { familyPrefix: "axon-demo-iris", status: "ACTIVE", sort: "DESC", nextToken: "t2" },
    ]);
  });
});
