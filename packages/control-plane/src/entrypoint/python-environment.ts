/**
 * The Python environment of a replica container, built once per cluster rather than at every task
 * start (issue 26, finding 8). Like the local engine's content-addressed environments
 * (`providers/local/environments/`), an environment is named by a key over what it is built from
 * (the base interpreter and its version, requirements.txt, dependencies.sh) and here also over
 * where it lives (a virtual environment is not relocatable) and the CPU architecture. The first task
 * that needs it builds it and stores it as an archive in the cluster bucket
 * (`environments/<key>.tar.gz`); later tasks download and unpack it instead of running pip.
 *
 * dependencies.sh still runs at every start: what it installs lands outside the virtual
 * environment (apt packages, files under /usr), which the archive cannot hold.
 *
 * Storing is best effort: a task whose role may not write the bucket (a cluster stack from before
 * this change) logs why and serves anyway; the next task builds again.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { appendFile, mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import {
  environmentKey,
  needsEnvironment,
  probeBaseInterpreter,
  readEnvironmentInputs,
} from "../providers/local/environments/environment-inputs.js";
import { environmentArchiveKey } from "../providers/aws/replica-env.js";
import type { S3Port } from "../providers/aws/sdk.js";

/** Where the interpreter that runs the predictor came from. */
export type EnvironmentSource = "base" | "downloaded" | "built";

export interface PreparedEnvironment {
  python: string;
  source: EnvironmentSource;
  /** The cache key, when the project needs an environment. */
  key?: string;
}

/** A problem building the environment: names the step and what to do. */
export class ReplicaEnvironmentError extends Error {
  override readonly name = "ReplicaEnvironmentError";
}

/** Identifies how archives are made; bump when an older archive would not fit a newer image. */
const ARCHIVE_SCHEME = "axon-ecs-env/1";

/**
 * The interpreter that runs the predictor: the base one when the project has no requirements, else
 * a virtual environment (seeing the base's packages) from the cluster bucket, or built with pip and
 * stored there.
 */
export async function prepareEnvironment(
  options: {
    projectDir: string;
    workDir: string;
    basePython: string;
    bucket: string;
    /** Bytes per ranged GET of the archive (default 64 MiB). */
    chunkBytes?: number;
  },
  deps: { s3: S3Port; log: (message: string) => void; signal?: AbortSignal },
): Promise<PreparedEnvironment> {
  const { projectDir, workDir, basePython, bucket } = options;
  const run = (command: string, args: string[], cwd: string): Promise<void> =>
    runStep(command, args, cwd, deps.log, deps.signal);
  if (existsSync(path.join(projectDir, "conda-packages.txt"))) {
    throw new ReplicaEnvironmentError(
      "conda-packages.txt is not supported by the replica image (it has no conda); use requirements.txt",
    );
  }
  if (existsSync(path.join(projectDir, "dependencies.sh"))) {
    deps.log("running dependencies.sh");
    await run("bash", ["dependencies.sh"], projectDir);
  }
  const base = await probeBaseInterpreter(basePython);
  const inputs = readEnvironmentInputs(projectDir, base, false);
  // dependencies.sh alone needs no virtual environment: it changed the base above.
  if (!needsEnvironment({ ...inputs, dependenciesSh: null })) {
    return { python: basePython, source: "base" };
  }
  const venv = path.join(workDir, "env");
  const key = createHash("sha256")
    .update(JSON.stringify([ARCHIVE_SCHEME, environmentKey(inputs), venv, process.arch]))
    .digest("hex")
    .slice(0, 32);
  const objectKey = environmentArchiveKey(key);
  const where = `s3://${bucket}/${objectKey}`;
  const python = path.join(venv, "bin", "python");
  const archive = path.join(workDir, "env.tar.gz");

  const started = Date.now();
  const cached = await download(
    deps.s3,
    { bucket, key: objectKey, file: archive },
    options.chunkBytes ?? DOWNLOAD_CHUNK_BYTES,
  );
  if (cached.bytes !== undefined) {
    await rm(venv, { recursive: true, force: true });
    await mkdir(venv, { recursive: true });
    // GNU tar (in every Debian image): it keeps the environment's absolute symlink to the base
    // interpreter (bin/python), which the tar package refuses, and it is faster on large archives.
    await run("tar", ["-xzf", archive, "-C", venv], venv);
    await rm(archive, { force: true });
    deps.log(
      `Python environment ${key} unpacked from ${where} (${formatMiB(cached.bytes)}, ${Date.now() - started} ms): pip not run`,
    );
    return { python, source: "downloaded", key };
  }
  deps.log(
    `Python environment ${key} is not in ${where}${cached.why === undefined ? "" : ` (${cached.why})`}: building it from requirements.txt`,
  );
  await rm(venv, { recursive: true, force: true });
  await run(basePython, ["-m", "venv", "--system-site-packages", venv], projectDir);
  await run(
    python,
    ["-m", "pip", "install", "--no-input", "--disable-pip-version-check", "-r", "requirements.txt"],
    projectDir,
  );
  // Packed before the predictor starts: its imports write __pycache__ files into the environment.
  // gzip -1: several times faster than the default on a torch-sized environment, for an archive a
  // little larger (the download within a region is the cheaper side).
  await run("tar", ["-I", "gzip -1", "-cf", archive, "-C", venv, "."], venv);
  try {
    // Read whole (a single PUT takes up to 5 GB), once, by the first task of new requirements:
    // the SDK streams a file only with aws-chunked encoding, which moto (the tests' S3) stalls on.
    const bytes = await readFile(archive);
    const size = bytes.length;
    await deps.s3.putObject({ Bucket: bucket, Key: objectKey, Body: bytes });
    deps.log(`Python environment ${key} stored in ${where} (${formatMiB(size)})`);
  } catch (error) {
    deps.log(
      `Python environment ${key} not stored in ${where} (${describe(error)}): the next task builds it again; the task role needs s3:PutObject on environments/*`,
    );
  } finally {
    await rm(archive, { force: true });
  }
  return { python, source: "built", key };
}

