/**
 * The replica image itself (issue 26), built here with podman from local stand-in bases
 * (scripts/replica-image.sh: Debian bookworm's python3 with python3-sklearn for the iris model, and
 * the `node` npm package's Node 24) and run as ECS would run it: as its non-root user, with the
 * environment of the task definition a deploy registers, its project from a moto S3 on 127.0.0.1.
 * Checked: the image's HEALTHCHECK and the task definition's health command pass, it serves the
 * iris model, `podman stop` (SIGTERM) drains a request in flight and exits 0, and a memory limit
 * below what the predictor needs ends the container (as Fargate does when a task exceeds its
 * memory). Issues 29 and 30 inside the container: with `networking.auth: api_key` it reads the key
 * hashes from the cluster bucket (moto's) as a task does, and answers 401 / 200 / 429 by them,
 * a revoke included; a run whose `predictor.smoke_test` fails never answers the target group's
 * health check 200 and exits naming the answer, one whose smoke test passes reports healthy.
 * Issue 32: a BatchAPI's task definition with a job's RunTask override runs the image in batch
 * mode, drains a small job from a moto SQS queue and exits 0.
 * One image build; each case is another run of it. Every container it starts it removes.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { parseApiConfig } from "@axon/config";
import type { BatchJobSpec } from "../packages/control-plane/src/contract/index.js";
import { batchTaskDefinitionInput } from "../packages/control-plane/src/providers/aws/batch-api.js";
import { workerOverrides } from "../packages/control-plane/src/providers/aws/batch-workers.js";
import { afterAll, afterEach, beforeAll, describe, expect, onTestFinished, test } from "vitest";
import { writeApiKeys } from "../packages/control-plane/src/providers/aws/api-keys.js";
import { REPLICA_ENV } from "../packages/control-plane/src/providers/aws/replica-env.js";
import type { S3Port } from "../packages/control-plane/src/providers/aws/sdk.js";
import {
  motoAvailable,
  startMoto,
  type MotoServer,
} from "../packages/control-plane/src/providers/aws/testing/moto-server.js";
import {
  type ApiKeyRecord,
  createApiKey,
  type NewApiKey,
} from "../packages/control-plane/src/replica/api-keys.js";
import { freePort, IRIS_REQUEST, postJson, REPO } from "./helpers.js";
import {
  buildReplicaImage,
  clusterRefsFor,
  containerState,
  firstOk,
  missingContainerTools,
  podman,
  podmanLogs,
  podmanOk,
  registeredContainer,
  removeContainer,
  runReplicaContainer,
  SMOKE_PAYLOADS,
  testApiSpec,
  uploadTestBundle,
  type ImageBundle,
} from "./replica-image-helpers.js";

const MISSING = [...missingContainerTools(), ...(motoAvailable() ? [] : ["moto (python3)"])];
const SKIP_REASON =
  MISSING.length === 0
    ? ""
    : ` (skipped: ${MISSING.join(", ")} not installed; scripts/setup.sh installs podman, runc and mmdebstrap)`;

let moto: MotoServer | undefined;
let bundle: ImageBundle;
const containers: string[] = [];

afterEach(async () => {
  for (const name of containers.splice(0)) await removeContainer(name);
});
afterAll(async () => {
  await moto?.stop();
});

const API = "iris-classifier";
/** How often the key container re-reads the key set (AXON_KEY_REFRESH_MS; 30 s on ECS). */
const REFRESH_MS = 500;
/**
 * The target group's health check path (`HealthCheckPath` in providers/aws/api-deploy.ts, matcher
 * 200): a load balancer node routes requests only to targets that pass it
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html),
 * and a deployment whose tasks never get there fails and, with the circuit breaker's rollback,
 * returns to the last completed one
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentCircuitBreaker.html).
 */
const TARGET_GROUP_HEALTH_PATH = "/healthz";

/** The task definition's container environment as name → value. */
function environmentOf(container: ReturnType<typeof registeredContainer>): Record<string, string> {
  return Object.fromEntries(
    (container.environment ?? []).map(({ name, value }) => [name ?? "", value ?? ""]),
  );
}

/** POSTs the iris measurements with `headers`. */
function postIris(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(IRIS_REQUEST),
  });
}

