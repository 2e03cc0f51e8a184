/**
 * A deploy against the AWS rules fake (testing/fake-aws/RULES.md): the rules moto does not model
 * — ECS's rounding of deployment percentages, client-token reuse, which target group a listener
 * rule sends traffic to after a canary, the order of ListServiceDeployments. The fake is a test
 * double because no AWS account is reachable here; each rule it enforces cites AWS's page.
 */
import { readFileSync } from "node:fs";
import { parseApiConfig, type ApiSpec } from "@axon/config";
import { describe, expect, it } from "vitest";
import { deleteApiResources } from "./api-delete.js";
import { DomainError } from "../../errors.js";
import { deployApiResources, forwardedGroups } from "./api-deploy.js";
import { alternateTargetGroupName, targetGroupName, type EcsApiDeps } from "./api-names.js";
import { deploymentConfiguration, describeRolling, rollingPercents } from "./api-rollout.js";
import { latestServiceDeployment } from "./api-status.js";
import { fakeEcsDeps } from "./testing/fake-deps.js";
import { FakeAws, rollingCanMove } from "./testing/fake-aws/fake-aws.js";

const IRIS_YAML = readFileSync(
  new URL("../../../../../examples/iris-sklearn/axon.yaml", import.meta.url),
  "utf8",
);
const CLUSTER = "axon-demo";
const SHA = "d".repeat(64);

/** The iris example with `extra` appended (two-space lines add sections to the API). */
function exampleSpec(extra = ""): ApiSpec {
  const [spec] = parseApiConfig(`${IRIS_YAML.trimEnd()}\n${extra}`, "axon.yaml").apis;
  if (spec === undefined) throw new Error("the example has no API");
  return spec;
}

function harness(fake = new FakeAws()): { fake: FakeAws; deps: EcsApiDeps } {
  return { fake, deps: fakeEcsDeps(fake, CLUSTER) };
}

function request(spec: ApiSpec) {
  return {
    spec,
    bundleSha256: SHA,
    readBundle: () => Promise.resolve(new Uint8Array([1, 2, 3])),
    configFile: "axon.yaml",
  };
}

/** The same API with one more environment variable: a new task definition, a new roll. */
function changed(spec: ApiSpec, version: number): ApiSpec {
  return {
    ...spec,
    predictor: { ...spec.predictor, env: { ...spec.predictor.env, V: String(version) } },
  };
}

describe("rolling updates under ECS's rounding (RULES.md R1)", () => {
  it("Given the default 25%/25% and 1 to 4 replicas, When the API is rolled at each count, Then no deployment is stuck", async () => {
    // Given
    const { fake, deps } = harness();
    const spec = exampleSpec("  autoscaling:\n    min_replicas: 1\n    max_replicas: 4");
    await deployApiResources(deps, request(spec));
    // When
    const stuckAt: number[] = [];
    for (let replicas = 1; replicas <= 4; replicas += 1) {
      fake.scale(CLUSTER, "iris-classifier", replicas);
      await deployApiResources(deps, request(changed(spec, replicas)));
      if (fake.stuckDeployments(CLUSTER).length > 0) stuckAt.push(replicas);
    }
    // Then
    expect(stuckAt).toEqual([]);
  });

  it.each([
    ["25%", "25%", 1, 10],
    ["25%", "0", 2, 7],
    ["0", "25%", 1, 5],
    ["1", "0", 3, 9],
    ["0", "1", 2, 6],
    ["0", "10%", 1, 12],
    ["50%", "50%", 4, 12],
    ["2", "1", 1, 8],
  ])(
    "Given max_surge %s and max_unavailable %s with %i to %i replicas, When the percentages are computed, Then ECS can move at every count",
    (surge, unavailable, min, max) => {
      // Given
      const spec = exampleSpec(
        `  autoscaling:\n    min_replicas: ${min}\n    max_replicas: ${max}\n  update_strategy:\n    max_surge: ${surge}\n    max_unavailable: ${unavailable}`,
      );
      // When
      const { maximumPercent, minimumHealthyPercent } = rollingPercents(spec);
      // Then
      for (let n = min; n <= max; n += 1) {
        expect(rollingCanMove(n, maximumPercent, minimumHealthyPercent), `at ${n} replicas`).toBe(
          true,
        );
      }
    },
  );

  it("Given max_surge 1 and init_replicas 4 over min_replicas 2, When the configuration is computed, Then the count is one task at the smallest count, not a share of init_replicas", () => {
    // Given
    const spec = exampleSpec(
      "  autoscaling:\n    min_replicas: 2\n    init_replicas: 4\n    max_replicas: 6\n  update_strategy:\n    max_surge: 1\n    max_unavailable: 0",
    );
    // When
    const config = deploymentConfiguration(spec, harness().deps.refs);
    // Then: floor(2 × 150 / 100) = 3 = 2 + 1.
    expect(config).toMatchObject({ maximumPercent: 150, minimumHealthyPercent: 100 });
  });

  it("Given the defaults at one replica, When the roll is described, Then it says a new task starts before the old one stops", () => {
    // Given
    const spec = exampleSpec("  autoscaling:\n    min_replicas: 1\n    max_replicas: 4");
    // When
    const words = describeRolling(spec);
    // Then
    expect(words).toBe(
      "a roll starts up to 1 new task before stopping an old one (at 1 replica; larger steps with more)",
    );
  });
});

