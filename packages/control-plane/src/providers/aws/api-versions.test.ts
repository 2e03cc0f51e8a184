/**
 * An API's versions and rollback on a real moto server (shared/reference/moto.md), on a cluster
 * stack made by `cluster up`'s own code, with revisions registered by the real deploy
 * (`deployApiResources`). moto records UpdateService's task definition but starts no deployment,
 * so what is checked is what ECS is asked to run and what the service is tagged with. The
 * ListTaskDefinitions pages (moto ignores maxResults) are api-versions-mocked.test.ts's.
 */
import { specHash, type ApiSpec } from "@axon/config";
import { afterAll, describe, expect, it } from "vitest";
import { apiSpec } from "../../testing/specs.js";
import { DomainError } from "../../errors.js";
import { deployApiResources } from "./api-deploy.js";
import { API_TAGS, serviceName, taskFamily, type EcsApiDeps } from "./api-names.js";
import {
  listAwsApiVersions,
  rollbackAwsApi,
  ROLLBACK_ENDPOINT_CHANGED,
  ROLLBACK_NO_VERSION,
  ROLLBACK_REVISION_INACTIVE,
} from "./api-versions.js";
import { createMotoCluster, type MotoCluster } from "./testing/moto-cluster.js";
import { motoAvailable, startMoto, type MotoServer } from "./testing/moto-server.js";

const HAS_MOTO = motoAvailable();
let moto: MotoServer | undefined;
afterAll(async () => {
  await moto?.stop();
});

const SHA = ["a", "b", "c", "d"].map((letter) => letter.repeat(64));
const MUTATING = /:(Create|Register|Update|Put|Modify|Delete|Deregister|Tag)/;

