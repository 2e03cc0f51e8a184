/**
 * The replica image itself (issue 26), built here with podman from local stand-in bases
 * (scripts/replica-image.sh: Debian bookworm's python3 with python3-sklearn for the iris model, and
 * the `node` npm package's Node 24) and run as ECS would run it: as its non-root user, with the
 * environment of the task definition a deploy registers, its project from a moto S3 on 127.0.0.1.
 * Checked: the image's HEALTHCHECK and the task definition's health command pass, it serves the
 * iris model, `podman stop` (SIGTERM) drains a request in flight and exits 0, and a memory limit
 * below what the predictor needs ends the container (as Fargate does when a task exceeds its
 * memory). Every container it starts it removes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import {
  motoAvailable,
  startMoto,
  type MotoServer,
} from "../packages/control-plane/src/providers/aws/testing/moto-server.js";
import { freePort, IRIS_REQUEST, postJson } from "./helpers.js";
import {
  buildReplicaImage,
  containerState,
  firstOk,
  missingContainerTools,
  podman,
  podmanLogs,
  podmanOk,
  registeredContainer,
  removeContainer,
  runReplicaContainer,
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

/** The task definition's container environment as name → value. */
function environmentOf(container: ReturnType<typeof registeredContainer>): Record<string, string> {
  return Object.fromEntries(
    (container.environment ?? []).map(({ name, value }) => [name ?? "", value ?? ""]),
  );
}

describe.skipIf(MISSING.length > 0)(
  `the replica image, built and run with podman${SKIP_REASON}`,
  () => {
    beforeAll(async () => {
      // First build on a machine: about 4 minutes (the Debian root file system, npm ci); then cached.
      await buildReplicaImage();
      moto = await startMoto();
      bundle = await uploadTestBundle(moto.url, "axon-demo-bundlebucket-1");
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
  },
);