/** Bytes fetched per GetObject: what the download holds in memory at a time. */
const DOWNLOAD_CHUNK_BYTES = 64 * 2 ** 20;

/**
 * Downloads the archive to `file` in ranged GETs (a torch-sized environment is larger than a small
 * task's memory; the S3 port reads a response whole); resolves with its size, or why there is none.
 * Absent (NoSuchKey) is the expected miss; any other failure (AccessDenied from a role without the
 * environments/ grant, a network error) also falls back to building, since the task can still
 * serve. GetObject's `Range` header (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html)
 * returns at most the range; a range that starts at the object's end is refused with InvalidRange,
 * 416 (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html; moto 5 answers the
 * same), which ends an object whose size is a multiple of the chunk.
 */
async function download(
  s3: S3Port,
  { bucket, key, file }: { bucket: string; key: string; file: string },
  chunkBytes: number,
): Promise<{ bytes?: number; why?: string }> {
  await rm(file, { force: true });
  let received = 0;
  try {
    for (;;) {
      let chunk: Uint8Array;
      try {
        chunk = await s3.getObjectBytes({
          Bucket: bucket,
          Key: key,
          Range: `bytes=${received}-${received + chunkBytes - 1}`,
        });
      } catch (error) {
        if (received > 0 && error instanceof Error && error.name === "InvalidRange") break;
        throw error;
      }
      await appendFile(file, chunk);
      received += chunk.length;
      if (chunk.length < chunkBytes) break;
    }
    return { bytes: received };
  } catch (error) {
    await rm(file, { force: true });
    const name = error instanceof Error ? error.name : "";
    return name === "NoSuchKey" || name === "NotFound" ? {} : { why: describe(error) };
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.name === "Error" ? error.message : `${error.name}: ${error.message}`;
}

function formatMiB(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** Runs a build step, relaying its output lines; rejects naming the command and how it ended. */
export function runStep(
  command: string,
  args: string[],
  cwd: string,
  log: (message: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    // An abort (the container is stopping) ends the step with SIGTERM; pip leaves nothing stored.
    const child = spawn(command, args, {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      ...(signal === undefined ? {} : { signal }),
    });
    const relay = (chunk: Buffer): void => {
      for (const line of chunk.toString().split("\n")) if (line.trim() !== "") log(line);
    };
    child.stdout.on("data", relay);
    child.stderr.on("data", relay);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new ReplicaEnvironmentError(
            `${[command, ...args].join(" ")} failed (${code === null ? `signal ${signal ?? "?"}` : `exit code ${code}`})`,
          ),
        );
    });
  });
}
