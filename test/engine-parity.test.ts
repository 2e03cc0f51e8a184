/**
 * One verb, two engines (issue 25, decision 0010): every command of the CLI's tree has an engine
 * decision recorded in `DECISIONS`, and every API verb is run against the local engine and the ECS
 * engine (a real daemon, the built CLI, moto on 127.0.0.1): both answer the same shape, both refuse
 * it with the same code, or the ECS one answers exactly the one not-supported error. A verb that
 * needs something first gets it on both engines (`prepare`: a second version to roll back from,
 * predictions to pin), so it is compared by what it answers, not by how it refuses. A new command
 * with no decision here fails the first test, so a verb cannot be added to one engine and
 * forgotten on the other.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { afterEach, describe, expect, test } from "vitest";
import type { Command } from "commander";
import { buildProgram } from "../packages/cli/src/program.js";
import type { CliContext } from "../packages/cli/src/context.js";
import type { ApiDetail } from "../packages/control-plane/src/contract/index.js";
import { ENGINE_NOT_SUPPORTED } from "../packages/control-plane/src/engines/api-engine.js";
import {
  motoAvailable,
  startMoto,
} from "../packages/control-plane/src/providers/aws/testing/moto-server.js";
import { PredictionRecorder } from "../packages/control-plane/src/replica/prediction-recorder.js";
import { predictionLine } from "../packages/control-plane/src/replica/prediction-lines.js";
import {
  copyExample,
  IRIS_REQUEST,
  makeTestCluster,
  postJson,
  waitFor,
  type CliResult,
  type TestCluster,
} from "./helpers.js";

const HAS_MOTO = motoAvailable();
const IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0";
const API = "iris-classifier";

/** How one API verb is checked on both engines. */
interface ApiVerb {
  api: true;
  /** The arguments after `axon` (the engine's `--env` and `-o json` are added). */
  argv: (project: string, engine: Engine) => string[];
  /**
   * What the ECS engine does: the same shape as local, the same refusal (both engines refuse it
   * with one error code, for the same reason), or the one not-supported error.
   */
  ecs: "same-shape" | "same-error" | "not-supported";
  /**
   * `not-supported`: the local engine answers the one not-supported error too (a verb neither
   * engine has yet; no row has one now, batch jobs having landed on the local engine).
   */
  local?: "not-supported";
  /**
   * For an `ecs: "not-supported"` row: what the local engine's `-o json` output must hold (it
   * exits 0 too), since there is no ECS answer to compare it with yet.
   */
  localCheck?: (stdout: string) => void;
  /** For `same-error`: the code both engines answer. */
  code?: string;
  /** The fields both engines' JSON must have (the contract's required fields). */
  shape?: (json: Record<string, unknown>) => unknown;
  /** What the verb needs on an engine before it runs there (a second version, predictions). */
  prepare?: (parity: Parity, engine: Engine) => Promise<void>;
}

/** The two environments of the run: this machine's, and the AWS one on moto. */
type Engine = "local" | "demo";

/** What a verb's `prepare` works with. */
interface Parity {
  cluster: TestCluster;
  aws: { env: NodeJS.ProcessEnv };
  /** The iris example's copy, with `monitoring` (both engines deploy it). */
  project: string;
  run: (engine: Engine, argv: string[]) => Promise<CliResult>;
}

/** A command that acts on no engine's APIs, and why. */
interface NotAnApiVerb {
  api: false;
  why: string;
}

