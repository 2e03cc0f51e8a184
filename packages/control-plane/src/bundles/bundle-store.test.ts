import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { create } from "tar";
import { StateStore } from "../state/store.js";
import { BundleStore, projectHas } from "./bundle-store.js";

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

function setup(): { home: string; bundles: BundleStore } {
  const home = tempDir("axon-bundles-");
  const store = StateStore.open(path.join(home, "state.db"));
  stores.push(store);
  return { home, bundles: new BundleStore(home, store) };
}

function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** Writes a tar.gz with Python's tarfile, which (unlike node-tar) will write hostile entries. */
function pythonTar(file: string, script: string): void {
  execFileSync("python3", [
    "-c",
    `import tarfile, io\nt = tarfile.open(${JSON.stringify(file)}, "w:gz")\n${script}\nt.close()`,
  ]);
}

describe("BundleStore", () => {
  test("stores a project by hash and unpacks it once", async () => {
    // Given a project archive
    const project = tempDir("axon-project-");
    mkdirSync(path.join(project, "pkg"));
    writeFileSync(path.join(project, "predictor.py"), "class PythonPredictor: pass\n");
    writeFileSync(path.join(project, "pkg", "util.py"), "X = 1\n");
    const archive = path.join(tempDir("axon-archive-"), "p.tar.gz");
    create({ gzip: true, file: archive, cwd: project, sync: true }, ["predictor.py", "pkg"]);
    const { bundles } = setup();
    const sha = sha256(archive);

    // When it is received and unpacked
    const received = await bundles.receive(sha, createReadStream(archive));
    const dir = await bundles.unpack(sha);

    // Then its files are there and the store knows the bundle
    expect(received.sha256).toBe(sha);
    expect(bundles.has(sha)).toBe(true);
    expect(readFileSync(path.join(dir, "pkg", "util.py"), "utf8")).toBe("X = 1\n");
    expect(projectHas(dir, "predictor.py")).toBe(true);
    expect(projectHas(dir, "../predictor.py")).toBe(false);
    // A trailing slash asks for a folder (predictor.python_path), none for a file.
    expect(projectHas(dir, "pkg/")).toBe(true);
    expect(projectHas(dir, "predictor.py/")).toBe(false);
    expect(projectHas(dir, "pkg")).toBe(false);
    expect(await bundles.unpack(sha)).toBe(dir);
  });

  test("rejects an upload whose bytes do not match the claimed hash", async () => {
    const archive = path.join(tempDir("axon-archive-"), "p.tar.gz");
    pythonTar(
      archive,
      `d = b"x"\ni = tarfile.TarInfo("a.py"); i.size = 1; t.addfile(i, io.BytesIO(d))`,
    );
    const { bundles } = setup();
    await expect(bundles.receive("0".repeat(64), createReadStream(archive))).rejects.toMatchObject({
      code: "bundle.hash_mismatch",
    });
    expect(bundles.has("0".repeat(64))).toBe(false);
  });

  test.each([
    [
      "a path escaping with ..",
      `i = tarfile.TarInfo("../evil.py"); i.size = 0; t.addfile(i, io.BytesIO(b""))`,
      "stay inside",
    ],
    [
      "an absolute path",
      `i = tarfile.TarInfo("/tmp/evil.py"); i.size = 0; t.addfile(i, io.BytesIO(b""))`,
      "stay inside",
    ],
    [
      "a symlink out of the project",
      `i = tarfile.TarInfo("link"); i.type = tarfile.SYMTYPE; i.linkname = "/etc/passwd"; t.addfile(i)`,
      "symbolic link",
    ],
    [
      "a device file",
      `i = tarfile.TarInfo("dev"); i.type = tarfile.CHRTYPE; t.addfile(i)`,
      "not allowed",
    ],
  ])("rejects %s and stores nothing", async (_name, script, message) => {
    const archive = path.join(tempDir("axon-archive-"), "p.tar.gz");
    pythonTar(archive, script);
    const { home, bundles } = setup();
    const sha = sha256(archive);
    await expect(bundles.receive(sha, createReadStream(archive))).rejects.toMatchObject({
      code: "bundle.unsafe",
    });
    await expect(bundles.receive(sha, createReadStream(archive))).rejects.toThrow(message);
    expect(bundles.has(sha)).toBe(false);
    expect(existsSync(path.join(home, "projects", sha))).toBe(false);
  });

  test("rejects bytes that are not a tar archive", async () => {
    const file = path.join(tempDir("axon-archive-"), "junk");
    writeFileSync(file, "this is not a tarball");
    const { bundles } = setup();
    await expect(bundles.receive(sha256(file), createReadStream(file))).rejects.toMatchObject({
      code: "bundle.invalid",
    });
  });
});
