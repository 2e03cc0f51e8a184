/**
 * The deploy plan applied by the ECS engine, on a real moto server with a cluster stack made by
 * `cluster up`'s own code: the rules the local engine always had (an endpoint is one API's; a
 * change to an API still rolling out needs --force) now hold on ECS too, and knob warnings come
 * from the fields the user wrote, not a text search of the config.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { create } from "tar";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { BundleStore } from "../bundles/bundle-store.js";
import type { DeployRequest, ErrorBody } from "../contract/index.js";
import { DomainError, toErrorBody } from "../errors.js";
import { createMotoCluster, MOTO_IMAGE } from "../providers/aws/testing/moto-cluster.js";
import { motoAvailable, startMoto, type MotoServer } from "../providers/aws/testing/moto-server.js";
import { StateStore } from "../state/store.js";
import { API_UPDATING, CONFIG_ENDPOINT_TAKEN, planDeploy } from "../services/deploy-plan.js";
import type { ApiEngine } from "./api-engine.js";
import { engineFor, type EngineContext } from "./engine-for.js";

const HAS_MOTO = motoAvailable();
let moto: MotoServer | undefined;
afterAll(async () => {
  await moto?.stop();
});
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Prod {
  engine: ApiEngine;
  bundles: BundleStore;
  bundle: string;
}

/** A fresh moto cluster registered as environment `prod`, and its engine, with one bundle. */
async function prod(): Promise<Prod> {
  moto ??= await startMoto();
  await moto.reset();
  const cluster = await createMotoCluster(moto);
  const home = tempDir("axon-ecs-engine-");
  const store = StateStore.open(path.join(home, "state.db"));
  cleanups.push(() => store.close());
  store.putEnvironment(
    {
      name: "prod",
      provider: "aws",
      region: "us-east-1",
      stackName: "axon-demo",
      clusterName: null,
      configFile: null,
      configYaml: null,
    },
    new Date(),
  );
  const bundles = new BundleStore(home, store);
  const project = tempDir("axon-ecs-project-");
  writeFileSync(
    path.join(project, "predictor.py"),
    "class PythonPredictor:\n    def __init__(self, config):\n        pass\n\n    def predict(self, payload):\n        return payload\n",
  );
  const archive = path.join(tempDir("axon-ecs-archive-"), "project.tar.gz");
  create({ gzip: true, file: archive, cwd: project, sync: true, portable: true }, ["predictor.py"]);
  const bytes = readFileSync(archive);
  const bundle = createHash("sha256").update(bytes).digest("hex");
  await bundles.receive(bundle, Readable.from([bytes]));
  // The local engine's parts are never reached for an AWS environment.
  const context = { store, bundles, connect: () => Promise.resolve(cluster.ports) };
  const engine = engineFor(context as unknown as EngineContext, {
    headers: { "axon-env": "prod" },
  });
  return { engine, bundles, bundle };
}

function api(name: string, extra = ""): string {
  return `- name: ${name}\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n${extra}`;
}

async function deploy(
  target: Prod,
  config: string,
  options: Partial<DeployRequest> = {},
): Promise<Awaited<ReturnType<ApiEngine["deploy"]>>> {
  const request: DeployRequest = {
    config,
    configFileName: "axon.yaml",
    bundle: target.bundle,
    ...options,
  };
  const plan = await planDeploy(target, target.engine, request);
  return target.engine.deploy(plan, { signal: AbortSignal.timeout(120_000) });
}

async function refusal(work: Promise<unknown>): Promise<ErrorBody & { status: number }> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DomainError);
  const { status, body } = toErrorBody(error);
  return { ...body, status };
}

