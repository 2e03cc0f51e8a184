/**
 * `npm run bench:container`: the replica image's size and its cold start, the time from
 * `podman run` to the first 200 of a prediction, in three cases:
 *
 * - base: the project has no requirements.txt (the predictor runs on the image's interpreter);
 * - pip: requirements.txt and no environment archive in the cluster bucket yet, so the task builds
 *   the environment (venv + `pip install`), archives it and stores it (the first task of a new
 *   requirements.txt);
 * - cached: the same project once that archive exists: the task downloads and unpacks it instead.
 *
 * The requirement is `scikit-learn`, which the stand-in base's python3-sklearn already satisfies
 * (PyPI is not reachable here), so "pip" measures the venv, pip's resolution of an installed
 * package, and archiving; a real install adds its downloads on top. With BENCH_TORCH=1 the
 * requirement is instead the local torch CPU wheel of /opt/wheels (192 MB) with its dependencies
 * from the machine's file:// index, mounted read-only into the container: an offline install of a
 * torch-sized environment.
 *
 * Containers use the host network and are removed after each run; moto is the S3.
 * Knobs: BENCH_RUNS (3) runs per case, BENCH_TORCH (unset).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";

// Imported by their .ts paths: Node strips their types (they import nothing that needs compiling).
type Helpers = typeof import("../test/replica-image-helpers.js");
type Moto = typeof import("../packages/control-plane/src/providers/aws/testing/moto-server.js");
const {
  buildReplicaImage,
  firstOk,
  freeHostPort,
  IMAGE_TAG,
  missingContainerTools,
  podmanLogs,
  podmanOk,
  registeredContainer,
  removeContainer,
  runReplicaContainer,
  testApiSpec,
  uploadTestBundle,
} = (await import(new URL("../test/replica-image-helpers.ts", import.meta.url).href)) as Helpers;
const { startMoto } = (await import(
  new URL("../packages/control-plane/src/providers/aws/testing/moto-server.ts", import.meta.url)
    .href
)) as Moto;

const IRIS_REQUEST = [5.9, 3.0, 5.1, 1.8];
const RUNS = Number(process.env["BENCH_RUNS"] ?? "3");
const TORCH = process.env["BENCH_TORCH"] === "1";
const WHEELS = "/opt/wheels";

const missing = missingContainerTools();
if (missing.length > 0) {
  console.error(`bench:container needs ${missing.join(", ")} (scripts/setup.sh installs them)`);
  process.exit(2);
}

const buildSeconds = await buildReplicaImage();
const imageBytes = async (image: string): Promise<number> =>
  Number(await podmanOk(["image", "inspect", "--format", "{{.Size}}", image]));
const size = await imageBytes(IMAGE_TAG);
// The stand-in Python base carries Debian's scikit-learn/scipy/numpy (for iris), so the image's
// total says little about a real one; the layers above the base are Axon's own.
const bases = Object.fromEntries(
  readFileSync(new URL("../.axon-cache/replica-image/bases.env", import.meta.url), "utf8")
    .trim()
    .split("\n")
    .map((line) => line.split("=") as [string, string]),
);
const baseSize = await imageBytes(bases["PYTHON_BASE"] ?? "");
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
console.log(
  `image ${IMAGE_TAG}: ${mib(size)} in all; ${mib(size - baseSize)} above its Python base (${mib(baseSize)}: Debian bookworm + python3 + python3-sklearn); build ${buildSeconds.toFixed(1)} s with cached bases`,
);

const moto = await startMoto();
const s3 = new S3Client({
  region: "us-east-1",
  endpoint: moto.url,
  forcePathStyle: true,
  credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
});
const bucket = "axon-bench-bundlebucket-1";

/** Removes every environment archive, so that the next task builds its environment. */
async function forgetEnvironments(): Promise<void> {
  const listed = await s3.send(
    new ListObjectsV2Command({ Bucket: bucket, Prefix: "environments/" }),
  );
  const keys = (listed.Contents ?? []).flatMap((object) =>
    object.Key === undefined ? [] : [{ Key: object.Key }],
  );
  if (keys.length > 0)
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
}