async function freshCluster(): Promise<{ cluster: MotoCluster; deps: EcsApiDeps }> {
  moto ??= await startMoto();
  await moto.reset();
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

/** Deploys `spec` with bundle `sha` through the real deploy; returns the task definition ARN. */
async function deploy(deps: EcsApiDeps, spec: ApiSpec, sha: string): Promise<string> {
  const outcome = await deployApiResources(deps, {
    spec,
    bundleSha256: sha,
    readBundle: () => Promise.resolve(new Uint8Array(1024)),
    configFile: "axon.yaml",
  });
  return outcome.taskDefinitionArn;
}

/** Deploys `iris` three times (bundles a, b, c): revisions 1, 2, 3. */
async function threeRevisions(deps: EcsApiDeps): Promise<ApiSpec> {
  const spec = apiSpec("iris");
  for (const sha of SHA.slice(0, 3)) await deploy(deps, spec, sha);
  return spec;
}

async function serviceOf(cluster: MotoCluster, name: string) {
  const described = await cluster.ports.ecs.describeServices({
    cluster: cluster.refs.clusterName,
    services: [serviceName(name)],
    include: ["TAGS"],
  });
  const service = described.services?.[0];
  return {
    taskDefinition: service?.taskDefinition ?? "",
    tags: Object.fromEntries((service?.tags ?? []).map((tag) => [tag.key, tag.value])),
  };
}

function codeOf(error: unknown): string {
  return error instanceof DomainError ? error.code : String(error);
}

describe.skipIf(!HAS_MOTO)("an API's versions on ECS (skipped when python3 has no moto)", () => {
  it("Given iris deployed three times and an API iris-v2 whose family shares the prefix, When its versions are listed, Then they are iris's three revisions newest first, each with its bundle and spec hash, the third current", async () => {
    // Given
    const { deps } = await freshCluster();
    const spec = await threeRevisions(deps);
    await deploy(deps, apiSpec("iris-v2"), SHA[3] ?? "");
    // When
    const versions = await listAwsApiVersions(deps, "iris");
    // Then
    expect(versions.map((v) => [v.revision, v.bundle, v.current, v.status])).toEqual([
      [3, SHA[2], true, "ACTIVE"],
      [2, SHA[1], false, "ACTIVE"],
      [1, SHA[0], false, "ACTIVE"],
    ]);
    expect(versions.every((v) => v.specHash === specHash(spec))).toBe(true);
    expect(versions[0]?.endpoint).toBe("/iris");
    expect(versions[0]?.taskDefinitionArn).toMatch(/task-definition\/axon-demo-iris:3$/);
    // moto's one deployment runs the revision the service was created with.
    expect(versions.filter((v) => v.serving).map((v) => v.revision)).toEqual([1]);
  });

  it("Given iris at revision 3, When versions are listed with limit 2, Then only the two newest are described", async () => {
    // Given
    const { deps, cluster } = await freshCluster();
    await threeRevisions(deps);
    cluster.calls.length = 0;
    // When
    const versions = await listAwsApiVersions(deps, "iris", { limit: 2 });
    // Then
    expect(versions.map((v) => v.revision)).toEqual([3, 2]);
    expect(cluster.calls.filter((call) => call === "ecs:DescribeTaskDefinition")).toHaveLength(2);
  });

  it("Given no API named nope, When its versions are listed, Then the answer is api.not_found", async () => {
    const { deps } = await freshCluster();
    await expect(listAwsApiVersions(deps, "nope")).rejects.toMatchObject({
      code: "api.not_found",
      status: 404,
    });
  });
});

describe.skipIf(!HAS_MOTO)("rollback of an API on ECS (skipped when python3 has no moto)", () => {
  it("Given iris at revision 3, When rolled back with no revision, Then the service runs revision 2, tagged with its bundle and a hash no deploy makes, and a redeploy of revision 3's config is applied again", async () => {
    // Given
    const { deps, cluster } = await freshCluster();
    const spec = await threeRevisions(deps);
    const progress: string[] = [];
    // When
    const outcome = await rollbackAwsApi(
      { ...deps, onProgress: (line) => progress.push(line) },
      "iris",
    );
    // Then
    expect(outcome).toMatchObject({ from: 3, to: 2, outcome: "updated" });
    const service = await serviceOf(cluster, "iris");
    expect(service.taskDefinition).toMatch(/axon-demo-iris:2$/);
    expect(service.tags[API_TAGS.bundle]).toBe(SHA[1]);
    expect(service.tags[API_TAGS.specHash]).toBe("rolled-back-to-revision-2");
    expect(progress).toEqual([
      "updated service iris from task definition revision 3 to 2: ECS rolls it out",
    ]);
    const versions = await listAwsApiVersions(deps, "iris");
    expect(versions.find((v) => v.current)?.revision).toBe(2);

    // And the config of revision 3 deployed again is not "unchanged": it becomes revision 4.
    const redeployed = await deploy(deps, spec, SHA[2] ?? "");
    expect(redeployed).toMatch(/axon-demo-iris:4$/);
    expect((await serviceOf(cluster, "iris")).taskDefinition).toBe(redeployed);
  });

  it("Given iris rolled back to revision 1, When rolled back to 1 again, Then it is unchanged and no mutating call is made", async () => {
    // Given
    const { deps, cluster } = await freshCluster();
    await threeRevisions(deps);
    await rollbackAwsApi(deps, "iris", 1);
    cluster.calls.length = 0;
    // When
    const outcome = await rollbackAwsApi(deps, "iris", 1);
    // Then
    expect(outcome).toMatchObject({ from: 1, to: 1, outcome: "unchanged" });
    expect(cluster.calls.filter((call) => MUTATING.test(call))).toEqual([]);
  });

  it("Given iris at revision 3 whose revision 1 was deregistered, When rolled back to 1, to 9, and (from 2 with 1 gone) to the previous one, Then each is refused naming the revisions that exist, and nothing changes", async () => {
    // Given
    const { deps, cluster } = await freshCluster();
    await threeRevisions(deps);
    const family = taskFamily(cluster.refs.clusterName, "iris");
    await cluster.ports.ecs.deregisterTaskDefinition({ taskDefinition: `${family}:1` });
    cluster.calls.length = 0;
    // When
    const inactive = await rollbackAwsApi(deps, "iris", 1).catch((error: unknown) => error);
    const missing = await rollbackAwsApi(deps, "iris", 9).catch((error: unknown) => error);
    // Then
    expect(codeOf(inactive)).toBe(ROLLBACK_REVISION_INACTIVE);
    expect(inactive).toMatchObject({
      status: 409,
      message: "revision 1 of iris was deregistered (INACTIVE): ECS cannot run it again",
      hint: "revisions of iris: 3 (current), 2 (axon get iris --env prod shows them)",
    });
    expect(codeOf(missing)).toBe(ROLLBACK_NO_VERSION);
    expect(missing).toMatchObject({ status: 404, message: "iris has no revision 9" });
    expect(cluster.calls.filter((call) => MUTATING.test(call))).toEqual([]);
    expect((await serviceOf(cluster, "iris")).taskDefinition).toMatch(/axon-demo-iris:3$/);

    // And from revision 2, with revision 1 gone, there is nothing older to go back to.
    await rollbackAwsApi(deps, "iris");
    const none = await rollbackAwsApi(deps, "iris").catch((error: unknown) => error);
    expect(codeOf(none)).toBe(ROLLBACK_NO_VERSION);
    expect(none).toMatchObject({ message: "iris has no revision older than 2 to roll back to" });
  });

  it("Given iris moved from /iris to /predict in revision 2, When rolled back to revision 1, Then it is refused: the route would not follow", async () => {
    // Given
    const { deps, cluster } = await freshCluster();
    await deploy(deps, apiSpec("iris"), SHA[0] ?? "");
    await deploy(deps, apiSpec("iris", "  networking:\n    endpoint: /predict\n"), SHA[0] ?? "");
    cluster.calls.length = 0;
    // When
    const refused = await rollbackAwsApi(deps, "iris").catch((error: unknown) => error);
    // Then
    expect(codeOf(refused)).toBe(ROLLBACK_ENDPOINT_CHANGED);
    expect(refused).toMatchObject({
      status: 409,
      message:
        "revision 1 of iris serves /iris, but the load balancer routes /predict to it now: a rollback changes only the task definition",
    });
    expect(cluster.calls.filter((call) => MUTATING.test(call))).toEqual([]);
  });
});
