/**
 * Test helpers for real temporary folders: each is removed when the test that made it finishes.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { onTestFinished } from "vitest";
import {
  startFakeControlPlane,
  type FakeControlPlane,
  type FakeControlPlaneOptions,
} from "./fake-control-plane.js";

/** A fresh empty folder, deleted after the current test. */
export async function makeTempDir(prefix = "axon-cli-"): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes `files` (relative path → content) under `dir`, creating folders as needed. */
export async function writeFiles(
  dir: string,
  files: Record<string, string | Uint8Array>,
): Promise<void> {
  for (const [relative, content] of Object.entries(files)) {
    const file = path.join(dir, relative);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
}

/** The iris example's config, as a user would write it. */
export const IRIS_CONFIG = `- name: iris-classifier
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
`;

/** A minimal valid project: axon.yaml + predictor.py. */
export async function makeIrisProject(
  extra: Record<string, string | Uint8Array> = {},
): Promise<string> {
  const dir = await makeTempDir("axon-project-");
  await writeFiles(dir, {
    "axon.yaml": IRIS_CONFIG,
    "predictor.py":
      "class PythonPredictor:\n    def predict(self, payload):\n        return payload\n",
    ...extra,
  });
  return dir;
}

/** A fake daemon (see fake-control-plane.ts) in a fresh AXON_HOME, closed after the test. */
export async function startFakeDaemon(
  options: Partial<FakeControlPlaneOptions> = {},
): Promise<FakeControlPlane & { home: string; env: Record<string, string> }> {
  const home = options.home ?? (await makeTempDir("axon-home-"));
  const fake = await startFakeControlPlane({ ...options, home });
  onTestFinished(() => fake.close());
  return { ...fake, home, env: { AXON_HOME: home } };
}
