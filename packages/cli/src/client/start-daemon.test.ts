import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { isProcessAlive } from "../services/cluster.js";
import { makeIrisProject, makeTempDir, writeFiles } from "../testing/fixtures.js";
import { runCli } from "../testing/run-cli.js";

/**
 * A stand-in control-plane entry for spawn tests: answers /v1/health, info, bundles and deploy just
 * enough for `axon deploy`, and records its argv. The real daemon is covered by /work/main/test/.
 */
const FAKE_DAEMON = `
import { createServer } from "node:http";
import { writeFileSync } from "node:fs";
import path from "node:path";
const home = process.argv[process.argv.indexOf("--home") + 1];
const server = createServer((req, res) => {
  const json = (status, body) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  if (req.url === "/v1/health") return json(200, { ok: true, version: "0.0.0-spawned", pid: process.pid });
  if (req.method === "HEAD") return res.writeHead(200).end();
  if (req.url === "/v1/deploy") { res.writeHead(200, { "content-type": "application/x-ndjson" }); return res.end(JSON.stringify({ type: "result", result: { warnings: [], results: [{ api: "iris-classifier", kind: "RealtimeAPI", outcome: "created", message: "creating iris-classifier (RealtimeAPI)", endpoint: "http://localhost:1/iris-classifier" }] } }) + "\\n"); }
  json(404, { code: "route.not_found", message: "no" });
});
server.listen(0, "127.0.0.1", () => {
  const apiUrl = "http://127.0.0.1:" + server.address().port;
  writeFileSync(path.join(home, "argv.json"), JSON.stringify(process.argv.slice(2)));
  writeFileSync(path.join(home, "token"), "t");
  writeFileSync(path.join(home, "daemon.json"), JSON.stringify({ pid: process.pid, apiUrl, gatewayUrl: "http://localhost:1", version: "0.0.0-spawned", startedAt: new Date().toISOString() }));
});
`;

async function killFromRecord(home: string): Promise<void> {
  const record = JSON.parse(
    await readFile(path.join(home, "daemon.json"), "utf8").catch(() => "{}"),
  ) as { pid?: number };
  if (record.pid !== undefined && isProcessAlive(record.pid)) process.kill(record.pid);
}

describe("starting the daemon", () => {
  it("deploy starts the control plane in the background when none runs", async () => {
    // Given no daemon and a stand-in control-plane entry
    const bin = await makeTempDir();
    await writeFiles(bin, { "main.mjs": FAKE_DAEMON });
    const home = await makeTempDir();
    onTestFinished(() => killFromRecord(home));
    const dir = await makeIrisProject();

    // When deploying with a gateway port in the environment
    const run = await runCli(["deploy", dir], {
      env: {
        AXON_HOME: home,
        AXON_CONTROL_PLANE_BIN: path.join(bin, "main.mjs"),
        AXON_GATEWAY_PORT: "9999",
      },
    });

    // Then the daemon was started supervised, with --home and --gateway-port, and the deploy went
    // through
    expect(run.stderr).toContain("starting the local cluster...");
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain("creating iris-classifier (RealtimeAPI)");
    const argv = JSON.parse(await readFile(path.join(home, "argv.json"), "utf8")) as string[];
    expect(argv).toEqual(["--supervise", "--home", home, "--gateway-port", "9999"]);
  });

  it("shows the end of daemon.log when the control plane exits early", async () => {
    // Given an entry that fails at once
    const bin = await makeTempDir();
    await writeFiles(bin, {
      "main.mjs": 'console.error("port 8888 is already in use"); process.exit(3);\n',
    });
    const home = await makeTempDir();

    // When starting the cluster
    const run = await runCli(["cluster", "up"], {
      env: { AXON_HOME: home, AXON_CONTROL_PLANE_BIN: path.join(bin, "main.mjs") },
    });

    // Then the error carries the exit code and the log line
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(
      "error: the local cluster failed to start (exit code 3)\n  port 8888 is already in use\n",
    );
    expect(run.stderr).toContain(`hint: the full log is in ${path.join(home, "daemon.log")}`);
  });
});
