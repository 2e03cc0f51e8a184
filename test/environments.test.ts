/**
 * Real projects (issue 8), end to end: per-API Python environments built offline by real pip from
 * requirements.txt, reused by content, failing cleanly; predictor.env and python_path; the
 * deploying shell's AWS settings reaching a predictor that reads its model from a real S3
 * emulator (moto, on loopback), without the secret leaking into state, output or logs.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { buildTinyWheel } from "../packages/control-plane/src/providers/local/environments/testing/wheels.js";
import {
  freePort,
  isAlive,
  killQuietly,
  makeTestCluster,
  type TestCluster,
  postJson,
  waitFor,
} from "./helpers.js";

/** The default python3 here has boto3 and moto; Debian's has neither. */
const PYTHON = process.env.AXON_TEST_PYTHON ?? "python3";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A project folder with the given files (paths relative to it). */
function project(files: Record<string, string>): string {
  const dir = tempDir("axon-env-project-");
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

function config(name: string, extra = ""): string {
  return `- name: ${name}\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n${extra}`;
}

const VERSION_PREDICTOR = `import axontiny

class PythonPredictor:
    def __init__(self, config):
        pass

    def predict(self, payload):
        return axontiny.__version__
`;

interface EnvRecord {
  key: string;
  pipRuns: number;
  createdAt: string;
}

function envRecord(home: string, key: string): EnvRecord {
  return JSON.parse(
    readFileSync(path.join(home, "envs", key, "axon-env.json"), "utf8"),
  ) as EnvRecord;
}

async function environmentKey(c: TestCluster, api: string): Promise<string> {
  const get = await c.axon(["get", api, "-o", "json"]);
  expect(get.code).toBe(0);
  const key = (JSON.parse(get.stdout) as { runtime: { python: { key: string | null } } }).runtime
    .python.key;
  if (key === null) throw new Error(`${api} runs on the base interpreter, not in an environment`);
  return key;
}

describe("python environments from requirements.txt", () => {
  test("pinned versions side by side, reuse without pip, and a failed build that leaves the old version serving", async () => {
    // Given two wheels of one package in a local folder, and pip told to use only that folder
    const wheels = tempDir("axon-wheels-");
    buildTinyWheel(wheels, "axontiny", "1.0");
    buildTinyWheel(wheels, "axontiny", "2.0");
    const c = await makeTestCluster(PYTHON);
    c.env.PIP_NO_INDEX = "1";
    c.env.PIP_FIND_LINKS = wheels;
    const url = (api: string): string => `http://localhost:${c.gatewayPort}/${api}`;

    // When two APIs pin different versions
    const one = project({
      "axon.yaml": config("tiny-one"),
      "predictor.py": VERSION_PREDICTOR,
      "requirements.txt": "axontiny==1.0\n",
    });
    const two = project({
      "axon.yaml": config("tiny-two"),
      "predictor.py": VERSION_PREDICTOR,
      "requirements.txt": "axontiny==2.0\n",
    });
    const deployOne = await c.axon(["deploy", one, "--wait"]);
    expect(deployOne.stderr).toContain("building Python environment");
    expect(deployOne.code).toBe(0);
    expect((await c.axon(["deploy", two, "--wait"])).code).toBe(0);

    // Then each runs with its own version
    expect((await postJson(url("tiny-one"), {})).text).toBe("1.0");
    expect((await postJson(url("tiny-two"), {})).text).toBe("2.0");
    const keyOne = await environmentKey(c, "tiny-one");
    expect(await environmentKey(c, "tiny-two")).not.toBe(keyOne);
    expect(envRecord(c.home, keyOne).pipRuns).toBe(1);

    // When the first API's code changes (same requirements) and a third API uses the same requirements
    writeFileSync(
      path.join(one, "predictor.py"),
      VERSION_PREDICTOR.replace(
        "return axontiny.__version__",
        'return "v2-" + axontiny.__version__',
      ),
    );
    const redeploy = await c.axon(["deploy", one, "--wait"]);
    expect(redeploy.code).toBe(0);
    expect(redeploy.stderr).not.toContain("building Python environment");
    const three = project({
      "axon.yaml": config("tiny-three"),
      "predictor.py": VERSION_PREDICTOR,
      "requirements.txt": "axontiny==1.0\n",
    });
    expect((await c.axon(["deploy", three, "--wait"])).code).toBe(0);

    // Then no pip ran again: the same environment serves all three
    expect((await postJson(url("tiny-one"), {})).text).toBe("v2-1.0");
    expect(await environmentKey(c, "tiny-three")).toBe(keyOne);
    expect(envRecord(c.home, keyOne).pipRuns).toBe(1);

    // When a requirement cannot be installed
    writeFileSync(path.join(one, "requirements.txt"), "axontiny==1.0\nnosuchpackage-axon==9.9\n");
    const failed = await c.axon(["deploy", one, "--wait"]);

    // Then the deploy fails with pip's message and the file name, and the API keeps its version
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("requirements.txt");
    expect(failed.stderr).toMatch(/nosuchpackage-axon/);
    expect(failed.stderr).toMatch(/No matching distribution|Could not find a version/);
    expect((await postJson(url("tiny-one"), {})).text).toBe("v2-1.0");

    // And `get -o json` lists the environment's distributions
    const detail = JSON.parse((await c.axon(["get", "tiny-two", "-o", "json"])).stdout) as {
      runtime: {
        python: { distributions: Array<{ name: string; version: string; location: string }> };
      };
    };
    expect(detail.runtime.python.distributions).toContainEqual(
      expect.objectContaining({ name: "axontiny", version: "2.0" }),
    );
  });

  test("a build interrupted by killing the daemon is not used after restart: it is rebuilt", async () => {
    // Given a project whose dependencies.sh is slow while a marker file exists (outside the project, so the key is unchanged)
    const marker = path.join(tempDir("axon-marker-"), "slow");
    writeFileSync(marker, "");
    const c = await makeTestCluster(PYTHON);
    const dir = project({
      "axon.yaml": config("slow-env"),
      "predictor.py":
        "class PythonPredictor:\n    def __init__(self, config):\n        pass\n    def predict(self, payload):\n        return 'ok'\n",
      "dependencies.sh": `echo preparing\nif [ -f ${marker} ]; then sleep 60; fi\n`,
    });
    expect((await c.axon(["cluster", "up"])).code).toBe(0);
    const daemonPid = c.daemonPid() ?? -1;

    // When a deploy is building the environment and the daemon is killed
    const deploying = c.axon(["deploy", dir, "--wait"], { timeoutMs: 90_000 });
    const envsDir = path.join(c.home, "envs");
    await waitFor("the build to start", () =>
      existsSync(envsDir) && readdirSync(envsDir).some((d) => !d.startsWith("."))
        ? true
        : undefined,
    );
    process.kill(daemonPid, "SIGKILL");
    const interrupted = await deploying;
    // Then the CLI says it lost the daemon and where to look, without calling it a bug
    expect(interrupted.code).toBe(1);
    expect(interrupted.stderr).toContain(
      "lost the connection to the control plane while deploying",
    );
    expect(interrupted.stderr).toContain("axon cluster info");
    expect(interrupted.stderr).not.toContain("bug in axon");
    await waitFor("the daemon to die", () => (isAlive(daemonPid) ? undefined : true));
    const key = readdirSync(envsDir).find((d) => !d.startsWith(".")) ?? "missing";
    expect(existsSync(path.join(envsDir, key, "axon-env.json"))).toBe(false);
    for (const pid of spawnSync("pgrep", ["-f", marker], { encoding: "utf8" }).stdout.split("\n")) {
      if (pid.trim() !== "") killQuietly(Number(pid));
    }

    // Then deploying again after a restart rebuilds it and serves
    rmSync(marker);
    const again = await c.axon(["deploy", dir, "--wait"]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("building Python environment");
    expect(envRecord(c.home, key).key).toBe(key);
    expect((await postJson(`http://localhost:${c.gatewayPort}/slow-env`, {})).text).toBe("ok");
  });
});

describe("predictor settings and cloud credentials", () => {
  test("predictor.env and python_path reach the predictor, and the working directory is the project", async () => {
    const c = await makeTestCluster(PYTHON);
    const dir = project({
      "axon.yaml": config("settings", "    python_path: lib\n    env:\n      GREETING: hello\n"),
      "lib/helper.py": "VALUE = 'from-lib'\n",
      "data.txt": "data-file\n",
      "predictor.py": `import os
import helper

class PythonPredictor:
    def __init__(self, config):
        with open("data.txt") as f:
            self.data = f.read().strip()

    def predict(self, payload):
        return {"greeting": os.environ.get("GREETING"), "helper": helper.VALUE, "data": self.data}
`,
    });
    expect((await c.axon(["deploy", dir, "--wait"])).code).toBe(0);
    const answer = await postJson(`http://localhost:${c.gatewayPort}/settings`, {});
    expect(JSON.parse(answer.text)).toEqual({
      greeting: "hello",
      helper: "from-lib",
      data: "data-file",
    });
  });

  test("a predictor reads its model from S3 with the deploying shell's AWS settings; the secret never leaks", async () => {
    // Given a real S3 emulator on loopback with a model object in it
    const port = await freePort();
    const moto: ChildProcess = spawn(
      PYTHON,
      ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)],
      { stdio: "ignore" },
    );
    cleanups.push(() => killQuietly(moto.pid ?? -1));
    const endpointUrl = `http://127.0.0.1:${port}`;
    await waitFor("moto to listen", async () => {
      try {
        await fetch(`${endpointUrl}/moto-api/`);
        return true;
      } catch {
        return undefined;
      }
    });
    const secret = `axon-test-secret-${Math.random().toString(36).slice(2)}`;
    const awsEnv = {
      AWS_ACCESS_KEY_ID: "AKIAAXONTEST",
      AWS_SECRET_ACCESS_KEY: secret,
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL: endpointUrl,
    };
    const put = spawnSync(
      PYTHON,
      [
        "-c",
        "import boto3; s3 = boto3.client('s3'); s3.create_bucket(Bucket='models'); s3.put_object(Bucket='models', Key='iris/label.txt', Body=b'label-from-s3')",
      ],
      { env: { ...process.env, ...awsEnv }, encoding: "utf8" },
    );
    expect(put.stderr).toBe("");

    const c = await makeTestCluster(PYTHON);
    const dir = project({
      "axon.yaml": config(
        "s3-model",
        "    config:\n      bucket: models\n      key: iris/label.txt\n",
      ),
      "predictor.py": `import boto3

class PythonPredictor:
    def __init__(self, config):
        s3 = boto3.client("s3")
        self.label = s3.get_object(Bucket=config["bucket"], Key=config["key"])["Body"].read().decode()
        print("model downloaded from s3")

    def predict(self, payload):
        return self.label
`,
    });

    // When it is deployed from a shell with only the standard AWS variables set
    const deploy = await c.axon(["deploy", dir, "--wait"], { env: awsEnv });
    expect(deploy.code).toBe(0);

    // Then it serves what it read from S3
    expect((await postJson(`http://localhost:${c.gatewayPort}/s3-model`, {})).text).toBe(
      "label-from-s3",
    );

    // And the secret is in no output, state file or log — only in the 0600 secrets file
    const getJson = await c.axon(["get", "s3-model", "-o", "json"]);
    const listJson = await c.axon(["get", "-o", "json"]);
    const logs = await c.axon(["logs", "s3-model"]);
    expect(logs.stdout).toContain("model downloaded from s3");
    for (const text of [
      deploy.stdout,
      deploy.stderr,
      getJson.stdout,
      listJson.stdout,
      logs.stdout,
    ]) {
      expect(text).not.toContain(secret);
    }
    for (const file of walk(c.home)) {
      if (
        file.includes(`${path.sep}secrets${path.sep}`) ||
        file.includes(`${path.sep}envs${path.sep}`)
      )
        continue;
      expect(readFileSync(file).includes(secret), `${file} holds the secret`).toBe(false);
    }
    const secretsFile = path.join(c.home, "secrets", "s3-model.json");
    expect(readFileSync(secretsFile, "utf8")).toContain(secret);
    expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
  });
});

function walk(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...walk(full));
    else if (entry.isFile()) files.push(full);
  }
  return files;
}
