/**
 * An API's resources on a real moto server (shared/reference/moto.md), on a cluster stack made by
 * `cluster up`'s own code: deploy, redeploy, unchanged redeploy, delete beside a second API, and
 * sizes refused before any call. What moto does not store (deploymentConfiguration, canaries) is
 * covered by api-deploy-mocked.test.ts.
 */
import { readFileSync } from "node:fs";
import {
  DescribeTaskDefinitionCommand,
  ECSClient,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import {
  DescribeTargetGroupAttributesCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { parseApiConfig, type ApiSpec } from "@axon/config";
import { afterAll, describe, expect, it } from "vitest";
import { REPLICA_ENV, bundleKey } from "./replica-env.js";
import { DomainError } from "../../errors.js";
import { deleteApiResources } from "./api-delete.js";
import { deployApiResources, type ApiDeployRequest } from "./api-deploy.js";
import { targetGroupName, taskFamily, type EcsApiDeps } from "./api-names.js";
import { createMotoCluster, MOTO_IMAGE, type MotoCluster } from "./testing/moto-cluster.js";
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
const SHA_A = "a".repeat(64);
const SHA_B = "b".repeat(64);
const MUTATING = /:(Create|Register|Update|Put|Modify|Delete|Deregister|Tag)/;

/**
 * The iris example's spec, renamed to `name`, with `extra` appended: the file ends inside
 * `predictor`, so four-space lines extend the predictor and two-space lines add sections.
 */
function exampleSpec(name = "iris-classifier", extra = ""): ApiSpec {
  const yaml = `${IRIS_YAML.replace("name: iris-classifier", `name: ${name}`).trimEnd()}\n${extra}`;
  const [spec] = parseApiConfig(yaml, "axon.yaml").apis;
  if (spec === undefined) throw new Error("the example has no API");
  return spec;
}

async function freshCluster(): Promise<{
  cluster: MotoCluster;
  deps: EcsApiDeps;
  progress: string[];
}> {
  moto ??= await startMoto();
  await moto.reset();
  const cluster = await createMotoCluster(moto);
  const progress: string[] = [];
  return {
    cluster,
    progress,
    deps: {
      ports: cluster.ports,
      refs: cluster.refs,
      target: cluster.ports.target,
      signal: new AbortController().signal,
      pollMs: 20,
      onProgress: (line) => progress.push(line),
    },
  };
}

function request(spec: ApiSpec, bundleSha256 = SHA_A): ApiDeployRequest {
  return {
    spec,
    bundleSha256,
    readBundle: () => Promise.resolve(new Uint8Array(12 * 1024)),
    configFile: "axon.yaml",
  };
}

/** Plain SDK clients on the moto server, for looking at what the deploy left. */
function rawClients(server: MotoServer): {
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  s3: S3Client;
} {
  const config = {
    region: "us-east-1",
    endpoint: server.url,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    maxAttempts: 1,
  };
  return {
    ecs: new ECSClient(config),
    elb: new ElasticLoadBalancingV2Client(config),
    s3: new S3Client({ ...config, forcePathStyle: true }),
  };
}

/** What of an API is left in the account: ACTIVE revisions, rules, target groups, services, bundles. */
async function resourcesOf(
  cluster: MotoCluster,
  apiName: string,
): Promise<Record<string, string[]>> {
  const { ports, refs } = cluster;
  const family = taskFamily(refs.clusterName, apiName);
  const revisions = await ports.ecs.listTaskDefinitions({ familyPrefix: family, status: "ACTIVE" });
  const groupName = targetGroupName(refs.clusterName, apiName);
  const groups = await ports.elb.describeTargetGroups({}).catch(() => ({ TargetGroups: [] }));
  const groupArns = (groups.TargetGroups ?? [])
    .filter((group) => group.TargetGroupName === groupName)
    .map((group) => group.TargetGroupArn ?? "");
  const rules = await ports.elb.describeRules({ ListenerArn: refs.listenerArn });
  const services = await ports.ecs.describeServices({
    cluster: refs.clusterName,
    services: [apiName],
  });
  const objects = await ports.s3.listObjectsV2({ Bucket: refs.bucketName });
  return {
    revisions: revisions.taskDefinitionArns ?? [],
    targetGroups: groupArns,
    rules: (rules.Rules ?? [])
      .filter((rule) =>
        (rule.Actions ?? []).some((action) => groupArns.includes(action.TargetGroupArn ?? "")),
      )
      .map((rule) => rule.RuleArn ?? ""),
    services: (services.services ?? [])
      .filter((service) => service.status === "ACTIVE")
      .map((service) => service.serviceName ?? ""),
    bundles: (objects.Contents ?? []).map((object) => object.Key ?? ""),
  };
}

describe.skipIf(!HAS_MOTO)("APIs on ECS against moto (skipped when python3 has no moto)", () => {
  it("Given a cluster and the iris example, When deployed, Then the task definition, target group, rule and service are as the spec says", async () => {
    // Given
    const { cluster, deps, progress } = await freshCluster();
    const spec = exampleSpec(
      "iris-classifier",
      "    env:\n      MODEL: iris\n  compute:\n    cpu: 1\n    mem: 3Gi",
    );
    // When
    const outcome = await deployApiResources(deps, request(spec));
    // Then
    expect(outcome).toMatchObject({
      outcome: "created",
      endpointUrl: `http://${cluster.refs.loadBalancerDnsName}/iris-classifier`,
    });
    const raw = rawClients(moto as MotoServer);
    const described = await raw.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: outcome.taskDefinitionArn }),
    );
    const definition = described.taskDefinition;
    expect(definition).toMatchObject({
      family: "axon-demo-iris-classifier",
      cpu: "1024",
      memory: "3072",
      networkMode: "awsvpc",
    });
    const container = definition?.containerDefinitions?.[0];
    expect(container?.image).toBe(MOTO_IMAGE);
    expect(container?.logConfiguration).toMatchObject({
      logDriver: "awslogs",
      options: {
        "awslogs-group": cluster.refs.logGroupName,
        "awslogs-region": "us-east-1",
        "awslogs-stream-prefix": "iris-classifier",
      },
    });
    const env = Object.fromEntries((container?.environment ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ MODEL: "iris", [REPLICA_ENV.bundle]: SHA_A });

    const groupName = targetGroupName(cluster.refs.clusterName, "iris-classifier");
    const groups = await cluster.ports.elb.describeTargetGroups({ Names: [groupName] });
    const group = groups.TargetGroups?.[0];
    expect(group).toMatchObject({
      TargetType: "ip",
      Protocol: "HTTP",
      Port: 8080,
      VpcId: cluster.refs.vpcId,
      HealthCheckPath: "/healthz",
      Matcher: { HttpCode: "200" },
    });
    const attributes = await raw.elb.send(
      new DescribeTargetGroupAttributesCommand({ TargetGroupArn: group?.TargetGroupArn }),
    );
    expect(
      attributes.Attributes?.find((a) => a.Key === "deregistration_delay.timeout_seconds")?.Value,
    ).toBe("60");

    const rules = await cluster.ports.elb.describeRules({ ListenerArn: cluster.refs.listenerArn });
    const rule = rules.Rules?.find((r) => r.Actions?.[0]?.TargetGroupArn === group?.TargetGroupArn);
    expect(
      rule?.Conditions?.[0]?.PathPatternConfig?.Values ?? rule?.Conditions?.[0]?.Values,
    ).toEqual(["/iris-classifier"]);

    const services = await cluster.ports.ecs.describeServices({
      cluster: cluster.refs.clusterName,
      services: ["iris-classifier"],
      include: ["TAGS"],
    });
    const service = services.services?.[0];
    expect(service).toMatchObject({
      status: "ACTIVE",
      desiredCount: 1,
      taskDefinition: outcome.taskDefinitionArn,
      loadBalancers: [
        { targetGroupArn: group?.TargetGroupArn, containerName: "replica", containerPort: 8080 },
      ],
    });
    const tags = Object.fromEntries((service?.tags ?? []).map((t) => [t.key, t.value]));
    expect(tags).toMatchObject({
      "axon:api": "iris-classifier",
      "axon:cluster": "demo",
      "axon:env": "prod",
      "axon:bundle": SHA_A,
      "axon:config-file": "axon.yaml",
    });
    expect(tags["axon:spec-hash"]).toMatch(/^[0-9a-f]{64}$/);
    expect(progress).toEqual(
      expect.arrayContaining([
        `copied the project (aaaaaaaaaaaa, 12 KB) from the control plane to bucket ${cluster.refs.bucketName}`,
        "registered task definition axon-demo-iris-classifier:1",
        "created service iris-classifier (rolling, max 200% / min 75%)",
      ]),
    );
  });

  it("Given a deployed API scaled to 3, When redeployed changed and then unchanged, Then one new revision, the count kept, and no mutating call the second time", async () => {
    // Given
    const { cluster, deps } = await freshCluster();
    await deployApiResources(deps, request(exampleSpec()));
    const raw = rawClients(moto as MotoServer);
    await raw.ecs.send(
      new UpdateServiceCommand({
        cluster: cluster.refs.clusterName,
        service: "iris-classifier",
        desiredCount: 3,
      }),
    );
    // When the spec changes
    cluster.calls.length = 0;
    const changed = exampleSpec("iris-classifier", "    env:\n      MODEL: v2");
    const updated = await deployApiResources(deps, request(changed));
    // Then exactly one new revision, and the service runs it at the count autoscaling set
    expect(updated.outcome).toBe("updated");
    expect(cluster.calls.filter((call) => call === "ecs:RegisterTaskDefinition")).toHaveLength(1);
    expect(cluster.calls.filter((call) => call.endsWith(":CreateService"))).toEqual([]);
    expect(cluster.calls.filter((call) => call.endsWith(":PutObject"))).toEqual([]);
    const left = await resourcesOf(cluster, "iris-classifier");
    expect(left.revisions).toHaveLength(2);
    expect(left.rules).toHaveLength(1);
    const services = await cluster.ports.ecs.describeServices({
      cluster: cluster.refs.clusterName,
      services: ["iris-classifier"],
    });
    expect(services.services?.[0]).toMatchObject({
      desiredCount: 3,
      taskDefinition: updated.taskDefinitionArn,
    });
    expect(updated.taskDefinitionArn).toMatch(/:2$/);

    // When the same spec is deployed again
    cluster.calls.length = 0;
    const again = await deployApiResources(deps, request(changed));
    // Then nothing is changed, by read calls only
    expect(again).toMatchObject({
      outcome: "unchanged",
      taskDefinitionArn: updated.taskDefinitionArn,
    });
    expect(cluster.calls.length).toBeGreaterThan(0);
    expect(cluster.calls.filter((call) => MUTATING.test(call))).toEqual([]);
  });

  it("Given two APIs sharing a bundle, When one is deleted, Then nothing of it is left, the other's resources and the shared bundle stay, and a second delete says absent", async () => {
    // Given
    const { cluster, deps } = await freshCluster();
    await deployApiResources(deps, request(exampleSpec("iris-classifier"), SHA_A));
    await deployApiResources(deps, request(exampleSpec("iris-v2"), SHA_A));
    await deployApiResources(
      deps,
      request(exampleSpec("iris-classifier", "    env:\n      X: y"), SHA_B),
    );
    const otherBefore = await resourcesOf(cluster, "iris-v2");
    // When
    const outcome = await deleteApiResources(deps, "iris-classifier");
    // Then
    expect(outcome).toBe("deleted");
    const gone = await resourcesOf(cluster, "iris-classifier");
    expect({ ...gone, bundles: [] }).toEqual({
      revisions: [],
      targetGroups: [],
      rules: [],
      services: [],
      bundles: [],
    });
    // Bundle b was iris-classifier's alone; bundle a still runs iris-v2.
    expect(gone.bundles).toEqual([bundleKey(SHA_A)]);
    expect(await resourcesOf(cluster, "iris-v2")).toEqual({
      ...otherBefore,
      bundles: [bundleKey(SHA_A)],
    });
    expect(await deleteApiResources(deps, "iris-classifier")).toBe("absent");

    // And deleting the last user of a bundle removes it
    expect(await deleteApiResources(deps, "iris-v2")).toBe("deleted");
    const objects = await rawClients(moto as MotoServer).s3.send(
      new ListObjectsV2Command({ Bucket: cluster.refs.bucketName }),
    );
    expect(objects.Contents ?? []).toEqual([]);
  });

  it("Given a deploy that stopped after its target group and rule, When deployed again, Then the same group and rule are reused and the service is created", async () => {
    // Given: a first attempt whose CreateService call failed
    const { cluster, deps } = await freshCluster();
    const broken: EcsApiDeps = {
      ...deps,
      ports: {
        ...cluster.ports,
        ecs: {
          ...cluster.ports.ecs,
          createService: () => Promise.reject(new Error("connection reset")),
        },
      },
    };
    await expect(deployApiResources(broken, request(exampleSpec()))).rejects.toThrow(DomainError);
    const groupsBefore = await cluster.ports.elb.describeTargetGroups({});
    // When
    const outcome = await deployApiResources(deps, request(exampleSpec()));
    // Then no duplicate groups or rules for the API (the failed attempt had made them)
    expect(outcome.outcome).toBe("created");
    const groupsAfter = await cluster.ports.elb.describeTargetGroups({});
    expect(groupsAfter.TargetGroups?.length).toBe(groupsBefore.TargetGroups?.length);
    const left = await resourcesOf(cluster, "iris-classifier");
    expect(left.targetGroups).toHaveLength(1);
    expect(left.rules).toHaveLength(1);
    expect(left.services).toEqual(["iris-classifier"]);
  });

  it.each([
    ["  compute:\n    cpu: 32", "iris-classifier.compute.cpu"],
    ["  compute:\n    mem: 200Gi", "iris-classifier.compute.mem"],
    ["  compute:\n    gpu: 1", "iris-classifier.compute.gpu"],
  ])(
    "Given %j, When deployed, Then api.fargate_size names %s before any AWS call",
    async (extra, field) => {
      // Given
      const { cluster, deps } = await freshCluster();
      // When
      const attempt = deployApiResources(deps, request(exampleSpec("iris-classifier", extra)));
      // Then
      await expect(attempt).rejects.toMatchObject({ code: "api.fargate_size", status: 400 });
      await attempt.catch((error: unknown) => {
        expect((error as DomainError).message).toContain(field);
      });
      expect(cluster.calls).toEqual([]);
    },
  );
});
