/**
 * Test helper: a stand-in control-plane entry (AXON_CONTROL_PLANE_BIN) that starts the way the
 * real daemon does, slowly enough to watch: it reports its phases in `startup.json`, then answers
 * /v1/health, /v1/info and /v1/apis, where its two APIs' replicas become ready one after the other
 * (one more every STANDIN_LISTS_PER_REPLICA list calls, default 2). STANDIN_FAILING=1 puts the
 * second API in `error` instead. The real daemon's phases are covered by /work/main/test/.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { onTestFinished } from "vitest";
import { isProcessAlive } from "../services/cluster.js";
import { makeTempDir, writeFiles } from "./fixtures.js";

const ENTRY = `
import { createServer } from "node:http";
import { renameSync, writeFileSync } from "node:fs";
import path from "node:path";
const home = process.argv[process.argv.indexOf("--home") + 1];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const phases = [];
const phase = (text) => {
  phases.push({ at: new Date().toISOString(), text });
  const file = path.join(home, "startup.json");
  writeFileSync(file + ".tmp", JSON.stringify({ pid: process.pid, phases }));
  renameSync(file + ".tmp", file);
};
const perReplica = Number(process.env.STANDIN_LISTS_PER_REPLICA ?? "2");
const failing = process.env.STANDIN_FAILING === "1";
let lists = 0;
const api = (name, ready, status) => ({
  name, kind: "RealtimeAPI", status, lastUpdated: new Date(0).toISOString(),
  endpoint: "http://localhost:1/" + name,
  replicas: { requested: 1, upToDate: ready, stale: 0, initializing: 1 - ready, failed: 0 },
});
await sleep(300);
phase("state opened: 2 APIs");
await sleep(300);
phase("gateway listening on http://localhost:1, python 3.11.2");
const server = createServer((req, res) => {
  const json = (status, body) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  if (req.url === "/v1/health") return json(200, { ok: true, version: "0.0.0-standin", pid: process.pid });
  if (req.url === "/v1/apis") {
    const ready = Math.floor(lists++ / perReplica);
    return json(200, { apis: [
      api("iris-classifier", ready >= 1 ? 1 : 0, ready >= 1 ? "live" : "updating"),
      failing ? api("text-generator", 0, "error") : api("text-generator", ready >= 2 ? 1 : 0, ready >= 2 ? "live" : "updating"),
    ] });
  }
  if (req.url === "/v1/info") return json(200, {
    provider: "local", ready: true, version: "0.0.0-standin", pid: process.pid, home,
    apiUrl: "http://127.0.0.1:" + server.address().port, gatewayUrl: "http://localhost:1",
    startedAt: new Date(0).toISOString(),
    python: { path: "/usr/bin/python3", version: "3.11.2", source: "default" },
    apis: 2, replicas: 2, workerPids: [],
  });
  json(404, { code: "route.not_found", message: "no" });
});
server.listen(0, "127.0.0.1", () => {
  const apiUrl = "http://127.0.0.1:" + server.address().port;
  phase("control-plane API listening on " + apiUrl);
  writeFileSync(path.join(home, "token"), "t");
  writeFileSync(path.join(home, "daemon.json"), JSON.stringify({ pid: process.pid, apiUrl, gatewayUrl: "http://localhost:1", version: "0.0.0-standin", startedAt: new Date().toISOString() }));
});
`;

/**
 * A fresh home and the environment that makes `axon cluster up` start the stand-in there; the
 * stand-in is killed after the test.
 */
export async function standInControlPlane(
  env: Record<string, string> = {},
): Promise<{ home: string; env: Record<string, string> }> {
  const bin = await makeTempDir("axon-standin-");
  await writeFiles(bin, { "main.mjs": ENTRY });
  const home = await makeTempDir("axon-home-");
  onTestFinished(async () => {
    const record = JSON.parse(
      await readFile(path.join(home, "daemon.json"), "utf8").catch(() => "{}"),
    ) as { pid?: number };
    if (record.pid !== undefined && isProcessAlive(record.pid)) process.kill(record.pid);
  });
  return {
    home,
    env: { ...env, AXON_HOME: home, AXON_CONTROL_PLANE_BIN: path.join(bin, "main.mjs") },
  };
}
