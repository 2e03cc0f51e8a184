import { describe, expect, it } from "vitest";
import { IRIS_CONFIG, makeIrisProject, makeTempDir, writeFiles } from "../testing/fixtures.js";
import { runCli } from "../testing/run-cli.js";

describe("axon validate", () => {
  it("reports a valid config with its api names", async () => {
    // Given a project with a valid axon.yaml and its predictor
    const dir = await makeIrisProject();

    // When validating from inside the project
    const run = await runCli(["validate"], { cwd: dir });

    // Then it succeeds with the Cortex-style one-liner
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe("✓ axon.yaml: 1 api valid (iris-classifier)\n");
  });

  it("Given a Cortex 0.20 TrafficSplitter beside its API, When validated, Then the splitter is named too", async () => {
    // Given
    const dir = await makeIrisProject();
    await writeFiles(dir, {
      "axon.yaml": `${IRIS_CONFIG.trimEnd()}\n- name: iris\n  kind: TrafficSplitter\n  apis:\n    - {name: iris-classifier, weight: 100}\n`,
    });
    // When
    const run = await runCli(["validate"], { cwd: dir });
    // Then
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe(
      "✓ axon.yaml: 1 api valid (iris-classifier), 1 traffic splitter valid (iris)\n",
    );
  });

  it("Given a batch-only Cortex 0.20 file, When validated, Then its BatchAPI is counted as an api, and -o json names it as a batch api", async () => {
    // Given a project holding one BatchAPI and its predictor
    const dir = await makeTempDir();
    await writeFiles(dir, {
      "cortex.yaml":
        "- name: text-stats\n  kind: BatchAPI\n  predictor:\n    type: python\n    path: predictor.py\n",
      "predictor.py":
        "class PythonPredictor:\n    def __init__(self, config, job_spec):\n        pass\n\n    def predict(self, payload, batch_id):\n        return None\n",
    });
    // When validated
    const run = await runCli(["validate"], { cwd: dir });
    // Then it is one api, in the words a RealtimeAPI gets
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe("✓ cortex.yaml: 1 api valid (text-stats)\n");
    // And as JSON it is among the apis and named a batch api
    const json = await runCli(["validate", "-o", "json"], { cwd: dir });
    expect(JSON.parse(json.stdout)).toMatchObject({
      valid: true,
      apis: ["text-stats"],
      batchApis: ["text-stats"],
    });
  });

  it("lists every problem with file, line and column, and exits 1", async () => {
    // Given a config with two bad fields and a predictor path that does not exist
    const dir = await makeTempDir();
    await writeFiles(dir, {
      "axon.yaml": `- name: iris-classifier
  kind: RealtimeAPI
  predictor:
    type: python
    path: missing.py
  autoscaling:
    min_replicas: -1
`,
    });

    // When validating it by folder
    const run = await runCli(["validate", dir]);

    // Then all diagnostics are shown as file:line:column: path: message
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^error: axon\.yaml is not a valid API configuration/);
    expect(run.stderr).toMatch(/axon\.yaml:5:\d+: .*predictor\.path: /);
    expect(run.stderr).toMatch(/axon\.yaml:7:\d+: .*min_replicas: /);
  });

  it("says which file was meant when the predictor path has a typo", async () => {
    // Given a project holding predictor.py whose config names predictr.py
    const dir = await makeTempDir();
    await writeFiles(dir, {
      "axon.yaml": `- name: iris-classifier
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictr.py
`,
      "predictor.py": "class PythonPredictor:\n    def predict(self, payload):\n        return 1\n",
      "requirements.txt": "",
    });

    // When validating it
    const run = await runCli(["validate", dir]);

    // Then the error names the file that exists
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(
      "predictor.path: file predictr.py does not exist in the project (paths are relative to the folder that holds axon.yaml); did you mean predictor.py?",
    );
  });

  it("prints one JSON document with -o json", async () => {
    // Given a valid project
    const dir = await makeIrisProject();

    // When validating with -o json
    const run = await runCli(["validate", "-o", "json", `${dir}/axon.yaml`]);

    // Then stdout is exactly one JSON document
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ valid: true, apis: ["iris-classifier"] });
  });

  it("names the folder and both file names when there is no config", async () => {
    // Given an empty folder
    const dir = await makeTempDir();

    // When validating it
    const run = await runCli(["validate"], { cwd: dir });

    // Then the error says where it looked and what for
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`no axon.yaml or cortex.yaml in ${dir}`);
  });

  it("finds a Cortex cortex.yaml", async () => {
    // Given a Cortex project
    const dir = await makeIrisProject();
    await writeFiles(dir, { "cortex.yaml": IRIS_CONFIG });
    const { rm } = await import("node:fs/promises");
    await rm(`${dir}/axon.yaml`);

    // When validating it
    const run = await runCli(["validate", dir]);

    // Then cortex.yaml is used
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain("✓ cortex.yaml: 1 api valid");
  });

  it("refuses a predictor that .axonignore leaves out, naming the file and the rule", async () => {
    // Given a project whose .axonignore lists the predictor (deploy would not upload it)
    const dir = await makeIrisProject({ ".axonignore": "# models\npredictor.py\n" });

    // When validating it
    const run = await runCli(["validate", dir]);

    // Then it is not valid, and the message says why the daemon would not find the file
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain(
      'axon.yaml: iris-classifier.predictor.path: file predictor.py is excluded by .axonignore (rule "predictor.py")',
    );
    expect(run.stderr).not.toContain("does not exist");
  });

  it("refuses a python_path folder left out by .cortexignore, and a hidden predictor", async () => {
    // Given a project whose python_path folder is ignored and whose predictor is in a hidden folder
    const dir = await makeTempDir();
    await writeFiles(dir, {
      "axon.yaml": `- name: iris-classifier
  kind: RealtimeAPI
  predictor:
    type: python
    path: .src/predictor.py
    python_path: lib
`,
      ".src/predictor.py": "x",
      "lib/util.py": "x",
      ".cortexignore": "lib/\n",
    });

    // When validating it
    const run = await runCli(["validate", dir]);

    // Then both are reported together, each with its reason
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("(2 problems)");
    expect(run.stderr).toContain(
      "iris-classifier.predictor.path: file .src/predictor.py is left out: hidden files and folders (.src) are not uploaded",
    );
    expect(run.stderr).toContain(
      'iris-classifier.predictor.python_path: folder lib is excluded by .cortexignore (rule "lib/")',
    );
  });

  it("refuses a python_path that names a file, not a folder", async () => {
    // Given python_path: predictor.py (a file)
    const dir = await makeIrisProject();
    await writeFiles(dir, { "axon.yaml": `${IRIS_CONFIG}    python_path: predictor.py\n` });

    // When validating it
    const run = await runCli(["validate", dir]);

    // Then the spec's folder check fails (the trailing / of its question is honoured)
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/predictor\.python_path: folder predictor\.py does not exist/);
  });
  it("locates a syntax error in the predictor and in a module of the project, as file:line:column", async () => {
    // Given a predictor missing a colon on line 2 and a helper module with a bad indent on line 3
    const dir = await makeIrisProject({
      "predictor.py":
        "class PythonPredictor:\n    def predict(self, payload)\n        return payload\n",
      "lib/helpers.py": "def scale(x):\n    return x\n      y = 1\n",
    });

    // When validating it
    const run = await runCli(["validate"], { cwd: dir });

    // Then both are listed where they are, with Python's own message, and nothing is called valid
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^error: 2 Python files of the project do not compile/);
    expect(run.stderr).toContain("predictor.py:2:31: SyntaxError: expected ':'");
    expect(run.stderr).toMatch(
      /^ {2}lib\/helpers\.py:3:\d+: IndentationError: unexpected indent$/m,
    );
  });

  it("puts syntax errors in the -o json document as diagnostics", async () => {
    // Given a predictor with a syntax error
    const dir = await makeIrisProject({ "predictor.py": "def predict(:\n" });

    // When validating with -o json
    const run = await runCli(["validate", "-o", "json", dir]);

    // Then the document names the file, line and column
    expect(run.exitCode).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      valid: false,
      diagnostics: [{ file: "predictor.py", line: 1, column: 13, path: "" }],
    });
  });

  it("says the syntax was not checked when no interpreter runs, and still validates the config", async () => {
    // Given a valid project and an AXON_PYTHON that does not exist
    const dir = await makeIrisProject();

    // When validating
    const run = await runCli(["validate", dir], { env: { AXON_PYTHON: "/nonexistent/python3" } });

    // Then the config passes and a note says why the Python was not compiled
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toMatch(
      /^note: Python syntax not checked: cannot run \/nonexistent\/python3: .*AXON_PYTHON/m,
    );
  });

  it("refuses 3,000 nested list items on one line at that line, not as a bug in axon", async () => {
    // Given the text that overflowed the YAML reader's stack (issue 27)
    const dir = await makeIrisProject();
    await writeFiles(dir, {
      "axon.yaml": `${IRIS_CONFIG}  predictor_config:\n    ${"- ".repeat(3_000)}x\nlast: 1\n`,
    });

    // When validating it
    const run = await runCli(["validate", dir]);

    // Then one located diagnostic with what to do, and no "looks like a bug"
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /axon\.yaml:\d+:\d+: nests maps and lists more than 64 levels deep here; flatten this value/,
    );
    expect(run.stderr).not.toMatch(/call stack|bug in axon/);
  });

  it("refuses 100,000 env keys naming the field and the limit", async () => {
    // Given the 1.5 MB config of issue 27 (validate took over a minute)
    const dir = await makeIrisProject();
    const env = Array.from({ length: 100_000 }, (_, i) => `      K${i}: v`).join("\n");
    await writeFiles(dir, {
      "axon.yaml": `- name: big\n  predictor:\n    type: python\n    path: predictor.py\n    env:\n${env}\n`,
    });

    // When validating it
    const run = await runCli(["validate", dir]);

    // Then the map is named with its line and the limit
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(
      "axon.yaml:6:7: big.predictor.env: holds more than 5000 keys (line 5006 is one too many)",
    );
  });
});