/** Every command of the CLI, by its path: the decision made for it. */
const DECISIONS: Record<string, ApiVerb | NotAnApiVerb> = {
  deploy: {
    api: true,
    argv: (project) => ["deploy", project, "--no-wait"],
    ecs: "same-shape",
    shape: (json) => ({
      top: Object.keys(json).filter((key) => key !== "env" && key !== "configFile"),
      result: Object.keys((json["results"] as object[])[0] ?? {}).sort(),
    }),
  },
  // A flag, not a command: planned on both engines right after the deploy above, so unchanged (0).
  "deploy --plan": {
    api: true,
    argv: (project) => ["deploy", project, "--plan"],
    ecs: "same-shape",
    shape: (json) => ({
      top: Object.keys(json).sort(),
      // The Python environment is the local engine's (each ECS task prepares its own); dollars
      // are ECS's.
      api: Object.keys((json["apis"] as object[])[0] ?? {})
        .filter((key) => !["environment", "environmentKey", "costPerHour"].includes(key))
        .sort(),
    }),
  },
  // `get` covers `get <api>` and `get <api> --watch -o json` below (the watch polls `get`; on ECS
  // with the load balancer's `traffic`: test/aws-verbs.test.ts. The live events stream is not on
  // ECS: http/routes/environments.test.ts checks that answer).
  get: {
    api: true,
    argv: () => ["get"],
    ecs: "same-shape",
    shape: (json) => requiredKeys((json["apis"] as object[])[0] ?? {}, SUMMARY_KEYS),
  },
  logs: { api: true, argv: () => ["logs", API, "--tail", "5"], ecs: "same-shape" },
  // Pinned while the first version is current and has answered (before the rollback below, which
  // makes a version current that made no prediction yet).
  "monitor baseline": {
    api: true,
    argv: () => ["monitor", "baseline", API],
    ecs: "same-shape",
    // (and both pinned the predictions made: the same count on each)
    shape: (json) => ({ keys: Object.keys(json).sort(), predictions: json["predictions"] }),
    prepare: predictionsMade,
  },
  // Back from a second version to the first (the first was live: local rolls back only to a
  // version that was).
  rollback: {
    api: true,
    argv: () => ["rollback", API],
    ecs: "same-shape",
    shape: (json) => Object.keys(json).sort(),
    prepare: secondVersionDeployed,
  },
  "keys create": {
    api: true,
    argv: () => ["keys", "create", API, "--name", "parity"],
    ecs: "same-shape",
    shape: (json) => ({
      top: Object.keys(json).sort(),
      info: Object.keys(json["info"] as object).sort(),
    }),
  },
  "keys list": {
    api: true,
    argv: () => ["keys", "list", API],
    ecs: "same-shape",
    shape: (json) => ({
      top: Object.keys(json).sort(),
      key: Object.keys((json["keys"] as object[])[0] ?? {}).sort(),
    }),
  },
  "keys revoke": {
    api: true,
    argv: () => ["keys", "revoke", API, "000000000000"],
    ecs: "same-error",
    code: "api_key.not_found",
  },
  // Batch jobs (issue 32): the example BatchAPI deployed on each engine and a real job submitted,
  // read, and stopped there (on moto RunTask starts no container, so the ECS job stays running).
  submit: {
    api: true,
    argv: (project) => ["submit", BATCH_API, path.join(project, "job.json")],
    ecs: "same-shape",
    shape: (spec) => {
      expect(spec).toMatchObject({ api_name: BATCH_API, workers: 1 });
      return requiredKeys(spec, JOB_SPEC_KEYS);
    },
    prepare: batchApiDeployed,
  },
  "submit <realtime-api>": {
    api: true,
    argv: (project) => ["submit", API, path.join(project, "job.json")],
    ecs: "same-error",
    code: "api.not_batch",
  },
  "get <api> <job-id>": {
    api: true,
    argv: (_project, engine) => ["get", BATCH_API, batchJobs[engine]],
    ecs: "same-shape",
    shape: (json) => {
      const answer = json as { job_status: Record<string, unknown>; endpoint: string };
      expect(answer.endpoint).toEqual(expect.any(String));
      return requiredKeys(answer.job_status, [
        ...JOB_SPEC_KEYS,
        "status",
        "batches_in_queue",
        "batch_metrics",
        "worker_counts",
      ]);
    },
    prepare: batchJobSubmitted,
  },
  "logs <api> <job-id>": {
    api: true,
    argv: (_project, engine) => ["logs", BATCH_API, batchJobs[engine]],
    // (both answer; locally the job's lines name it, on moto no worker ever wrote a line)
    ecs: "same-shape",
  },
  "delete <api> <job-id>": {
    api: true,
    argv: (_project, engine) => ["delete", BATCH_API, batchJobs[engine]],
    ecs: "same-shape",
    shape: (json) => Object.keys(json),
  },
  delete: {
    api: true,
    argv: () => ["delete", API, "--yes"],
    ecs: "same-shape",
    shape: (json) => Object.keys(json).sort(),
  },
  predict: {
    api: false,
    why: "calls the API's endpoint itself, not the control plane (moto serves no load balancer traffic)",
  },
  validate: { api: false, why: "checks a config file on this machine; no engine is involved" },
  "cluster up": { api: false, why: "creates an environment (local or an AWS stack), not an API" },
  "cluster info": { api: false, why: "describes an environment's cluster, not an API" },
  "cluster down": { api: false, why: "deletes an environment's cluster" },
  "env list": { api: false, why: "environments are the daemon's records" },
  "env add": { api: false, why: "environments are the daemon's records" },
  "env use": { api: false, why: "environments are the daemon's records" },
  "env remove": { api: false, why: "environments are the daemon's records" },
  "autoscale simulate": { api: false, why: "simulates the autoscaler offline from a config" },
  version: { api: false, why: "prints versions" },
  completion: { api: false, why: "prints a shell completion script" },
  "__complete-apis": { api: false, why: "shell completion of API names (uses `get`)" },
};