describe.skipIf(!HAS_MOTO)(
  "the deploy plan on ECS (moto; skipped when python3 has no moto)",
  () => {
    test("a change to an API still rolling out is refused without --force, and goes through with it", async () => {
      // Given iris deployed to prod, its first rollout not complete (moto runs no task)
      const target = await prod();
      expect((await deploy(target, api("iris"))).results[0]?.outcome).toBe("created");
      expect((await target.engine.deployed()).map((d) => [d.name, d.rollingOut])).toEqual([
        ["iris", true],
      ]);

      // When a changed config is deployed without --force
      const changed = api("iris", "  compute:\n    cpu: 2\n");
      const refused = await refusal(deploy(target, changed));
      // Then it is refused as locally (deployToAws used to ignore force and replace the rollout)
      expect(refused).toMatchObject({ status: 409, code: API_UPDATING });
      expect(refused.message).toMatch(
        /^iris is updating \(override with --force\): its version revision 1 is still rolling out/,
      );

      // And an unchanged deploy is never refused, and --force replaces the rollout
      expect((await deploy(target, api("iris"))).results[0]?.outcome).toBe("unchanged");
      expect((await deploy(target, changed, { force: true })).results[0]?.outcome).toBe("updated");
    }, 120_000);

    test("an endpoint another API of the environment serves is refused, naming that API", async () => {
      // Given iris serving /iris on prod
      const target = await prod();
      await deploy(target, api("iris"));

      // When another API asks for the same endpoint
      const refused = await refusal(
        deploy(target, api("other", "  networking:\n    endpoint: /iris/\n")),
      );
      // Then the plan refuses it (ensureRule used to take the next priority: two rules, one lost)
      expect(refused).toMatchObject({ status: 400, code: CONFIG_ENDPOINT_TAKEN });
      expect(refused.message).toBe(
        "axon.yaml: other: networking.endpoint /iris is already used by api iris in environment prod",
      );
      expect(refused.hint).toContain("axon delete iris --env prod");
      expect((await target.engine.list()).apis.map((summary) => summary.name)).toEqual(["iris"]);
    }, 120_000);

    test("knob warnings name only the autoscaling fields the user wrote, not words in the text", async () => {
      // Given a config whose comment and endpoint say "window", and that sets max_upscale_factor
      const target = await prod();
      const config = `# the window of this API is the default\n${api(
        "iris",
        "  networking:\n    endpoint: /window\n  autoscaling:\n    max_upscale_factor: 3\n",
      )}`;

      // When it is deployed
      const { warnings } = await deploy(target, config);

      // Then only the knob it set is warned about (a text search also found `window`)
      expect(warnings.map((warning) => warning.message.split(" ")[0])).toEqual([
        "max_upscale_factor",
      ]);
      expect(warnings[0]?.path).toBe("iris.autoscaling.max_upscale_factor");

      // And get shows the same one knob note (not the five defaults), and the runtime ECS runs
      const detail = await target.engine.describe("iris", {});
      expect(detail.notes?.filter((note) => / has no AWS setting/.test(note))).toEqual([
        expect.stringMatching(/^max_upscale_factor 3 has no AWS setting/),
      ]);
      expect(detail.runtime).toEqual({
        engine: "ecs",
        image: MOTO_IMAGE,
        fargate: { vcpu: 0.25, memoryGb: 0.5 },
        taskDefinitionRevision: 1,
        // moto keeps no default capacity provider strategy from the stack (AWS does)
        capacityProviders: [],
      });
      expect(detail.versions).toEqual([]);
    }, 120_000);
  },
);

describe.skipIf(!HAS_MOTO)("TrafficSplitter on the ECS engine (moto)", () => {
  const splitter = (apis: string[], weights: number[]): string =>
    `- name: split\n  kind: TrafficSplitter\n  endpoint: /split\n  apis:\n${apis
      .map((name, index) => `    - name: ${name}\n      weight: ${weights[index] ?? 0}\n`)
      .join("")}`;

  test("a Cortex 0.20 config of two APIs and a 70/30 splitter deploys unchanged; get lists it; the APIs it uses cannot be deleted until it is", async () => {
    // Given prod, When the config is deployed
    const target = await prod();
    const config = `${api("iris-a")}${api("iris-b")}${splitter(["iris-a", "iris-b"], [70, 30])}`;
    const { results } = await deploy(target, config);
    // Then the splitter comes after its APIs
    expect(results.map((r) => [r.api, r.kind, r.outcome])).toEqual([
      ["iris-a", "RealtimeAPI", "created"],
      ["iris-b", "RealtimeAPI", "created"],
      ["split", "TrafficSplitter", "created"],
    ]);
    expect(results[2]?.endpoint).toMatch(/^http:\/\/.+\/split$/);
    // And get lists it with its weights, read back from the account
    expect((await target.engine.list()).trafficSplitters?.map((s) => [s.name, s.apis])).toEqual([
      [
        "split",
        [
          { name: "iris-a", weight: 70 },
          { name: "iris-b", weight: 30 },
        ],
      ],
    ]);
    // And a redeploy of the same config changes nothing
    expect((await deploy(target, config)).results.map((r) => r.outcome)).toEqual([
      "unchanged",
      "unchanged",
      "unchanged",
    ]);

    // When an API it uses is deleted, Then it is refused with Cortex's message
    const refused = await refusal(target.engine.remove("iris-a"));
    expect(refused).toMatchObject({ status: 409, code: "api.used_by_splitter" });
    expect(refused.message).toBe(
      "cannot delete api because it is used by the following TrafficSplitter: split",
    );
    // When the splitter is deleted, Then the API can be
    await target.engine.remove("split");
    await target.engine.remove("iris-a");
    expect((await target.engine.list()).trafficSplitters).toBeUndefined();
  }, 180_000);

  test("a splitter over 6 APIs is refused at plan: one ALB rule forwards to at most 5 target groups", async () => {
    const target = await prod();
    const names = ["a1", "a2", "a3", "a4", "a5", "a6"];
    const config = `${names.map((name) => api(name)).join("")}${splitter(names, [50, 10, 10, 10, 10, 10])}`;
    const refused = await refusal(deploy(target, config));
    expect(refused).toMatchObject({ code: "splitter.too_many_apis" });
    expect(refused.message).toContain(
      "an ECS environment routes a TrafficSplitter to at most 5 APIs",
    );
    // Nothing was deployed
    expect((await target.engine.list()).apis).toEqual([]);
  }, 120_000);
});