describe("CreateService's clientToken (RULES.md R7)", () => {
  it("Given an API deployed, deleted and drained, When the same spec is deployed again, Then CreateService is accepted", async () => {
    // Given
    const { fake, deps } = harness();
    const spec = exampleSpec();
    await deployApiResources(deps, request(spec));
    await deleteApiResources(deps, "iris-classifier");
    for (let poll = 0; poll < 5; poll += 1) await deps.ports.ecs.listTasks({ cluster: CLUSTER });
    // When
    const outcome = await deployApiResources(deps, request(spec));
    // Then
    expect(outcome.outcome).toBe("created");
    expect(fake.service(CLUSTER, "iris-classifier")?.status).toBe("ACTIVE");
  });

  it("Given a CreateService that AWS answered but the answer was lost, When the SDK resends the same request, Then the token makes it idempotent", async () => {
    // Given: the port is wrapped so the first call's answer is lost after AWS acted on it.
    const { fake, deps } = harness();
    const ecs = deps.ports.ecs;
    const createService = (input: Parameters<typeof ecs.createService>[0]) =>
      ecs.createService(input);
    const sent: string[] = [];
    deps.ports.ecs = { ...ecs };
    deps.ports.ecs.createService = async (input) => {
      sent.push(input.clientToken ?? "");
      if (sent.length === 1) {
        await createService(input);
        return createService(input); // the SDK's retry of the same request
      }
      return createService(input);
    };
    // When
    const outcome = await deployApiResources(deps, request(exampleSpec()));
    // Then
    expect(outcome.outcome).toBe("created");
    expect(sent[0]?.length).toBeLessThanOrEqual(36);
    expect(fake.calls.filter((call) => call === "ecs:CreateService")).toHaveLength(2);
  });
});

