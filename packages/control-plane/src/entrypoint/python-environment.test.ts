/**
 * The replica's Python environment with a real interpreter and pip (Debian's python3, whose
 * scikit-learn satisfies the requirement offline) and an in-memory S3 port: the bucket answers that
 * moto does not give (AccessDenied from a task role without the environments/ grant) are what these
 * cases are about. The moto path, a second task unpacking a stored archive, is in
 * test/aws-replica-entrypoint.test.ts.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import type { S3Port } from "../providers/aws/sdk.js";
import { prepareEnvironment } from "./python-environment.js";

const PYTHON = process.env["AXON_TEST_IRIS_PYTHON"] ?? "/usr/bin/python3";
const HAS_SKLEARN = spawnSync(PYTHON, ["-c", "import sklearn"]).status === 0;

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A project folder with `files`, and an empty work folder. */
function project(files: Record<string, string>): { projectDir: string; workDir: string } {
  const root = mkdtempSync(path.join(os.tmpdir(), "axon-pyenv-"));
  roots.push(root);
  const projectDir = path.join(root, "project");
  const workDir = path.join(root, "work");
  mkdirSync(projectDir);
  mkdirSync(workDir);
  for (const [name, text] of Object.entries(files))
    writeFileSync(path.join(projectDir, name), text);
  return { projectDir, workDir };
}

/** An S3 port that records its calls; `get` and `put` decide the answers. */
function s3Port(answers: { get: () => Uint8Array; put: () => void }): S3Port & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    listObjectsV2: () => Promise.reject(new Error("not used")),
    deleteObjects: () => Promise.reject(new Error("not used")),
    getObjectWithEtag: () => Promise.reject(new Error("not used")),
    putObject: (input) => {
      calls.push(`put ${input.Key ?? ""}`);
      answers.put();
      return Promise.resolve({});
    },
    getObjectBytes: (input) => {
      calls.push(`get ${input.Key ?? ""}`);
      return Promise.resolve().then(answers.get);
    },
  };
}

function awsError(name: string): Error {
  const error = new Error(`${name} (from the fake bucket)`);
  error.name = name;
  return error;
}

describe("prepareEnvironment", () => {
  test("Given a project without requirements.txt, the base interpreter runs it and the bucket is not asked", async () => {
    const { projectDir, workDir } = project({ "predictor.py": "" });
    const s3 = s3Port({ get: () => new Uint8Array(), put: () => undefined });
    const prepared = await prepareEnvironment(
      { projectDir, workDir, basePython: PYTHON, bucket: "b" },
      { s3, log: () => undefined },
    );
    expect(prepared).toEqual({ python: PYTHON, source: "base" });
    expect(s3.calls).toEqual([]);
  });

  test("Given conda-packages.txt, it refuses naming the file and what to use instead", async () => {
    const { projectDir, workDir } = project({ "conda-packages.txt": "numpy\n" });
    const s3 = s3Port({ get: () => new Uint8Array(), put: () => undefined });
    await expect(
      prepareEnvironment(
        { projectDir, workDir, basePython: PYTHON, bucket: "b" },
        { s3, log: () => undefined },
      ),
    ).rejects.toThrow(/conda-packages\.txt is not supported .*use requirements\.txt/);
  });

  test.skipIf(!HAS_SKLEARN)(
    `Given a task role that may neither read nor write environments/ (AccessDenied), the task builds the environment with pip, says why it was not stored, and runs from it (skipped without scikit-learn in ${PYTHON})`,
    async () => {
      const { projectDir, workDir } = project({ "requirements.txt": "scikit-learn\n" });
      const s3 = s3Port({
        get: () => {
          throw awsError("AccessDenied");
        },
        put: () => {
          throw awsError("AccessDenied");
        },
      });
      const lines: string[] = [];
      const prepared = await prepareEnvironment(
        { projectDir, workDir, basePython: PYTHON, bucket: "b" },
        { s3, log: (line) => lines.push(line) },
      );
      expect(prepared.source).toBe("built");
      expect(prepared.python).toBe(path.join(workDir, "env", "bin", "python"));
      expect(s3.calls).toEqual([
        `get environments/${prepared.key ?? ""}.tar.gz`,
        `put environments/${prepared.key ?? ""}.tar.gz`,
      ]);
      const log = lines.join("\n");
      expect(log).toContain("(AccessDenied: AccessDenied (from the fake bucket)): building it");
      expect(log).toContain("Requirement already satisfied: scikit-learn");
      expect(log).toMatch(/not stored in s3:\/\/b\/environments\/.*s3:PutObject on environments/);
      // And the environment it runs from sees the base's packages
      const run = spawnSync(prepared.python, ["-c", "import sklearn"]);
      expect(run.status).toBe(0);
    },
    120_000,
  );

  test.skipIf(!HAS_SKLEARN)(
    "Given an archive a first task stored, a second task on a fresh file system downloads it in ranges (the last one past the end refused, as S3 does), unpacks it and does not run pip",
    async () => {
      // A bucket in memory that answers ranges as S3 does: InvalidRange for a start past the end
      const objects = new Map<string, Buffer>();
      const ranges: string[] = [];
      const bucket: S3Port = {
        listObjectsV2: () => Promise.reject(new Error("not used")),
        deleteObjects: () => Promise.reject(new Error("not used")),
        getObjectWithEtag: () => Promise.reject(new Error("not used")),
        putObject: (input) => {
          objects.set(input.Key ?? "", Buffer.from(input.Body as Uint8Array));
          return Promise.resolve({});
        },
        getObjectBytes: (input) => {
          const object = objects.get(input.Key ?? "");
          if (object === undefined) return Promise.reject(awsError("NoSuchKey"));
          const [from = 0, to = 0] = (/bytes=(\d+)-(\d+)/.exec(input.Range ?? "") ?? [])
            .slice(1)
            .map(Number);
          ranges.push(input.Range ?? "");
          if (from >= object.length) return Promise.reject(awsError("InvalidRange"));
          return Promise.resolve(new Uint8Array(object.subarray(from, to + 1)));
        },
      };
      const first = project({ "requirements.txt": "scikit-learn\n" });
      const built = await prepareEnvironment(
        { ...first, basePython: PYTHON, bucket: "b" },
        { s3: bucket, log: () => undefined },
      );
      expect(built.source).toBe("built");
      const stored = objects.get(`environments/${built.key ?? ""}.tar.gz`);
      expect(stored).toBeDefined();

      // When tasks with the same requirements start where the first one's environment is gone:
      // one reading the archive in three ranges, one in a range of exactly its size (so its second
      // GET starts at the end and is refused)
      const size = stored?.length ?? 0;
      for (const chunkBytes of [Math.ceil(size / 3), size]) {
        rmSync(path.join(first.workDir, "env"), { recursive: true, force: true });
        ranges.splice(0);
        const lines: string[] = [];
        const again = await prepareEnvironment(
          { ...first, basePython: PYTHON, bucket: "b", chunkBytes },
          { s3: bucket, log: (line) => lines.push(line) },
        );

        // Then it unpacked the stored archive, range by range, and pip did not run
        expect(again).toEqual({ ...built, source: "downloaded" });
        // (a last, short range ends it; or, when the chunks divide it, a refused one past the end)
        expect(ranges).toHaveLength(Math.floor(size / chunkBytes) + 1);
        expect(lines.join("\n")).toContain("pip not run");
        expect(lines.join("\n")).not.toContain("Requirement already satisfied");
        expect(spawnSync(again.python, ["-c", "import sklearn"]).status).toBe(0);
      }
    },
    120_000,
  );
});
