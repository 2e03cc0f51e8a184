/**
 * The replica image on this machine: built with podman from local stand-in bases
 * (scripts/replica-image.sh), run with a task definition's environment, its project served from a
 * moto S3 on 127.0.0.1. Shared by test/replica-image.test.ts and bench/container.ts.
 *
 * Node runs this file as it is (type stripping: bench/container.ts imports it by its .ts path), so it
 * imports only Node's modules, packages, and the control plane's compiled dist (`npm run build`).
 *
 * Podman runs as root with runc, cgroupfs and no default ulimits (shared/reference/containers.md);
 * containers use the host's network (no bridge is set up here), so the replica listens on a free
 * port of the machine instead of 8080.
 */
import { execFile, spawnSync } from "node:child_process";
import net from "node:net";
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { parseApiConfig, type ApiSpec } from "@axon/config";
import { fileURLToPath } from "node:url";
import { create as createTar } from "tar";
import type { AwsClusterRefs } from "../packages/control-plane/src/providers/aws/api-names.js";
import { taskDefinitionInput } from "../packages/control-plane/dist/providers/aws/api-task-definition.js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const execFileAsync = promisify(execFile);

export const IMAGE_TAG = "localhost/axon-replica:test";
const CONTAINERS_CONF = path.join(REPO, ".axon-cache/replica-image/containers.conf");
const PODMAN_FLAGS = ["--runtime", "runc", "--cgroup-manager", "cgroupfs"];
const IRIS = path.join(REPO, "examples/iris-sklearn");