describe("leaving a canary for rolling updates", () => {
  it("Given a canary that finished with production on the alternate group, When the API switches to rolling, Then the rule sends traffic only to the group the service registers into", async () => {
    // Given
    const { fake, deps } = harness();
    const canary = exampleSpec(
      "  update_strategy:\n    canary:\n      traffic_percent: 10\n      bake_time: 5m",
    );
    await deployApiResources(deps, request(canary));
    const primary =
      (
        await deps.ports.elb.describeTargetGroups({
          Names: [targetGroupName(CLUSTER, "iris-classifier")],
        })
      ).TargetGroups?.[0]?.TargetGroupArn ?? "";
    const alternate =
      (
        await deps.ports.elb.describeTargetGroups({
          Names: [alternateTargetGroupName(CLUSTER, "iris-classifier")],
        })
      ).TargetGroups?.[0]?.TargetGroupArn ?? "";
    const [rule] = fake.listenerRules();
    // ECS shifted all traffic to the alternate group at the end of the canary.
    fake.setRuleWeights(rule?.RuleArn ?? "", { [primary]: 0, [alternate]: 100 });
    // When
    await deployApiResources(deps, request(exampleSpec()));
    // Then
    const service = fake.service(CLUSTER, "iris-classifier");
    const registersInto = (service?.loadBalancers ?? []).map((lb) => lb.targetGroupArn);
    const rules = fake.listenerRules();
    expect(rules).toHaveLength(1);
    const weighted = (rules[0]?.Actions ?? []).flatMap((action) =>
      action.ForwardConfig?.TargetGroups !== undefined
        ? action.ForwardConfig.TargetGroups.filter((g) => (g.Weight ?? 1) > 0).map(
            (g) => g.TargetGroupArn,
          )
        : [action.TargetGroupArn],
    );
    expect(weighted.length).toBeGreaterThan(0);
    for (const arn of weighted) expect(registersInto).toContain(arn);
    expect(forwardedGroups(rules[0] ?? {})).toEqual(registersInto);
  });
});

describe("the newest service deployment (ListServiceDeployments has no documented order)", () => {
  it("Given seven deployments listed oldest first, When the newest is asked for, Then it is the last one made, not the newest of the first page", async () => {
    // Given
    const { fake, deps } = harness();
    const serviceArn = "arn:aws:ecs:us-east-1:123456789012:service/axon-demo/iris-classifier";
    for (let i = 1; i <= 7; i += 1) {
      fake.addServiceDeployment(serviceArn, {
        serviceDeploymentArn: `${serviceArn}/deployment-${i}`,
        serviceArn,
        status: i === 7 ? "IN_PROGRESS" : "SUCCESSFUL",
        createdAt: new Date(Date.UTC(2026, 0, 1, 0, i)),
      });
    }
    // When
    const newest = await latestServiceDeployment(deps, serviceArn);
    // Then
    expect(newest?.serviceDeploymentArn).toBe(`${serviceArn}/deployment-7`);
  });
});

describe("the load balancer's idle timeout against predictor.timeout (ALB: 1-4000 s)", () => {
  it("Given an API whose predictor.timeout is 30m, When deployed, Then the idle timeout covers it, and a later API with a shorter timeout does not lower it", async () => {
    // Given
    const { fake, deps } = harness();
    const slow = exampleSpec("    timeout: 30m");
    // When
    await deployApiResources(deps, request(slow));
    await deployApiResources(deps, request({ ...exampleSpec(), name: "quick" }));
    // Then
    expect(fake.idleTimeout).toBe(1810);
  });

  it("Given a predictor.timeout of 2h, When deployed, Then api.timeout_too_long names the field and no AWS call is made", async () => {
    // Given
    const { fake, deps } = harness();
    // When
    const failure = await deployApiResources(deps, request(exampleSpec("    timeout: 2h"))).catch(
      (error: unknown) => error,
    );
    // Then
    expect(failure).toBeInstanceOf(DomainError);
    expect((failure as DomainError).code).toBe("api.timeout_too_long");
    expect((failure as DomainError).message).toContain(
      "iris-classifier.predictor.timeout is 7200s",
    );
    expect(fake.calls).toEqual([]);
  });
});

describe("the deploy's progress lines (issue 28 item 5)", () => {
  it("Given a project the control plane already had, When deployed to a new cluster, Then the copy to the cluster's bucket says where it came from and where it went", async () => {
    // Given
    const { deps } = harness();
    const progress: string[] = [];
    deps.onProgress = (message) => progress.push(message);
    // When
    await deployApiResources(deps, request(exampleSpec()));
    // Then
    expect(progress).toContain(
      `copied the project (${SHA.slice(0, 12)}, 3 B) from the control plane to bucket axon-demo-bundles`,
    );
    expect(progress.join("\n")).not.toMatch(/uploaded/);
  });
});