/** An S3 client of the moto at `url`. */
function motoS3(url: string): S3Client {
  return new S3Client({
    region: "us-east-1",
    endpoint: url,
    forcePathStyle: true,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  });
}

/** The one call of the S3 port that `writeApiKeys` (the ECS engine's key verbs) makes. */
function keyPort(s3: S3Client): Pick<S3Port, "putObject"> {
  return { putObject: (input) => s3.send(new PutObjectCommand(input)) };
}

/** A key as `axon keys create` stores it (only its hash), with `extra` fields. */
function keyRecord(made: NewApiKey, extra: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return {
    id: made.id,
    name: null,
    hash: made.hash,
    createdAt: new Date().toISOString(),
    expiresAt: null,
    ratePerSecond: null,
    ...extra,
  };
}

describe.skipIf(MISSING.length > 0)(
  `the replica image, built and run with podman${SKIP_REASON}`,
  () => {
    beforeAll(async () => {
      // First build on a machine: about 4 minutes (the Debian root file system, npm ci); then cached.
      const buildSeconds = await buildReplicaImage();
      // The file's one build (every case below is another run of this image): CI's budget.
      console.info(`replica image: built in ${buildSeconds.toFixed(1)} s`);
      moto = await startMoto();
      bundle = await uploadTestBundle(moto.url, "axon-demo-bundlebucket-1", SMOKE_PAYLOADS);
    }, 900_000);

    test("Given the task definition a deploy registers, the image runs as uid 10001, serves iris, passes the image's HEALTHCHECK and the task definition's health command, and drains a request in flight on SIGTERM", async () => {
      if (moto === undefined) throw new Error("moto did not start");
      const definition = registeredContainer(testApiSpec(), bundle);
      const port = await freePort();
      const container = await runReplicaContainer({
        environment: environmentOf(definition),
        port,
        motoUrl: moto.url,
      });
      containers.push(container.name);

      // When it is ready, Then it serves the model as its non-root user
      await firstOk(container, `http://127.0.0.1:${port}/healthz`, performance.now());
      expect(await podmanOk(["exec", container.name, "id", "-u"])).toBe("10001");
      const prediction = await postJson(`http://127.0.0.1:${port}/iris-classifier`, IRIS_REQUEST);
      expect(prediction).toEqual({ status: 200, text: "virginica" });

      // And the image's HEALTHCHECK passes (podman runs the Dockerfile's command in the container)
      const imageCheck = await podman(["healthcheck", "run", container.name]);
      expect(imageCheck, imageCheck.stderr).toMatchObject({ code: 0 });
      // And so does the task definition's command, as ECS runs it: `CMD` then argv in the container.
      // The only change is its port: with host networking the replica listens on a free port.
      const [kind, ...command] = definition.healthCheck?.command ?? [];
      expect(kind).toBe("CMD");
      const taskCheck = await podman([
        "exec",
        container.name,
        ...command.map((part) => part.replace("127.0.0.1:8080/", `127.0.0.1:${port}/`)),
      ]);
      expect(taskCheck, taskCheck.stderr).toMatchObject({ code: 0 });

      // When ECS stops the task (SIGTERM) while a slow request is in flight
      const slow = postJson(`http://127.0.0.1:${port}/iris-classifier`, { sleep: 3 });
      for (let polls = 0; polls < 200; polls++) {
        if ((await podmanLogs(container.name)).includes("slow request started")) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(await podmanLogs(container.name)).toContain("slow request started");
      const stopped = podman(["stop", "-t", "60", container.name]);

      // Then the request is answered, and the container exits 0 after draining
      expect(await slow).toEqual({ status: 200, text: "slept" });
      expect((await stopped).code).toBe(0);
      expect(await containerState(container.name)).toMatchObject({
        status: "exited",
        exitCode: 0,
      });
      expect(await podmanLogs(container.name)).toMatch(
        /draining: [^\n]*\n(.|\n)*axon-replica: stopped/,
      );
    }, 180_000);

    test("Given a memory limit below what the predictor needs, the container is stopped before it is ever ready", async () => {
      if (moto === undefined) throw new Error("moto did not start");
      // A predictor that holds 400 MiB, in a container allowed 200 MiB (Fargate kills a container that
      // exceeds its task's memory; --memory is the same cgroup limit)
      const definition = registeredContainer(testApiSpec({ BALLAST_MB: "400" }), bundle);
      const port = await freePort();
      const container = await runReplicaContainer({
        environment: environmentOf(definition),
        port,
        motoUrl: moto.url,
        extraArgs: ["--memory", "200m", "--memory-swap", "200m"],
      });
      containers.push(container.name);

      // Then it ends, without ever having been ready (the target group never sees it healthy)
      let everReady = false;
      let state = await containerState(container.name);
      for (let polls = 0; polls < 1200 && state.status !== "exited"; polls++) {
        const health = await fetch(`http://127.0.0.1:${port}/healthz`).then(
          (response) => response.status,
          () => 0,
        );
        everReady ||= health === 200;
        await new Promise((resolve) => setTimeout(resolve, 100));
        state = await containerState(container.name);
      }
      const logs = await podmanLogs(container.name);
      expect(state.status, logs).toBe("exited");
      expect(everReady).toBe(false);
      // The kernel's OOM killer ends the container's biggest process: the worker (the entrypoint
      // then exits 1, naming the signal) or the entrypoint itself, PID 1 (137: killed by SIGKILL,
      // which ECS reports as "OutOfMemoryError: Container killed due to memory usage")
      const killedWorker = state.exitCode === 1 && /cannot start: .*SIGKILL/.test(logs);
      const ended = { exitCode: state.exitCode, oomKilled: state.oomKilled, killedWorker };
      expect(
        ended.exitCode === 137 || ended.oomKilled || killedWorker,
        JSON.stringify(ended) + logs,
      ).toBe(true);
    }, 180_000);

    test("Given networking.auth api_key, the container reads the key hashes from the cluster bucket as on ECS: 401 without a key, 200 with either header, 401 once revoked (within one re-read), 401 when expired, 429 with Retry-After over the rate", async () => {
      if (moto === undefined) throw new Error("moto did not start");
      // Given the key set the ECS engine's `axon keys` verbs write, in the bucket the task
      // definition names (AXON_BUNDLE_BUCKET: the cluster bucket), re-read every 500 ms
      const s3 = motoS3(moto.url);
      onTestFinished(() => s3.destroy());
      const bearer = createApiKey();
      const header = createApiKey();
      const expired = createApiKey();
      const limited = createApiKey();
      const everyKey = [bearer, header, expired, limited];
      await writeApiKeys(keyPort(s3), bundle.bucket, API, [
        keyRecord(bearer),
        keyRecord(header),
        keyRecord(expired, { expiresAt: new Date(Date.now() - 60_000).toISOString() }),
        keyRecord(limited, { ratePerSecond: 1 }),
      ]);
      const definition = registeredContainer(testApiSpec({}, { auth: "api_key" }), bundle);
      const port = await freePort();
      const container = await runReplicaContainer({
        environment: {
          ...environmentOf(definition),
          [REPLICA_ENV.keyRefreshMs]: String(REFRESH_MS),
        },
        port,
        motoUrl: moto.url,
      });
      containers.push(container.name);
      await firstOk(container, `http://127.0.0.1:${port}/healthz`, performance.now());
      const endpoint = `http://127.0.0.1:${port}/${API}`;

      // When called without a key, Then 401, and the body names both headers
      const anonymous = await postIris(endpoint);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get("www-authenticate")).toBe(`Bearer realm="${API}"`);
      const refusal = await anonymous.text();
      expect(refusal).toContain("Authorization: Bearer <key>");
      expect(refusal).toContain("X-Api-Key: <key>");

      // When called with a key in either header, Then the model answers
      const withBearer = await postIris(endpoint, { authorization: `Bearer ${bearer.key}` });
      expect(withBearer.status).toBe(200);
      expect(await withBearer.text()).toBe("virginica");
      expect((await postIris(endpoint, { "x-api-key": header.key })).status).toBe(200);

      // When the key has expired, Then 401 says so
      const late = await postIris(endpoint, { "x-api-key": expired.key });
      expect(late.status).toBe(401);
      expect(await late.text()).toContain(`the API key ${expired.id} of ${API} expired`);

      // When a key limited to 1 request/s sends three at once, Then one passes and two get 429
      // with Retry-After (its bucket holds one second's worth: one token)
      const burst = await Promise.all(
        [1, 2, 3].map(() => postIris(endpoint, { "x-api-key": limited.key })),
      );
      expect(burst.map((response) => response.status).sort((a, b) => a - b)).toEqual([
        200, 429, 429,
      ]);
      expect(burst.find((response) => response.status === 429)?.headers.get("retry-after")).toBe(
        "1",
      );

      // When a key is revoked (the bucket's object rewritten without it, as `axon keys revoke` does)
      const revokedAt = performance.now();
      await writeApiKeys(keyPort(s3), bundle.bucket, API, [keyRecord(bearer)]);
      let status = 200;
      for (let polls = 0; polls < 200 && status === 200; polls++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        status = (await postIris(endpoint, { "x-api-key": header.key })).status;
      }
      const tookMs = performance.now() - revokedAt;

      // Then it is refused once the container has re-read the set; the key kept still works
      expect(status).toBe(401);
      expect((await postIris(endpoint, { authorization: `Bearer ${bearer.key}` })).status).toBe(
        200,
      );
      console.info(
        `replica image: a revoke reached the container after ${tookMs.toFixed(0)} ms (re-read every ${REFRESH_MS} ms; 30 s on ECS)`,
      );
      // And the container's log never holds a key (refusals name the key id only)
      const logs = await podmanLogs(container.name);
      expect(logs).toContain("refused (401)");
      for (const made of everyKey) expect(logs).not.toContain(made.key);
    }, 180_000);

    test("Given predictor.smoke_test, a run whose smoke test fails never reports healthy and exits 1 naming the payload, the expected and the actual answer; one whose smoke test passes reports healthy", async () => {
      if (moto === undefined) throw new Error("moto did not start");
      // Given two runs of the image side by side: the iris payload expecting setosa (the model
      // answers virginica), and a payload the wrapper answers "slept" to, expecting just that
      const failing = registeredContainer(
        testApiSpec({}, { smokeTest: { payload: "smoke-iris.json", expectJson: "setosa" } }),
        bundle,
      );
      const passing = registeredContainer(
        testApiSpec({}, { smokeTest: { payload: "smoke-sleep.json", expectJson: "slept" } }),
        bundle,
      );
      const [failPort, passPort] = [await freePort(), await freePort()];
      const failed = await runReplicaContainer({
        environment: environmentOf(failing),
        port: failPort,
        motoUrl: moto.url,
      });
      containers.push(failed.name);
      const passed = await runReplicaContainer({
        environment: environmentOf(passing),
        port: passPort,
        motoUrl: moto.url,
      });
      containers.push(passed.name);

      // Then the passing one reports healthy on the target group's health check path, and the
      // task definition's container health command passes; its log shows the smoke request ran
      await firstOk(
        passed,
        `http://127.0.0.1:${passPort}${TARGET_GROUP_HEALTH_PATH}`,
        performance.now(),
      );
      const [kind, ...command] = passing.healthCheck?.command ?? [];
      expect(kind).toBe("CMD");
      const taskCheck = await podman([
        "exec",
        passed.name,
        ...command.map((part) => part.replace("127.0.0.1:8080/", `127.0.0.1:${passPort}/`)),
      ]);
      expect(taskCheck, taskCheck.stderr).toMatchObject({ code: 0 });
      // (the workers' output reaches the container's log through `tail -F`, which polls each second)
      for (let polls = 0; polls < 100; polls++) {
        if ((await podmanLogs(passed.name)).includes("slow request started")) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(await podmanLogs(passed.name)).toContain("slow request started");

      // And the failing one never answers its health check 200: it exits 1 (ECS replaces the
      // task, and the deployment circuit breaker rolls the revision back)
      let everHealthy = false;
      let state = await containerState(failed.name);
      for (let polls = 0; polls < 1200 && state.status !== "exited"; polls++) {
        const health = await fetch(`http://127.0.0.1:${failPort}${TARGET_GROUP_HEALTH_PATH}`).then(
          (response) => response.status,
          () => 0,
        );
        everHealthy ||= health === 200;
        await new Promise((resolve) => setTimeout(resolve, 100));
        state = await containerState(failed.name);
      }
      const logs = await podmanLogs(failed.name);
      expect(state, logs).toMatchObject({ status: "exited", exitCode: 1 });
      expect(everHealthy).toBe(false);
      // And its log (the task's CloudWatch stream) names the payload, the expected and the actual
      expect(logs).toContain(
        'axon-replica: cannot start: replica r-0 of iris-classifier: smoke test failed: POST smoke-iris.json answered 200 virginica, expected status 200 and a body containing "setosa"',
      );
      expect(logs).not.toContain("ready: POST");
    }, 180_000);

    test("Given a BatchAPI's task definition and a job's RunTask override (issue 32), the image in batch mode drains the job's SQS queue on moto, runs on_job_complete once, and exits 0", async () => {
      if (moto === undefined) throw new Error("moto did not start");
      const started = performance.now();
      // Given: the batch example's predictor in the bundle, a BatchAPI of it, a queue of 3 batches
      const batchBundle = await uploadTestBundle(moto.url, bundle.bucket, {
        "batch_predictor.py": readFileSync(
          path.join(REPO, "examples/batch-text-stats/predictor.py"),
          "utf8",
        ),
      });
      const spec = parseApiConfig(
        "- name: text-stats\n  kind: BatchAPI\n  predictor:\n    type: python\n    path: batch_predictor.py\n",
        "axon.yaml",
      ).batchApis[0];
      if (spec === undefined) throw new Error("the BatchAPI config has no API");
      const definition = batchTaskDefinitionInput(
        spec,
        clusterRefsFor(batchBundle.bucket),
        batchBundle.sha256,
      ).containerDefinitions?.[0];
      if (definition === undefined) throw new Error("the task definition has no container");
      const sqs = new SQSClient({
        region: "us-east-1",
        endpoint: moto.url,
        credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
      });
      onTestFinished(() => sqs.destroy());
      const queueUrl =
        (await sqs.send(new CreateQueueCommand({ QueueName: "axon-demo-image-batch" }))).QueueUrl ??
        "";
      const job: BatchJobSpec = {
        job_id: "0123456789abcdef",
        api_name: "text-stats",
        workers: 1,
        config: { seconds_per_batch: 0 },
        api_id: "image-test",
        sqs_url: queueUrl,
        created_time: new Date().toISOString(),
        total_batch_count: 3,
        max_retries: 0,
        timeout: 60,
      };
      for (const [index, items] of [["a b"], ["c d e"], ["f"]].entries()) {
        await sqs.send(
          new SendMessageCommand({
            QueueUrl: queueUrl,
            MessageBody: JSON.stringify({ batch_id: String(index), items }),
          }),
        );
      }
      const override = workerOverrides(job, queueUrl, 1).containerOverrides[0]?.environment ?? [];

      // When: one worker task's container runs (its queue long-polls 1 s instead of 20)
      const container = await runReplicaContainer({
        environment: {
          ...environmentOf(definition),
          ...Object.fromEntries(override.map(({ name, value }) => [name, value])),
          AXON_BATCH_WAIT_SECONDS: "1",
        },
        port: await freePort(),
        motoUrl: moto.url,
      });
      containers.push(container.name);
      let state = await containerState(container.name);
      for (let polls = 0; polls < 1200 && state.status !== "exited"; polls++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        state = await containerState(container.name);
      }

      // Then: it exited 0 with every batch done and the job's completion claimed
      const logs = await podmanLogs(container.name);
      expect(state, logs).toMatchObject({ status: "exited", exitCode: 0 });
      expect(logs).toContain(`job ${job.job_id}: 3 batch(es) succeeded, 0 failed`);
      expect(logs).toContain(`job ${job.job_id}: on_job_complete ran`);
      const left = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["All"] }),
      );
      expect(left.Attributes?.["ApproximateNumberOfMessages"]).toBe("0");
      expect(left.Attributes?.["ApproximateNumberOfMessagesNotVisible"]).toBe("0");
      console.info(
        `replica image: batch mode drained 3 batches and exited in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    }, 180_000);
  },
);