/** The tools the image needs here that are missing (empty when it can be built and run). */
export function missingContainerTools(): string[] {
  return ["podman", "runc", "mmdebstrap"].filter(
    (tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0,
  );
}

/** Builds the image (cached bases, podman's layer cache); resolves with the seconds it took. */
export async function buildReplicaImage(tag = IMAGE_TAG): Promise<number> {
  const started = performance.now();
  try {
    await execFileAsync("bash", [path.join(REPO, "scripts/replica-image.sh"), tag], {
      cwd: REPO,
      maxBuffer: 64 * 2 ** 20,
    });
  } catch (error) {
    const failed = error as { stderr?: string; message: string };
    throw new Error(
      `scripts/replica-image.sh failed: ${failed.stderr?.slice(-4000) ?? failed.message}`,
      {
        cause: error,
      },
    );
  }
  return (performance.now() - started) / 1000;
}

/** Runs podman with this machine's settings; resolves with its exit code and output. */
export async function podman(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync("podman", [...PODMAN_FLAGS, ...args], {
      env: { ...process.env, CONTAINERS_CONF },
      // Not the checkout: conmon leaves an `oom` file in its working folder when a container is
      // killed for memory.
      cwd: path.dirname(CONTAINERS_CONF),
      maxBuffer: 64 * 2 ** 20,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === "number" ? failed.code : -1,
      stdout: failed.stdout ?? "",
      stderr: failed.stderr ?? "",
    };
  }
}

/** A podman call that must succeed: its stdout, trimmed. */
export async function podmanOk(args: string[]): Promise<string> {
  const result = await podman(args);
  if (result.code !== 0) {
    throw new Error(`podman ${args.join(" ")} failed (${result.code}): ${result.stderr}`);
  }
  return result.stdout.trim();
}

/**
 * The project the image test serves: the iris example, wrapped so that a payload `{"sleep": s}`
 * keeps a request in flight for `s` seconds (the drain) and `BALLAST_MB` in the predictor's
 * environment makes it hold that much memory (the memory limit).
 */
const WRAPPER = `"""The iris predictor, plus a slow request and a memory ballast for the image test."""
import importlib.util
import os
import time

_spec = importlib.util.spec_from_file_location(
    "iris_predictor", os.path.join(os.path.dirname(os.path.abspath(__file__)), "predictor.py")
)
_iris = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_iris)


class PythonPredictor(_iris.PythonPredictor):
    def __init__(self, config):
        # Written, not only reserved: the pages count against the container's memory limit.
        self.ballast = b"\\x01" * (int(os.environ.get("BALLAST_MB", "0")) * 2**20)
        super().__init__(config)

    def predict(self, payload):
        if isinstance(payload, dict) and "sleep" in payload:
            print("slow request started", flush=True)
            time.sleep(float(payload["sleep"]))
            return "slept"
        return super().predict(payload)
`;

/** A moto S3 bucket holding the test project's bundle; what the task definition needs of it. */
export interface ImageBundle {
  bucket: string;
  sha256: string;
}

/** Uploads the test project (plus `extra` files) as a bundle to `bucket` on the moto at `motoUrl`. */
export async function uploadTestBundle(
  motoUrl: string,
  bucket: string,
  extra: Record<string, string> = {},
): Promise<ImageBundle> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "axon-image-bundle-"));
  try {
    const project = path.join(dir, "project");
    mkdirSync(project);
    for (const file of ["predictor.py", "model.pkl"]) {
      copyFileSync(path.join(IRIS, file), path.join(project, file));
    }
    writeFileSync(path.join(project, "container_predictor.py"), WRAPPER);
    for (const [file, text] of Object.entries(extra)) writeFileSync(path.join(project, file), text);
    const archive = path.join(dir, "bundle.tar.gz");
    createTar({ gzip: true, file: archive, cwd: project, portable: true, sync: true }, [
      "predictor.py",
      "model.pkl",
      "container_predictor.py",
      ...Object.keys(extra),
    ]);
    const bytes = readFileSync(archive);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const s3 = new S3Client({
      region: "us-east-1",
      endpoint: motoUrl,
      forcePathStyle: true,
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    });
    await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: unknown) => {
      if ((error as Error).name !== "BucketAlreadyOwnedByYou") throw error;
    });
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: `bundles/${sha256}.tar.gz`, Body: bytes }),
    );
    s3.destroy();
    return { bucket, sha256 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The project files the image test's smoke tests send (`predictor.smoke_test.payload`): the iris
 * measurements (the model answers virginica) and a zero-second slow request (it answers "slept" and
 * prints "slow request started", so the container's log shows the smoke request ran).
 */
export const SMOKE_PAYLOADS = {
  "smoke-iris.json": "[5.9, 3.0, 5.1, 1.8]",
  "smoke-sleep.json": '{"sleep": 0}',
} as const;

/** What the test API adds to the wrapped iris predictor. */
export interface TestApiOptions {
  /** `networking.auth`. */
  auth?: "none" | "api_key";
  /** `predictor.smoke_test`: one of SMOKE_PAYLOADS and the answer it must contain. */
  smokeTest?: { payload: keyof typeof SMOKE_PAYLOADS; expectJson: unknown };
}

/** The test API's spec: the wrapped iris predictor, with `env` for the predictor. */
export function testApiSpec(
  env: Record<string, string> = {},
  options: TestApiOptions = {},
): ApiSpec {
  const envLines = Object.entries(env)
    .map(([name, value]) => `      ${name}: "${value}"\n`)
    .join("");
  const smoke = options.smokeTest;
  const yaml =
    "- name: iris-classifier\n  kind: RealtimeAPI\n  predictor:\n    type: python\n" +
    "    path: container_predictor.py\n" +
    (envLines === "" ? "" : `    env:\n${envLines}`) +
    (smoke === undefined
      ? ""
      : `    smoke_test:\n      payload: ${smoke.payload}\n      expect_status: 200\n` +
        // JSON is YAML's flow style: the expected answer goes in as it is.
        `      expect_json: ${JSON.stringify(smoke.expectJson)}\n`) +
    (options.auth === undefined ? "" : `  networking:\n    auth: ${options.auth}\n`);
  const spec = parseApiConfig(yaml, "axon.yaml").apis[0];
  if (spec === undefined) throw new Error("the test API's config has no API");
  return spec;
}

/** A cluster's refs as its stack would give them (the image is the one built here). */
export function clusterRefsFor(bucket: string, image = IMAGE_TAG): AwsClusterRefs {
  return {
    envName: "prod",
    region: "us-east-1",
    clusterName: "axon-demo",
    listenerArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/axon-demo/1/2",
    loadBalancerArn:
      "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/axon-demo/1",
    loadBalancerDnsName: "axon-demo-1.us-east-1.elb.amazonaws.com",
    bucketName: bucket,
    logGroupName: "/axon/demo",
    executionRoleArn: "arn:aws:iam::123456789012:role/execution",
    taskRoleArn: "arn:aws:iam::123456789012:role/task",
    taskSecurityGroupId: "sg-1",
    taskSubnetIds: ["subnet-1", "subnet-2"],
    assignPublicIp: true,
    vpcId: "vpc-1",
    image,
  };
}

/** The container definition of the task definition a deploy registers for `spec`. */
export function registeredContainer(spec: ApiSpec, bundle: ImageBundle) {
  const container = taskDefinitionInput(spec, clusterRefsFor(bundle.bucket), bundle.sha256)
    .containerDefinitions?.[0];
  if (container === undefined) throw new Error("the task definition has no container");
  return container;
}

/** A started container: its name (remove it with `removeContainer`). */
export interface RunningContainer {
  name: string;
  port: number;
}

/**
 * `podman run -d` of the image with the task definition's environment; only the port differs
 * (host networking: a free port of the machine), and AWS is moto's endpoint with test keys.
 */
export async function runReplicaContainer(options: {
  environment: Record<string, string>;
  port: number;
  motoUrl: string;
  extraArgs?: string[];
  image?: string;
}): Promise<RunningContainer> {
  const name = `axon-image-test-${randomBytes(4).toString("hex")}`;
  const env = {
    ...options.environment,
    AXON_PORT: String(options.port),
    AWS_ENDPOINT_URL: options.motoUrl,
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
  };
  await podmanOk([
    "run",
    "-d",
    "--name",
    name,
    "--network",
    "host",
    "--pull=never",
    ...(options.extraArgs ?? []),
    ...Object.entries(env).flatMap(([key, value]) => ["-e", `${key}=${value}`]),
    options.image ?? IMAGE_TAG,
  ]);
  return { name, port: options.port };
}

/** Removes the container, running or not. */
export async function removeContainer(name: string): Promise<void> {
  await podman(["rm", "-f", "-t", "0", name]);
}

/** The container's state: running, exited, …, its exit code and whether the OOM killer ended it. */
export async function containerState(
  name: string,
): Promise<{ status: string; exitCode: number; oomKilled: boolean }> {
  const [state] = JSON.parse(await podmanOk(["inspect", "--format", "json", name])) as Array<{
    State: { Status: string; ExitCode: number; OOMKilled: boolean };
  }>;
  if (state === undefined) throw new Error(`podman inspect ${name} returned nothing`);
  return {
    status: state.State.Status,
    exitCode: state.State.ExitCode,
    oomKilled: state.State.OOMKilled,
  };
}

/**
 * Polls `url` until it answers 200 (resolves with the milliseconds since `since`), or the container
 * has exited (rejects with its logs); at most `limitMs`.
 */
export async function firstOk(
  container: RunningContainer,
  url: string,
  since: number,
  limitMs = 120_000,
): Promise<number> {
  for (let polls = 0; polls < limitMs / 50; polls++) {
    const status = await fetch(url).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return performance.now() - since;
    if (polls % 20 === 19 && (await containerState(container.name)).status === "exited") {
      throw new Error(
        `the container exited before ${url} answered 200:\n${await podmanLogs(container.name)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `${url} did not answer 200 within ${limitMs} ms:\n${await podmanLogs(container.name)}`,
  );
}

/** The container's output (stdout and stderr). */
export async function podmanLogs(name: string): Promise<string> {
  const result = await podman(["logs", name]);
  return result.stdout + result.stderr;
}

/** A free TCP port on 127.0.0.1. */
export function freeHostPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === "string") reject(new Error("no port"));
        else resolve(address.port);
      });
    });
  });
}
