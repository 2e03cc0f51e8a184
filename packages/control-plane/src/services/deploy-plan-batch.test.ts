/**
 * `planDeploy` and BatchAPIs (issue 32): a real bundle store on a temp folder with an uploaded
 * project; the target environment is a plain object answering what it runs (the `DeployTarget`
 * seam), as an engine would.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { create } from "tar";
import { afterEach, describe, expect, test } from "vitest";
import { BundleStore } from "../bundles/bundle-store.js";
import { DomainError } from "../errors.js";
import { StateStore } from "../state/store.js";
import {
  API_KIND_TAKEN,
  CONFIG_ENDPOINT_TAKEN,
  planDeploy,
  type DeployedApi,
  type DeployTarget,
} from "./deploy-plan.js";

const dirs: string[] = [];
const stores: StateStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

const BATCH =
  "- name: nightly\n  kind: BatchAPI\n  predictor: {type: python, path: predictor.py}\n";

async function uploaded(): Promise<{ bundles: BundleStore; bundle: string }> {
  const home = tempDir("axon-plan-batch-");
  const store = StateStore.open(path.join(home, "state.db"));
  stores.push(store);
  const bundles = new BundleStore(home, store);
  const project = tempDir("axon-plan-batch-project-");
  writeFileSync(path.join(project, "predictor.py"), "class PythonPredictor:\n    pass\n");
  const archive = path.join(tempDir("axon-plan-batch-archive-"), "project.tar.gz");
  create({ gzip: true, file: archive, cwd: project, sync: true, portable: true }, ["predictor.py"]);
  const bytes = readFileSync(archive);
  const bundle = createHash("sha256").update(bytes).digest("hex");
  await bundles.receive(bundle, Readable.from([bytes]));
  return { bundles, bundle };
}

function target(deployed: DeployedApi[], batch: DeployedApi[] | undefined): DeployTarget {
  return {
    environment: "local",
    deployed: async () => deployed,
    ...(batch === undefined ? {} : { deployedBatchApis: async () => batch }),
  };
}

const realtime = (name: string, endpoint: string): DeployedApi => ({
  name,
  endpoint,
  specHash: "h",
  bundle: "b",
  version: "v-1",
  rollingOut: false,
});

async function refusal(work: Promise<unknown>): Promise<DomainError> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

describe("planDeploy with BatchAPIs", () => {
  test("Given a config with a BatchAPI, When planned, Then it is in the plan's batchApis with its hash and what the environment has of it", async () => {
    const { bundles, bundle } = await uploaded();
    const deployedBatch: DeployedApi = { ...realtime("nightly", "/nightly"), kind: "BatchAPI" };
    const plan = await planDeploy({ bundles }, target([], [deployedBatch]), {
      config: BATCH,
      configFileName: "cortex.yaml",
      bundle,
    });
    expect(plan.apis).toEqual([]);
    expect(plan.batchApis).toEqual([
      expect.objectContaining({
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        deployed: deployedBatch,
      }),
    ]);
    expect(plan.batchApis[0]?.spec).toMatchObject({ name: "nightly", kind: "BatchAPI" });
  });

  test("Given a realtime API of the same name, When a BatchAPI is planned, Then it is refused: a name keeps its kind", async () => {
    const { bundles, bundle } = await uploaded();
    const refused = await refusal(
      planDeploy({ bundles }, target([realtime("nightly", "/other")], []), {
        config: BATCH,
        configFileName: "cortex.yaml",
        bundle,
      }),
    );
    expect(refused).toMatchObject({ code: API_KIND_TAKEN, status: 409 });
    expect(refused.message).toBe(
      "cortex.yaml: nightly: name nightly is already used by a RealtimeAPI; it cannot become a BatchAPI",
    );
  });

  test("Given an API serving the endpoint, When a BatchAPI wants it, Then the endpoint is refused naming its owner", async () => {
    const { bundles, bundle } = await uploaded();
    const refused = await refusal(
      planDeploy({ bundles }, target([realtime("iris", "/nightly")], []), {
        config: BATCH,
        configFileName: "cortex.yaml",
        bundle,
      }),
    );
    expect(refused.code).toBe(CONFIG_ENDPOINT_TAKEN);
    expect(refused.message).toContain("networking.endpoint /nightly is already used by api iris");
  });

  test("Given an engine without batch jobs, When a BatchAPI is planned, Then it is refused as not supported there, nothing deployed", async () => {
    const { bundles, bundle } = await uploaded();
    const refused = await refusal(
      planDeploy(
        { bundles },
        { ...target([], undefined), environment: "prod" },
        {
          config: BATCH,
          configFileName: "cortex.yaml",
          bundle,
        },
      ),
    );
    expect(refused).toMatchObject({ code: "engine.not_supported", status: 501 });
    expect(refused.message).toContain("kind BatchAPI is not supported in environment prod yet");
  });
});