/** The BatchAPI the batch rows act on (examples/batch-text-stats), and the job they read. */
const BATCH_API = "text-stats";
/** The job `submit` started on each engine (read back from the API's job list). */
const batchJobs: Record<Engine, string> = { local: "", demo: "" };
const JOB_SPEC_KEYS = ["job_id", "api_name", "workers", "config", "api_id", "created_time"];

/** The example BatchAPI deployed on `engine`, and the job spec `submit` sends (Cortex's item list). */
async function batchApiDeployed(parity: Parity, engine: Engine): Promise<void> {
  writeFileSync(
    path.join(parity.project, "job.json"),
    JSON.stringify({ workers: 1, item_list: { items: ["a b", "c", "d e f"], batch_size: 2 } }),
  );
  const deployed = await parity.run(engine, [
    "deploy",
    copyExample("batch-text-stats"),
    "--no-wait",
  ]);
  expect(deployed.code, `${engine}: ${deployed.stdout} ${deployed.stderr}`).toBe(0);
}

/**
 * The id of the job `submit` started on `engine` (the newest of the API's jobs); locally once it
 * is over, so its log is whole.
 */
async function batchJobSubmitted(parity: Parity, engine: Engine): Promise<void> {
  batchJobs[engine] = await waitFor(`${BATCH_API}'s job on ${engine}`, async () => {
    const listed = await parity.run(engine, ["get", BATCH_API]);
    const newest = (JSON.parse(listed.stdout) as { jobs: Array<Record<string, string>> }).jobs[0];
    if (newest === undefined) return undefined;
    return engine === "demo" || newest["status"] === "status_succeeded"
      ? newest["job_id"]
      : undefined;
  });
}

const SUMMARY_KEYS = ["name", "kind", "status", "replicas", "lastUpdated", "endpoint"];
const DETAIL_KEYS = [
  ...SUMMARY_KEYS,
  "spec",
  "specYaml",
  "exampleCurl",
  "runtime",
  "versions",
  "events",
];

function requiredKeys(json: object, keys: string[]): string[] {
  return keys.filter((key) => key in json);
}

/** How many predictions each engine makes before the baseline is pinned. */
const PREDICTIONS = 5;

async function localDetail(parity: Parity): Promise<ApiDetail> {
  const got = await parity.run("local", ["get", API]);
  expect(got.code, got.stderr).toBe(0);
  return JSON.parse(got.stdout) as ApiDetail;
}

/** Waits (bounded) until the local API's current version is live, and returns its detail. */
function localLive(parity: Parity): Promise<ApiDetail> {
  return waitFor(
    `${API} live on the local engine`,
    async () => {
      const detail = await localDetail(parity);
      return detail.versions.some((version) => version.current && version.liveAt !== null)
        ? detail
        : undefined;
    },
    120_000,
  );
}

/**
 * Predictions of the current version in the last hour. Locally: real requests to the endpoint,
 * waited for until the daemon has recorded them. On moto, which runs no task: the lines a replica
 * of task definition revision 1 would write, put into the cluster's log group (as the awslogs
 * driver would; test/aws-verbs.test.ts pins and measures drift the same way).
 */
async function predictionsMade(parity: Parity, engine: Engine): Promise<void> {
  if (engine === "demo") {
    const env = parity.aws.env;
    const logs = new CloudWatchLogsClient({
      region: env["AWS_REGION"] ?? "us-east-1",
      endpoint: env["AWS_ENDPOINT_URL"] ?? "",
      credentials: {
        accessKeyId: env["AWS_ACCESS_KEY_ID"] ?? "",
        secretAccessKey: env["AWS_SECRET_ACCESS_KEY"] ?? "",
      },
    });
    const task = "0123456789abcdef";
    const logStreamName = `${API}/replica/${task}`;
    await logs.send(new CreateLogStreamCommand({ logGroupName: "/axon/demo", logStreamName }));
    const recorder = new PredictionRecorder({ modelType: "classification", key: null });
    for (let i = 0; i < PREDICTIONS; i++) recorder.recordValue("virginica");
    const tally = recorder.drain();
    if (tally === undefined) throw new Error("the recorder drained no prediction");
    const at = Date.now() - 60_000;
    const line = { api: API, task, at: new Date(at).toISOString(), revision: 1, tally };
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: "/axon/demo",
        logStreamName,
        logEvents: [{ timestamp: at, message: predictionLine(line) }],
      }),
    );
    logs.destroy();
    return;
  }
  const { endpoint } = await localLive(parity);
  for (let i = 0; i < PREDICTIONS; i++) {
    expect((await postJson(endpoint, IRIS_REQUEST)).status).toBe(200);
  }
  await waitFor(`${PREDICTIONS} predictions of ${API} recorded`, async () => {
    const recorded = (await localDetail(parity)).monitoring?.current.predictions ?? 0;
    return recorded >= PREDICTIONS ? true : undefined;
  });
}

