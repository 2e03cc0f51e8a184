import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { create } from "tar";
import { StateStore, type ApiVersionRecord } from "../state/store.js";
import { apiSpec } from "../testing/specs.js";
import type { ArchiveLimits } from "./archive-check.js";
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

function setup(options: { limits?: ArchiveLimits; now?: () => number } = {}): {
  home: string;
  store: StateStore;
  bundles: BundleStore;
} {
  const home = tempDir("axon-bundles-");
  const store = StateStore.open(path.join(home, "state.db"));
  stores.push(store);
  return { home, store, bundles: new BundleStore(home, store, options) };
}

/** A stored version of `apiName` running `bundle` (whatever else the record holds is not read). */
function version(id: string, apiName: string, bundle: string): ApiVersionRecord {
  const base = {
    id,
    apiName,
    spec: apiSpec(apiName),
    specHash: `hash-${id}`,
    bundle,
    configFile: "axon.yaml",
    projectPath: null,
    artifact: {},
    createdAt: new Date().toISOString(),
  };
  const notRead = { liveAt: null };
  return { ...base, ...notRead };
}

/** A tar.gz of one small file, different for each `content`. */
function smallArchive(content: string): string {
  const archive = path.join(tempDir("axon-archive-"), "p.tar.gz");
  pythonTar(
    archive,
    `d = ${JSON.stringify(content)}.encode()\ni = tarfile.TarInfo("predictor.py"); i.size = len(d); t.addfile(i, io.BytesIO(d))`,
  );
  return archive;
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
  test("unpacks a project readable by the daemon's user alone, the executable bit kept, and closes one an older daemon left open", async () => {
    // Given a project with a 0644 file, a 0755 script and a 0755 folder
    const project = tempDir("axon-project-");
    mkdirSync(path.join(project, "pkg"), { mode: 0o755 });
    writeFileSync(path.join(project, "predictor.py"), "class PythonPredictor: pass\n", {
      mode: 0o644,
    });
    writeFileSync(path.join(project, "pkg", "run.sh"), "#!/bin/sh\n", { mode: 0o755 });
    const archive = path.join(tempDir("axon-archive-"), "p.tar.gz");
    create({ gzip: true, file: archive, cwd: project, sync: true, portable: true }, [
      "predictor.py",
      "pkg",
    ]);
    const { bundles } = setup();
    const sha = sha256(archive);
    await bundles.receive(sha, createReadStream(archive));

    // When it is unpacked
    const dir = await bundles.unpack(sha);

    // Then nothing in it is open to group or others
    const mode = (file: string): number => statSync(path.join(dir, file)).mode & 0o777;
    expect([mode("."), mode("pkg"), mode("predictor.py"), mode("pkg/run.sh")]).toEqual([
      0o700, 0o700, 0o600, 0o700,
    ]);

    // And when an older daemon had left it 0755/0644, the next unpack closes it
    chmodSync(dir, 0o755);
    chmodSync(path.join(dir, "predictor.py"), 0o644);
    expect(await bundles.unpack(sha)).toBe(dir);
    expect([mode("."), mode("predictor.py")]).toEqual([0o700, 0o600]);
  });

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
      // The old checker resolved a/s/t lexically (a/s/.. = a): inside. Extracted, a/s is the
      // project folder, so a/s/t would be written in the folder above it.
      "a chain of symlinks that each look inside (a/s -> .., a/s/t -> ..)",
      `for n in ("a/s", "a/s/t"):\n  i = tarfile.TarInfo(n); i.type = tarfile.SYMTYPE; i.linkname = ".."; t.addfile(i)`,
      "a/s/t: is written through the symbolic link a/s",
    ],
    [
      "a symlink whose target passes through an inside symlink (a/s -> .., b -> a/s/..)",
      `i = tarfile.TarInfo("a/s"); i.type = tarfile.SYMTYPE; i.linkname = ".."; t.addfile(i)\ni = tarfile.TarInfo("b"); i.type = tarfile.SYMTYPE; i.linkname = "a/s/.."; t.addfile(i)`,
      "b: symbolic link points through the symbolic link a/s (a/s/..)",
    ],
    [
      // Lexically d/up/../../etc/passwd is etc/passwd, inside; through d/up it is ../etc/passwd.
      "a hard link through an inside symlink",
      `i = tarfile.TarInfo("d/up"); i.type = tarfile.SYMTYPE; i.linkname = ".."; t.addfile(i)\ni = tarfile.TarInfo("h"); i.type = tarfile.LNKTYPE; i.linkname = "d/up/../../etc/passwd"; t.addfile(i)`,
      "h: hard link points through the symbolic link d/up",
    ],
    [
      "an absolute symlink under the old checker's fake root",
      `i = tarfile.TarInfo("link"); i.type = tarfile.SYMTYPE; i.linkname = "/bundle-root/../etc/passwd"; t.addfile(i)`,
      'link: symbolic link target "/bundle-root/../etc/passwd" must be a relative path',
    ],
    [
      "a hard link to a file the archive does not hold",
      `i = tarfile.TarInfo("h"); i.type = tarfile.LNKTYPE; i.linkname = "missing.py"; t.addfile(i)`,
      "h: hard link names no file stored before it (missing.py)",
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

  test("accepts links that stay inside", async () => {
    // Given links a real project could hold: a/s -> .. (the project folder), b -> lib,
    // a/c -> ../lib/x.py, a hard link to a stored file, a dangling link that would stay inside
    const archive = path.join(tempDir("axon-archive-"), "p.tar.gz");
    pythonTar(
      archive,
      [
        `i = tarfile.TarInfo("lib/x.py"); i.size = 1; t.addfile(i, io.BytesIO(b"x"))`,
        `i = tarfile.TarInfo("a/s"); i.type = tarfile.SYMTYPE; i.linkname = ".."; t.addfile(i)`,
        `i = tarfile.TarInfo("b"); i.type = tarfile.SYMTYPE; i.linkname = "lib"; t.addfile(i)`,
        `i = tarfile.TarInfo("a/c"); i.type = tarfile.SYMTYPE; i.linkname = "../lib/x.py"; t.addfile(i)`,
        `i = tarfile.TarInfo("h.py"); i.type = tarfile.LNKTYPE; i.linkname = "lib/x.py"; t.addfile(i)`,
        `i = tarfile.TarInfo("later"); i.type = tarfile.SYMTYPE; i.linkname = "not/yet"; t.addfile(i)`,
      ].join("\n"),
    );
    const { bundles } = setup();
    const sha = sha256(archive);

    // When it is received and unpacked
    await bundles.receive(sha, createReadStream(archive));
    const dir = await bundles.unpack(sha);

    // Then the links work inside the project
    expect(readFileSync(path.join(dir, "b", "x.py"), "utf8")).toBe("x");
    expect(readFileSync(path.join(dir, "h.py"), "utf8")).toBe("x");
    expect(readFileSync(path.join(dir, "a", "c"), "utf8")).toBe("x");
    expect(readFileSync(path.join(dir, "a", "s", "lib", "x.py"), "utf8")).toBe("x");
  });

  test("refuses a decompression bomb from its header, before inflating it", async () => {
    // Given 8 MiB of zeros (a few KiB gzip'd) and a 1 MiB limit on the expanded size
    const archive = path.join(tempDir("axon-archive-"), "bomb.tar.gz");
    pythonTar(
      archive,
      `i = tarfile.TarInfo("zeros.bin"); i.size = 8 << 20; t.addfile(i, io.BytesIO(bytes(8 << 20)))`,
    );
    const { home, bundles } = setup({ limits: { maxExpandedBytes: 1 << 20, maxEntries: 100 } });
    const sha = sha256(archive);

    // When it is uploaded
    const upload = bundles.receive(sha, createReadStream(archive));

    // Then it is refused with a 413 naming the limit and the entry, and nothing is stored
    await expect(upload).rejects.toMatchObject({
      code: "bundle.too_large",
      status: 413,
      message: "the project bundle expands to more than 1 MiB (at zeros.bin)",
    });
    expect(bundles.has(sha)).toBe(false);
    expect(readdirSync(path.join(home, "bundles"))).toEqual([]);
  });

  test("refuses inflated bytes over the limit even when the headers declare little", async () => {
    // Given an archive with 2 MiB of zeros after its end-of-archive blocks (headers say 1 byte)
    const archive = path.join(tempDir("axon-archive-"), "padded.tar.gz");
    execFileSync("python3", [
      "-c",
      `import tarfile, io, gzip\nb = io.BytesIO()\nt = tarfile.open(fileobj=b, mode="w")\ni = tarfile.TarInfo("a.py"); i.size = 1; t.addfile(i, io.BytesIO(b"x"))\nt.close()\nopen(${JSON.stringify(archive)}, "wb").write(gzip.compress(b.getvalue() + bytes(2 << 20)))`,
    ]);
    const { bundles } = setup({ limits: { maxExpandedBytes: 1 << 20, maxEntries: 100 } });

    // When it is uploaded, then the inflated count stops it
    await expect(bundles.receive(sha256(archive), createReadStream(archive))).rejects.toMatchObject(
      { code: "bundle.too_large", message: "the project bundle expands to more than 1 MiB" },
    );
  });

  test("refuses an archive with more entries than the limit", async () => {
    // Given 50 empty files and a limit of 20 entries
    const archive = path.join(tempDir("axon-archive-"), "many.tar.gz");
    pythonTar(
      archive,
      `for n in range(50):\n  i = tarfile.TarInfo(f"f{n}.py"); i.size = 0; t.addfile(i, io.BytesIO(b""))`,
    );
    const { bundles } = setup({ limits: { maxExpandedBytes: 1 << 30, maxEntries: 20 } });

    // When it is uploaded, then it is refused naming the limit
    await expect(bundles.receive(sha256(archive), createReadStream(archive))).rejects.toMatchObject(
      { code: "bundle.too_large", message: "the project bundle holds more than 20 entries" },
    );
  });

  test("collects bundles no version references once the grace period is over", async () => {
    // Given three bundles, unpacked: one run by an API's old version (history), one by its
    // current version, and one whose API was deleted
    let now = Date.now();
    const { home, store, bundles } = setup({ now: () => now });
    const [old, current, orphan] = await Promise.all(
      ["old", "current", "orphan"].map(async (content) => {
        const archive = smallArchive(content);
        const sha = sha256(archive);
        await bundles.receive(sha, createReadStream(archive));
        await bundles.unpack(sha);
        return sha;
      }),
    );
    if (old === undefined || current === undefined || orphan === undefined) throw new Error("3");
    store.putApiVersion(version("v1", "iris", old), "RealtimeAPI", 1);
    store.putApiVersion(version("v2", "iris", current), "RealtimeAPI", 1);
    store.putApiVersion(version("v3", "gone", orphan), "RealtimeAPI", 1);
    store.deleteApi("gone");

    // When a clean-up runs within the grace period, then nothing is removed
    expect(await bundles.collectGarbage(60_000)).toEqual([]);
    expect(bundles.diskUse()).toMatchObject({ bundles: 3, projects: 3 });

    // When one runs after it (the files' own times are older than the grace too)
    now += 3_600_000;
    const removed = await bundles.collectGarbage(60_000);

    // Then only the deleted API's bundle and project are gone; history's bundle stays
    expect(removed.map((r) => r.sha256)).toEqual([orphan]);
    expect(removed[0]?.bytes).toBeGreaterThan(0);
    expect(store.hasBundle(orphan)).toBe(false);
    expect(existsSync(path.join(home, "projects", orphan))).toBe(false);
    expect(existsSync(path.join(home, "bundles", `${orphan}.tar.gz`))).toBe(false);
    for (const sha of [old, current]) {
      expect(bundles.has(sha)).toBe(true);
      expect(existsSync(path.join(home, "projects", sha, "predictor.py"))).toBe(true);
    }
    expect(bundles.diskUse()).toMatchObject({ bundles: 2, projects: 2 });
    expect(readdirSync(path.join(home, "projects")).sort()).toEqual([old, current].sort());
  });

  test("keeps a bundle a deploy has just checked, until the grace period after that", async () => {
    // Given a bundle uploaded long ago that no version references yet
    let now = Date.now() + 3_600_000;
    const { bundles } = setup({ now: () => now });
    const archive = smallArchive("in flight");
    const sha = sha256(archive);
    await bundles.receive(sha, createReadStream(archive));
    now += 3_600_000;

    // When a deploy checks it (as `POST /v1/deploy` does) and a clean-up runs
    expect(bundles.has(sha)).toBe(true);
    const removed = await bundles.collectGarbage(60_000);

    // Then it is kept; once the grace period after that check is over, it goes
    expect(removed).toEqual([]);
    now += 60_000;
    expect((await bundles.collectGarbage(60_000)).map((r) => r.sha256)).toEqual([sha]);
    expect(bundles.has(sha)).toBe(false);
  });

  test("never collects a bundle a deploy holds, however long it takes", async () => {
    // Given a bundle held by a deploy in flight (its environment building for hours)
    let now = Date.now();
    const { bundles } = setup({ now: () => now });
    const archive = smallArchive("held");
    const sha = sha256(archive);
    await bundles.receive(sha, createReadStream(archive));
    const release = bundles.hold(sha);
    now += 24 * 3_600_000;

    // When clean-ups run, then it stays; released, it stays for the grace period, then goes
    expect(await bundles.collectGarbage(60_000)).toEqual([]);
    release();
    expect(await bundles.collectGarbage(60_000)).toEqual([]);
    now += 60_000;
    expect((await bundles.collectGarbage(60_000)).map((r) => r.sha256)).toEqual([sha]);
  });

  test("accepts a plain tar (not gzip'd), as before", async () => {
    // Given a tar without compression (the route accepts application/x-tar)
    const project = tempDir("axon-project-");
    writeFileSync(path.join(project, "predictor.py"), "X = 1\n");
    const archive = path.join(tempDir("axon-archive-"), "p.tar");
    create({ file: archive, cwd: project, sync: true }, ["predictor.py"]);
    const { bundles } = setup();
    const sha = sha256(archive);

    // When it is received and unpacked, then its file is there
    await bundles.receive(sha, createReadStream(archive));
    expect(readFileSync(path.join(await bundles.unpack(sha), "predictor.py"), "utf8")).toBe(
      "X = 1\n",
    );
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
