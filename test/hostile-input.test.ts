/**
 * Issue 16 against a real daemon: a decompression bomb and an archive with a link out are refused
 * at upload without touching what runs, `cluster info` shows the disk bundles take, and a home
 * that already existed with the default mode ends up private with everything in it.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, onTestFinished, test } from "vitest";
import { copyExample, IRIS_REQUEST, makeTestCluster } from "./helpers.js";

/** Uploads `file` as a bundle with the daemon's own token, as the CLI would. */
async function putBundle(home: string, file: string): Promise<{ status: number; body: string }> {
  const bytes = readFileSync(file);
  const sha = createHash("sha256").update(bytes).digest("hex");
  const { apiUrl } = JSON.parse(readFileSync(path.join(home, "daemon.json"), "utf8")) as {
    apiUrl: string;
  };
  const token = readFileSync(path.join(home, "token"), "utf8").trim();
  const response = await fetch(`${apiUrl}/v1/bundles/${sha}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/gzip" },
    body: bytes,
  });
  return { status: response.status, body: await response.text() };
}

/** A tar.gz written by Python's tarfile (which, unlike node-tar, writes hostile entries). */
function pythonTar(script: string): string {
  const file = path.join(os.tmpdir(), `axon-hostile-${process.pid}-${Date.now()}.tar.gz`);
  execFileSync("python3", [
    "-c",
    `import tarfile, io\nt = tarfile.open(${JSON.stringify(file)}, "w:gz")\n${script}\nt.close()`,
  ]);
  onTestFinished(() => rmSync(file, { force: true }));
  return file;
}

describe("hostile bundles against the daemon", () => {
  test("a bomb and a link chain are refused at upload naming the entry; disk use is shown", async () => {
    // Given a running cluster with a deployed API
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    expect((await c.axon(["deploy", project, "--wait"])).code).toBe(0);

    // When an archive whose one entry declares 5 GiB (a few KiB gzip'd) is uploaded
    const bomb = pythonTar(
      `i = tarfile.TarInfo("zeros.bin"); i.size = 5 << 30\nt.addfile(i)\nt.fileobj.write(bytes(8 << 20))`,
    );
    const bombAnswer = await putBundle(c.home, bomb);

    // Then it is a 413 naming the limit and the entry
    expect(bombAnswer.status).toBe(413);
    expect(JSON.parse(bombAnswer.body)).toMatchObject({
      code: "bundle.too_large",
      message: "the project bundle expands to more than 4 GiB (at zeros.bin)",
    });

    // When an archive with a chain of inside-looking symlinks is uploaded
    const chain = pythonTar(
      `for n in ("a/s", "a/s/t"):\n  i = tarfile.TarInfo(n); i.type = tarfile.SYMTYPE; i.linkname = ".."; t.addfile(i)`,
    );
    const chainAnswer = await putBundle(c.home, chain);

    // Then it is a 400 naming the entry (not a 500 at deploy)
    expect(chainAnswer.status).toBe(400);
    expect(JSON.parse(chainAnswer.body)).toMatchObject({ code: "bundle.unsafe" });
    expect(chainAnswer.body).toContain("a/s/t: is written through the symbolic link a/s");

    // And cluster info shows the one bundle that was stored and its unpacked project
    const info = await c.axon(["cluster", "info", "-o", "json"]);
    expect(info.code).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ disk: { bundles: 1, projects: 1 } });
    expect((await c.axon(["cluster", "info"])).stdout).toMatch(
      /^disk: .* \(1 bundle .*, 1 unpacked .*\)$/m,
    );
  });
});

describe("a private AXON_HOME", () => {
  test("a home that existed with mode 0755 ends up 0700, with every file in it 0600", async () => {
    // Given a home made 0755 by hand, holding files an older axon left world-readable
    const c = await makeTestCluster();
    chmodSync(c.home, 0o755);
    mkdirSync(path.join(c.home, "logs"), { mode: 0o755 });
    mkdirSync(path.join(c.home, "secrets"), { mode: 0o755 });
    writeFileSync(path.join(c.home, "daemon.log"), "old run\n", { mode: 0o644 });
    writeFileSync(path.join(c.home, "logs", "iris-classifier.log"), "old\n", { mode: 0o644 });
    writeFileSync(path.join(c.home, "state.db"), "", { mode: 0o644 });
    for (const file of ["daemon.log", "state.db", "logs/iris-classifier.log"]) {
      chmodSync(path.join(c.home, file), 0o644);
    }
    chmodSync(path.join(c.home, "logs"), 0o755);
    chmodSync(path.join(c.home, "secrets"), 0o755);

    // When an API with a secret in its environment (forwarded AWS credentials) is deployed
    const project = copyExample("iris-sklearn");
    const deployed = await c.axon(["deploy", project, "--wait"], {
      env: { AWS_SECRET_ACCESS_KEY: "not-for-other-users" },
    });
    expect(deployed.code).toBe(0);

    // Then the home and its folders of state are 0700 and no file there is readable by others
    const modeOf = (p: string): number => statSync(p).mode & 0o777;
    expect(modeOf(c.home)).toBe(0o700);
    const leaks: string[] = [];
    const files: string[] = [];
    for (const dir of ["", "logs", "secrets", "bundles"]) {
      const full = path.join(c.home, dir);
      if (dir !== "") expect([dir, modeOf(full)]).toEqual([dir, 0o700]);
      for (const name of readdirSync(full)) {
        const file = path.join(full, name);
        if (!statSync(file).isFile() || name.endsWith(".sock")) continue;
        files.push(path.join(dir, name));
        if ((modeOf(file) & 0o077) !== 0)
          leaks.push(`${path.join(dir, name)} ${modeOf(file).toString(8)}`);
      }
    }
    expect(leaks).toEqual([]);
    // (the files that matter were all looked at)
    expect(files).toEqual(
      expect.arrayContaining([
        "daemon.log",
        "state.db",
        "state.db-wal",
        "state.db-shm",
        "token",
        "daemon.json",
        "logs/iris-classifier.log",
        "secrets/iris-classifier.json",
      ]),
    );
  });
});

interface DeployAnswer {
  code: string;
  diagnostics: unknown[];
}

describe("a config no daemon can be stalled by", () => {
  test("100,000 env keys are refused at once, naming the field and the limit, while another API keeps serving", async () => {
    // Given a running cluster serving the iris API
    const c = await makeTestCluster();
    const project = copyExample("iris-sklearn");
    expect((await c.axon(["deploy", project, "--wait"])).code).toBe(0);
    const endpoint = `http://127.0.0.1:${c.gatewayPort}/iris-classifier`;
    const { apiUrl } = JSON.parse(readFileSync(path.join(c.home, "daemon.json"), "utf8")) as {
      apiUrl: string;
    };
    const token = readFileSync(path.join(c.home, "token"), "utf8").trim();
    const bundle = pythonTar(
      `d = b"class PythonPredictor:\\n  def __init__(self, config): pass\\n  def predict(self, payload): return payload\\n"\ni = tarfile.TarInfo("predictor.py"); i.size = len(d)\nt.addfile(i, io.BytesIO(d))`,
    );
    const uploaded = await putBundle(c.home, bundle);
    expect(uploaded.status).toBe(200);
    const { sha256 } = JSON.parse(uploaded.body) as { sha256: string };

    // And the 1.5 MB config of issue 27: 100,000 predictor.env keys (it held the daemon 118 s)
    const lines = ["- name: big", "  predictor:", "    type: python", "    path: predictor.py"];
    lines.push("    env:");
    for (let i = 0; i < 100_000; i++) lines.push(`      K${i}: v`);
    const config = `${lines.join("\n")}\n`;

    // When it is deployed while 4 clients call the iris API (each loop bounded to 2,000 calls)
    let deployDone = false;
    const latencies: number[] = [];
    let failures = 0;
    const client = async (): Promise<void> => {
      for (let i = 0; i < 2_000 && (!deployDone || i < 20); i++) {
        const started = performance.now();
        try {
          const response = await fetch(endpoint, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(IRIS_REQUEST),
            signal: AbortSignal.timeout(30_000),
          });
          await response.text();
          if (response.status !== 200) failures++;
        } catch {
          failures++;
        }
        latencies.push(performance.now() - started);
      }
    };
    const clients = Array.from({ length: 4 }, () => client());
    const deploy = async (
      text: string,
    ): Promise<{ status: number; body: DeployAnswer; ms: number }> => {
      const started = performance.now();
      const answer = await fetch(`${apiUrl}/v1/deploy`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ config: text, configFileName: "axon.yaml", bundle: sha256 }),
      });
      const body = (await answer.json()) as DeployAnswer;
      return { status: answer.status, body, ms: performance.now() - started };
    };
    const huge = await deploy(config);
    // And a config just within the limits (9,980 keys, read in full) with one bad field at the end
    const within = ["- name: big", "  predictor:", "    type: python", "    path: predictor.py"];
    within.push("    config:");
    for (const map of ["a", "b"]) {
      within.push(`      ${map}:`);
      for (let i = 0; i < 4_990; i++) within.push(`        k${i}: v`);
    }
    within.push("  autoscaling:", "    min_replicas: -1");
    const heavy = await deploy(`${within.join("\n")}\n`);
    deployDone = true;
    await Promise.all(clients);

    // Then it is a 400 naming the map, its line and the limit, not a 500 after minutes
    expect({ status: huge.status, code: huge.body.code }).toEqual({
      status: 400,
      code: "config.invalid",
    });
    expect(huge.body.diagnostics).toEqual([
      {
        file: "axon.yaml",
        line: 6,
        column: 7,
        path: "big.predictor.env",
        message:
          "holds more than 5000 keys (line 5006 is one too many); a config cannot use that many: keep data in a file of the project and read it in the predictor",
      },
    ]);
    // And the one within the limits is read to its end, off the serving thread
    expect(heavy.status).toBe(400);
    expect(heavy.body.diagnostics).toEqual([
      expect.objectContaining({
        line: within.length,
        path: "big.autoscaling.min_replicas",
        message: "must be greater than or equal to 0 (got -1)",
      }),
    ]);
    // And every call to the other API meanwhile was answered
    const sorted = [...latencies].sort((a, b) => a - b);
    const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
    console.log(
      `100,000 keys refused in ${huge.ms.toFixed(0)} ms, 9,980 keys in ${heavy.ms.toFixed(0)} ms; iris: ${latencies.length} calls, ${failures} failed, p99 ${p99.toFixed(1)} ms`,
    );
    expect(failures).toBe(0);
    expect(latencies.length).toBeGreaterThanOrEqual(80);
  });
});
