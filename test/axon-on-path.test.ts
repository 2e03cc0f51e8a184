/**
 * The set-up step that puts `axon` on the PATH (`npm run link`, scripts/link.sh): afterwards a
 * shell whose PATH has only the system's folders (and its older Node, if any) plus the link
 * folder runs `axon` from a project outside the repo. HOME is a temp folder, so the user's own
 * ~/.local/bin is never touched.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { REPO } from "./helpers.js";

const SYSTEM_PATH = "/usr/bin:/bin";

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("npm run link", () => {
  it("installs an axon launcher in ~/.local/bin that runs from any folder with the repo's Node", () => {
    // Given a fresh HOME and a project folder outside the repo
    const home = tempDir("axon-home-");
    const project = tempDir("axon-outside-");
    writeFileSync(
      path.join(project, "axon.yaml"),
      "- name: outside\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n",
    );
    writeFileSync(
      path.join(project, "predictor.py"),
      "class PythonPredictor:\n    def predict(self, payload):\n        return payload\n",
    );

    // When the set-up step runs
    const link = spawnSync("bash", [path.join(REPO, "scripts/link.sh")], {
      cwd: REPO,
      env: { HOME: home, PATH: SYSTEM_PATH },
      encoding: "utf8",
    });

    // Then it wrote the launcher and says how to put its folder on the PATH
    expect(link.status).toBe(0);
    const launcher = path.join(home, ".local/bin/axon");
    expect(existsSync(launcher)).toBe(true);
    expect(link.stderr).toContain(`${path.join(home, ".local/bin")} is not on your PATH`);

    // And `axon` alone works from the project folder, whatever node the system PATH has
    const env = { HOME: home, PATH: `${path.join(home, ".local/bin")}:${SYSTEM_PATH}` };
    const version = spawnSync("axon", ["--version"], { cwd: project, env, encoding: "utf8" });
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const validate = spawnSync("axon", ["validate"], { cwd: project, env, encoding: "utf8" });
    expect(validate.stderr).toBe("");
    expect(validate.stdout).toBe("✓ axon.yaml: 1 api valid (outside)\n");
    expect(validate.status).toBe(0);
  });

  it("refuses to overwrite an axon it did not write, and removes its own with --remove", () => {
    // Given a HOME whose ~/.local/bin already has another program called axon
    const home = tempDir("axon-home-");
    const bin = path.join(home, ".local/bin");
    const run = (...args: string[]) =>
      spawnSync("bash", [path.join(REPO, "scripts/link.sh"), ...args], {
        env: { HOME: home, PATH: `${bin}:${SYSTEM_PATH}` },
        encoding: "utf8",
      });
    spawnSync("mkdir", ["-p", bin]);
    writeFileSync(path.join(bin, "axon"), "#!/bin/sh\necho someone else's axon\n");

    // When linking
    const refused = run();

    // Then it stops, naming the file, and leaves it alone
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(
      `${path.join(bin, "axon")} exists and was not written by Axon`,
    );
    expect(readFileSync(path.join(bin, "axon"), "utf8")).toContain("someone else's axon");

    // And once that file is gone, linking (already on the PATH) and unlinking work
    rmSync(path.join(bin, "axon"));
    const linked = run();
    expect(linked.status).toBe(0);
    expect(linked.stderr).toContain("`axon` now works from any folder");
    expect(run("--remove").status).toBe(0);
    expect(existsSync(path.join(bin, "axon"))).toBe(false);
  });
});
