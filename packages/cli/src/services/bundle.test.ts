import { chmod, symlink, utimes } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeTempDir, writeFiles } from "../testing/fixtures.js";
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
});