/**
 * A second version (a change of the config) deployed after the first was live. On moto a rollout
 * never completes, so the change is forced past the one in progress (as test/aws-verbs.test.ts).
 */
async function secondVersionDeployed(parity: Parity, engine: Engine): Promise<void> {
  const config = path.join(parity.project, "axon.yaml");
  const text = readFileSync(config, "utf8");
  if (!text.includes("compute:")) writeFileSync(config, `${text}  compute:\n    cpu: 1\n`);
  if (engine === "local") await localLive(parity);
  const force = engine === "demo" ? ["--force"] : [];
  const deployed = await parity.run(engine, ["deploy", parity.project, "--no-wait", ...force]);
  expect(deployed.code, `second deploy on ${engine}: ${deployed.stdout} ${deployed.stderr}`).toBe(
    0,
  );
}

/** Every runnable command of the tree, by its path under `axon` (`monitor baseline`). */
function leafCommands(command: Command, prefix = ""): string[] {
  return command.commands.flatMap((child) => {
    const name = `${prefix}${child.name()}`;
    return child.commands.length === 0 ? [name] : leafCommands(child, `${name} `);
  });
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("the engine decision of every command", () => {
  test("every command of the CLI's tree has a recorded decision, and every decision a command", async () => {
    // Given the CLI's command tree, built in-process as `axon` builds it
    const ctx = { env: {}, cwd: process.cwd() } as unknown as CliContext;
    const commands = leafCommands(await buildProgram(ctx)).sort();

    // Then each has a decision (a new verb must say what each engine does), and none is stale
    expect(commands.filter((name) => DECISIONS[name] === undefined)).toEqual([]);
    // (a row for a flag or a form, `deploy --plan`, `get <api> <job-id>`, is kept by its command)
    expect(
      Object.keys(DECISIONS).filter((name) => !commands.includes(name.split(/ --| </)[0] ?? name)),
    ).toEqual([]);
  });
});

describe.skipIf(!HAS_MOTO)("every API verb × {local, aws on moto} (skipped without moto)", () => {
  test("the same shape on both engines, the same refusal, or exactly the not-supported error on ECS", async () => {
    // Given a local environment and an AWS environment `demo` on moto, each running the iris API
    const moto = await startMoto();
    cleanups.push(() => moto.stop());
    const cluster = await makeTestCluster();
    const aws = { env: moto.awsEnv() };
    const dir = mkdtempSync(path.join(os.tmpdir(), "axon-parity-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const clusterYaml = path.join(dir, "cluster.yaml");
    writeFileSync(clusterYaml, `cluster_name: demo\nregion: us-east-1\nimage: ${IMAGE}\n`);
    const up = await cluster.axon(
      ["cluster", "up", "--provider", "aws", "--config", clusterYaml, "--yes", "-o", "json"],
      aws,
    );
    expect(up.code, up.stderr).toBe(0);
    // (with `monitoring`, so both engines can pin a baseline)
    const project = copyExample("iris-sklearn");
    const config = path.join(project, "axon.yaml");
    writeFileSync(
      config,
      `${readFileSync(config, "utf8")}  monitoring:\n    model_type: classification\n`,
    );

    // When every API verb runs on each engine, in the table's order (deploy first, delete last),
    // after what it needs there
    const run = (engine: string, argv: string[]): Promise<CliResult> =>
      cluster.axon([...argv, "--env", engine, "-o", "json"], aws);
    const parity: Parity = { cluster, aws, project, run };
    for (const [name, decision] of Object.entries(DECISIONS)) {
      if (!decision.api) continue;
      await decision.prepare?.(parity, "local");
      await decision.prepare?.(parity, "demo");
      const local = await run("local", decision.argv(project, "local"));
      const ecs = await run("demo", decision.argv(project, "demo"));

      if (decision.local === "not-supported") {
        // Then both engines answer the one error, each naming itself and the verb
        for (const [engine, environment, result] of [
          ["local", "local", local],
          ["ecs", "demo", ecs],
        ] as const) {
          const { error } = JSON.parse(result.stdout) as {
            error: { code: string; message: string; hint?: string };
          };
          expect(result.code, `${name} on ${engine}`).toBe(1);
          expect(error.code, `${name} on ${engine}: ${result.stdout} ${result.stderr}`).toBe(
            ENGINE_NOT_SUPPORTED,
          );
          expect(error.message).toMatch(
            new RegExp(` on the ${engine} engine yet \\(environment ${environment}\\)$`),
          );
          expect(error.hint).not.toMatch(/daemon\.log/);
        }
        continue;
      }
      if (decision.ecs === "not-supported") {
        // Then ECS answers the one error, naming the engine and the verb, with what to do
        const { error } = JSON.parse(ecs.stdout) as {
          error: { code: string; message: string; hint?: string };
        };
        expect(ecs.code, `${name} on ecs`).toBe(1);
        expect(error.code, `${name} on ecs: ${ecs.stdout} ${ecs.stderr}`).toBe(
          ENGINE_NOT_SUPPORTED,
        );
        expect(error.message).toMatch(/ on the ecs engine yet \(environment demo\)$/);
        expect(error.hint).not.toMatch(/daemon\.log/);
        // And the local engine runs the verb (its own answer, never that error)
        expect(local.stdout, `${name} on local`).not.toContain(ENGINE_NOT_SUPPORTED);
        expect(local.code, `${name} on local: ${local.stdout} ${local.stderr}`).toBe(0);
        decision.localCheck?.(local.stdout);
        continue;
      }
      if (decision.ecs === "same-error") {
        // Then both engines refuse it with the same code, and a message and hint of their own
        for (const [engine, result] of [
          ["local", local],
          ["ecs", ecs],
        ] as const) {
          const { error } = JSON.parse(result.stdout) as {
            error: { code: string; message: string; hint?: string };
          };
          expect(result.code, `${name} on ${engine}`).toBe(1);
          expect(error.code, `${name} on ${engine}: ${result.stdout}`).toBe(decision.code);
          expect(error.hint, `${name} on ${engine}`).toBeDefined();
        }
        continue;
      }
      // Then both succeed with the same shape
      expect(local.code, `${name} on local: ${local.stderr}`).toBe(0);
      expect(ecs.code, `${name} on ecs: ${ecs.stderr}`).toBe(0);
      if (decision.shape === undefined) continue;
      const shapeOf = (result: CliResult): unknown =>
        decision.shape?.(JSON.parse(result.stdout) as Record<string, unknown>);
      expect(shapeOf(ecs), name).toEqual(shapeOf(local));
      if (name === "get") {
        // And `get <api>` has every required field of ApiDetail on both, runtime by engine
        const one = async (engine: string): Promise<Record<string, unknown>> =>
          JSON.parse((await run(engine, ["get", API])).stdout) as Record<string, unknown>;
        const [localDetail, ecsDetail] = [await one("local"), await one("demo")];
        expect(requiredKeys(ecsDetail, DETAIL_KEYS)).toEqual(DETAIL_KEYS);
        expect(requiredKeys(localDetail, DETAIL_KEYS)).toEqual(DETAIL_KEYS);
        expect(localDetail["runtime"]).toMatchObject({ engine: "local" });
        expect(ecsDetail["runtime"]).toMatchObject({ engine: "ecs", taskDefinitionRevision: 1 });
        expect((ecsDetail["versions"] as Array<{ id: string }>).map((v) => v.id)).toEqual([
          "revision 1",
        ]);
        // And `get <api> --watch -o json` prints ApiDetail documents on both (ended by the test)
        const watchOne = async (engine: string): Promise<string[]> => {
          const watched = await cluster.axon(
            ["get", API, "--watch", "--env", engine, "-o", "json"],
            { ...aws, timeoutMs: 10_000 },
          );
          const first = watched.stdout.split("\n")[0] ?? "{}";
          return requiredKeys(JSON.parse(first) as object, DETAIL_KEYS);
        };
        expect(await watchOne("demo")).toEqual(DETAIL_KEYS);
        expect(await watchOne("local")).toEqual(DETAIL_KEYS);
      }
    }
    await cluster.axon(["cluster", "down", "--env", "demo", "--yes"], aws);
  }, 300_000);
});
