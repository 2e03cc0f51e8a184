import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, symlink, utimes } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { makeIrisProject, makeTempDir, writeFiles } from "../testing/fixtures.js";
import { listProjectFiles, packProject } from "./bundle.js";

describe("packProject", () => {
  it("hashes content, not timestamps, permissions noise or folder location", async () => {
    // Given the same files in two folders, written at different times with different modes
    const files = {
      "predictor.py": "print(1)\n",
      "lib/a.py": "a = 1\n",
      "model.pkl": Buffer.from([0, 1, 2, 255]),
    };
    const first = await makeTempDir();
    const second = await makeTempDir();
    await writeFiles(first, files);
    await writeFiles(second, files);
    await utimes(path.join(second, "predictor.py"), new Date(2001, 1, 1), new Date(2001, 1, 1));
    await chmod(path.join(second, "lib/a.py"), 0o664);

    // When packing both
    const [a, b] = await Promise.all([packProject({ dir: first }), packProject({ dir: second })]);

    // Then the bundles are byte-identical
    expect(a.sha256).toBe(b.sha256);
    expect(a.data.equals(b.data)).toBe(true);
  });

  it("changes the hash when a file changes", async () => {
    const dir = await makeTempDir();
    await writeFiles(dir, { "predictor.py": "print(1)\n" });
    const before = await packProject({ dir });
    await writeFiles(dir, { "predictor.py": "print(2)\n" });
    const after = await packProject({ dir });
    expect(after.sha256).not.toBe(before.sha256);
  });

  it("applies .cortexignore negations and leaves out the excluded config file", async () => {
    // Given a Cortex ignore file that re-includes one file
    const dir = await makeTempDir();
    await writeFiles(dir, {
      "cortex.yaml": "x",
      "predictor.py": "x",
      "models/a.bin": "x",
      "models/keep.bin": "x",
      ".cortexignore": "models/*\n!models/keep.bin\n",
    });

    // When listing what would be packed
    const files = await listProjectFiles(dir, ["cortex.yaml"]);

    // Then the rules are honoured
    expect(files.map((file) => file.path)).toEqual(["models/keep.bin", "predictor.py"]);
  });

  it("leaves out Axon's state folder when it lies inside the project, under any name", async () => {
    // Given AXON_HOME=./state inside the project, holding an earlier bundle, and a link to it
    const dir = await makeTempDir();
    await writeFiles(dir, {
      "predictor.py": "x",
      "state/bundles/old.tar.gz": "x",
      "statements/keep.txt": "x",
    });
    await symlink(path.join(dir, "state"), path.join(dir, "link-to-state"));

    // When listing what would be packed with the state folder skipped
    const files = await listProjectFiles(dir, [], [path.join(dir, "state")]);

    // Then nothing of it is packed, and a folder that merely shares the prefix still is
    expect(files.map((file) => file.path)).toEqual(["predictor.py", "statements/keep.txt"]);
  });

  it("refuses a project over the size limit, naming the largest files", async () => {
    // Given a project bigger than the (lowered) limit
    const dir = await makeTempDir();
    await writeFiles(dir, { "predictor.py": "x", "weights.bin": Buffer.alloc(4096) });

    // When packing it
    const packing = packProject({ dir, maxBytes: 1024 });

    // Then it fails before building the archive
    await expect(packing).rejects.toMatchObject({
      message: expect.stringContaining("more than the 1.0 KiB limit") as unknown,
      nextSteps: ["weights.bin (4.0 KiB)", "predictor.py (1 B)"],
    });
  });

  it("refuses a link to a folder that holds the project, naming it, before walking it", async () => {
    // Given a project with `ln -s / rootlink` (following it would walk the whole filesystem)
    const dir = await makeTempDir();
    await writeFiles(dir, { "predictor.py": "x" });
    await symlink("/", path.join(dir, "rootlink"));

    // When listing what would be packed
    const listing = listProjectFiles(dir);

    // Then it fails at once as the user's problem, naming the link and where it goes
    await expect(listing).rejects.toMatchObject({
      name: "UserError",
      message:
        "rootlink links to /, a folder that holds the project: deploying would pack everything in it",
    });
  });

  it("follows a link to a folder outside the project, as the README says", async () => {
    // Given a project linking to a models folder elsewhere
    const dir = await makeTempDir();
    const models = await makeTempDir();
    await writeFiles(dir, { "predictor.py": "x" });
    await writeFiles(models, { "model.bin": "x" });
    await symlink(models, path.join(dir, "models"));

    // When listing what would be packed
    const files = await listProjectFiles(dir);

    // Then the linked files are uploaded under the link's name
    expect(files.map((file) => file.path)).toEqual(["models/model.bin", "predictor.py"]);
  });
});

/** The built CLI, run by the tests below as a real process. */
const CLI = fileURLToPath(new URL("../../dist/main.js", import.meta.url));

describe("unreadable project files", () => {
  // Root reads anything, so the CLI runs as `nobody`; setpriv (util-linux) switches to it.
  const canDropPrivileges =
    process.getuid?.() === 0 && spawnSync("setpriv", ["--version"]).status === 0;

  it.skipIf(!canDropPrivileges)(
    "are a user error naming each path and what to do, not a bug in axon",
    async () => {
      // Given a project (readable by nobody) with a file and a folder nobody may read
      const dir = await makeIrisProject({ "unreadable.txt": "x" });
      await mkdir(path.join(dir, "lockeddir"));
      await chmod(dir, 0o755);
      await chmod(path.join(dir, "unreadable.txt"), 0o000);
      await chmod(path.join(dir, "lockeddir"), 0o000);
      const home = await makeTempDir("axon-home-");
      await chmod(home, 0o777);
      expect(existsSync(CLI)).toBe(true);

      // When validating and deploying it as a user who cannot read them
      const run = (command: string): SpawnSyncReturns<string> =>
        spawnSync(
          "setpriv",
          ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, CLI, command, dir],
          { encoding: "utf8", env: { PATH: process.env["PATH"], AXON_HOME: home } },
        );
      const runs = [run("validate"), run("deploy")];

      // Then each names both paths and the fix, and nothing is blamed on axon
      for (const result of runs) {
        expect(result.status).toBe(1);
        expect(result.stderr).toContain(
          `error: cannot read 2 files or folders in the project ${dir}`,
        );
        expect(result.stderr).toContain("  - lockeddir/ (permission denied)");
        expect(result.stderr).toContain("  - unreadable.txt (permission denied)");
        expect(result.stderr).toContain("or list them in .axonignore");
        expect(result.stderr).not.toContain("bug in axon");
      }
    },
  );
});