function torchRequirements(): {
  requirements: string;
  mounts: string[];
  env: Record<string, string>;
} {
  const wheel = existsSync(WHEELS)
    ? readdirSync(WHEELS).find((file) => file.startsWith("torch-"))
    : undefined;
  if (wheel === undefined) throw new Error(`BENCH_TORCH=1 needs a torch wheel in ${WHEELS}`);
  const indexes = ["/opt/pypi", "/opt/pypi-more"].filter((dir) => existsSync(dir));
  return {
    requirements: `${WHEELS}/${wheel}\n`,
    mounts: [WHEELS, ...indexes].flatMap((dir) => ["-v", `${dir}:${dir}:ro`]),
    env: {
      PIP_FIND_LINKS: WHEELS,
      PIP_INDEX_URL: `file://${indexes[0] ?? WHEELS}/simple`,
      PIP_EXTRA_INDEX_URL: indexes
        .slice(1)
        .map((dir) => `file://${dir}/simple`)
        .join(" "),
    },
  };
}

const torch = TORCH ? torchRequirements() : undefined;
const withoutRequirements = await uploadTestBundle(moto.url, bucket);
const withRequirements = await uploadTestBundle(moto.url, bucket, {
  "requirements.txt": torch?.requirements ?? "scikit-learn\n",
});

/** One cold start: `podman run` to the first 200 of a prediction, in milliseconds. */
async function coldStart(bundle: typeof withRequirements, expectLog: string): Promise<number> {
  const definition = registeredContainer(testApiSpec(), bundle);
  const environment = {
    ...Object.fromEntries(
      (definition.environment ?? []).map(({ name, value }) => [name ?? "", value ?? ""]),
    ),
    ...torch?.env,
  };
  const port = await freeHostPort();
  const started = performance.now();
  const container = await runReplicaContainer({
    environment,
    port,
    motoUrl: moto.url,
    extraArgs: torch?.mounts ?? [],
  });
  try {
    // POST until 200: 503 while the replica starts (the front listens from the beginning)
    const url = `http://127.0.0.1:${port}/iris-classifier`;
    for (let polls = 0; ; polls++) {
      const status = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(IRIS_REQUEST),
      }).then(
        (response) => response.status,
        () => 0,
      );
      if (status === 200) break;
      if (polls > 20 * 600)
        throw new Error(`no 200 within 10 minutes:\n${await podmanLogs(container.name)}`);
      if (polls % 20 === 19)
        await firstOk(container, `http://127.0.0.1:${port}/livez`, started, 1000).catch(
          () => undefined,
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const elapsed = performance.now() - started;
    const logs = await podmanLogs(container.name);
    if (!logs.includes(expectLog)) throw new Error(`expected "${expectLog}" in the logs:\n${logs}`);
    return elapsed;
  } finally {
    await removeContainer(container.name);
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const results: Record<string, number[]> = { base: [], pip: [], cached: [] };
for (let run = 0; run < RUNS; run++) {
  results["base"]?.push(await coldStart(withoutRequirements, "ready: POST"));
  await forgetEnvironments();
  results["pip"]?.push(await coldStart(withRequirements, "building it from requirements.txt"));
  results["cached"]?.push(await coldStart(withRequirements, "pip not run"));
  console.log(
    `run ${run + 1}/${RUNS}: base ${(results["base"]?.at(-1) ?? 0).toFixed(0)} ms, pip ${(results["pip"]?.at(-1) ?? 0).toFixed(0)} ms, cached ${(results["cached"]?.at(-1) ?? 0).toFixed(0)} ms`,
  );
}
console.log(
  `\ncold start, podman run → first 200 of a prediction (median of ${RUNS}; requirement: ${torch === undefined ? "scikit-learn, already in the base" : "the torch CPU wheel, offline"})`,
);
for (const [name, values] of Object.entries(results)) {
  console.log(
    `  ${name.padEnd(7)} ${(median(values) / 1000).toFixed(2)} s   (${values.map((value) => (value / 1000).toFixed(2)).join(", ")})`,
  );
}
const pip = median(results["pip"] ?? []);
const cached = median(results["cached"] ?? []);
console.log(
  `  cached environment saves ${((pip - cached) / 1000).toFixed(2)} s per task start (${(pip / cached).toFixed(2)}× faster)`,
);
s3.destroy();
await moto.stop();
