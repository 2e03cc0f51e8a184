import { globSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CONFIG_FILE_NAMES, findConfigFile, loadApiConfigFile } from "./config-file.js";
import { ConfigError } from "./diagnostics.js";

function withTempDir(run: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "axon-spec-"));
  try {
    run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function rejection(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

const IRIS = `- name: iris\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: src/predictor.py\n    python_path: src\n`;

describe("findConfigFile", () => {
  it("Given every config name in a folder, When searched, Then axon.yaml, axon.yml, cortex.yaml, cortex.yml win in that order", () => {
    withTempDir((dir) => {
      // Given all four names
      for (const name of CONFIG_FILE_NAMES) writeFileSync(join(dir, name), IRIS);
      // When the winner is removed one by one, Then the next name is found
      for (const name of CONFIG_FILE_NAMES) {
        expect(findConfigFile(dir)).toBe(join(dir, name));
        rmSync(join(dir, name));
      }
      expect(findConfigFile(dir)).toBeUndefined();
    });
  });

  it("Given a folder named axon.yaml, When searched, Then it is not taken for a config file", () => {
    withTempDir((dir) => {
      mkdirSync(join(dir, "axon.yaml"));
      writeFileSync(join(dir, "cortex.yaml"), IRIS);
      expect(findConfigFile(dir)).toBe(join(dir, "cortex.yaml"));
    });
  });
});

describe("loadApiConfigFile", () => {
  it("Given a missing file, When loaded, Then the ConfigError names it", () => {
    withTempDir((dir) => {
      const path = join(dir, "axon.yaml");
      const error = rejection(() => loadApiConfigFile(path));
      expect(error.diagnostics).toEqual([
        expect.objectContaining({
          file: path,
          path: "",
          message: expect.stringContaining(`config file ${path} does not exist`),
        }),
      ]);
    });
  });

  it("Given project files relative to the config's folder, When loaded, Then they are checked there", () => {
    withTempDir((dir) => {
      // Given a config in a sub-folder whose predictor is not written yet
      const project = join(dir, "project");
      mkdirSync(project);
      const configPath = join(project, "axon.yaml");
      writeFileSync(configPath, IRIS);
      // When loaded, Then both the file and the python_path folder are reported missing
      const error = rejection(() => loadApiConfigFile(configPath));
      expect(
        error.diagnostics.map((problem) => [problem.path, problem.line, problem.message]),
      ).toEqual([
        [
          "iris.predictor.path",
          5,
          expect.stringContaining("file src/predictor.py does not exist in the project"),
        ],
        [
          "iris.predictor.python_path",
          6,
          expect.stringContaining("folder src does not exist in the project"),
        ],
      ]);
      // Given the predictor file now exists (which also creates src/)
      mkdirSync(join(project, "src"));
      writeFileSync(join(project, "src", "predictor.py"), "class PythonPredictor: pass\n");
      // When loaded again, Then it resolves
      const { apis } = loadApiConfigFile(configPath);
      expect(apis[0]?.predictor).toMatchObject({ path: "src/predictor.py", python_path: "src" });
    });
  });

  it("Given python_path naming a file instead of a folder, When loaded, Then it is reported", () => {
    withTempDir((dir) => {
      writeFileSync(join(dir, "axon.yaml"), IRIS);
      writeFileSync(join(dir, "src"), "not a folder");
      const error = rejection(() => loadApiConfigFile(join(dir, "axon.yaml")));
      expect(error.diagnostics.map((problem) => problem.path)).toEqual([
        "iris.predictor.path",
        "iris.predictor.python_path",
      ]);
      expect(error.diagnostics[1]?.message).toContain("folder src does not exist in the project");
    });
  });
});

describe("the repository's examples", () => {
  it("Given every axon.yaml / cortex.yaml under examples/, When loaded, Then each validates with its project files", () => {
    // Given the examples folder (the seed example must be among them)
    const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
    const configs = globSync("examples/**/{axon,cortex}.{yaml,yml}", {
      cwd: repoRoot,
      exclude: (name) => name === "node_modules",
    });
    expect(
      configs,
      "no example configs found under examples/; examples/iris-sklearn/axon.yaml should exist",
    ).not.toEqual([]);
    // When each is loaded, Then it resolves to at least one API
    for (const config of configs) {
      const { apis, batchApis } = loadApiConfigFile(join(repoRoot, config));
      expect(apis.length + batchApis.length, config).toBeGreaterThan(0);
    }
  });
});
