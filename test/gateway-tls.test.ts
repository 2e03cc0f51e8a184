/**
 * HTTPS on the local gateway, end to end (issue 29): the built CLI starts a real daemon (under its
 * supervisor, as `cluster up` always does) with `--listen 127.0.0.1:PORT --tls-cert --tls-key`;
 * real Python replicas of examples/iris-sklearn answer node:https clients that trust only the
 * test's self-signed certificates (made by openssl). The gateway listens on loopback only: a test
 * binds nothing wider (binding beyond loopback with keys is test/api-keys.test.ts's).
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import type { TLSSocket } from "node:tls";
import { describe, expect, onTestFinished, test } from "vitest";
import {
  makeTestCertificate,
  type TestCertificate,
} from "../packages/control-plane/src/providers/local/testing/tls-files.js";
import {
  copyExample,
  freePort,
  IRIS_REQUEST,
  makeTestCluster,
  readDaemonField,
  waitFor,
} from "./helpers.js";

/** POSTs the iris request over a new TLS connection trusting only `ca`; resolves with the peer. */
function predictTls(
  port: number,
  ca: string,
): Promise<{ status: number; text: string; fingerprint256: string }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(IRIS_REQUEST);
    const request = https.request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/iris-classifier",
        ca,
        agent: false,
        servername: "localhost",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (response) => {
        const { fingerprint256 } = (response.socket as TLSSocket).getPeerCertificate();
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text += chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, text, fingerprint256 }),
        );
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

function certificates(): { dir: string; a: TestCertificate; b: TestCertificate } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "axon-tls-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, a: makeTestCertificate(dir, "a"), b: makeTestCertificate(dir, "b") };
}

describe("the local gateway over TLS", () => {
  test("cluster up --listen --tls-cert --tls-key serves iris over HTTPS; SIGHUP swaps the certificate for new connections; a garbage file keeps the old one", async () => {
    // Given certificates A and B, and A in the files the daemon is given
    const { dir, a, b } = certificates();
    const certFile = path.join(dir, "gateway.crt");
    const keyFile = path.join(dir, "gateway.key");
    copyFileSync(a.certFile, certFile);
    copyFileSync(a.keyFile, keyFile);
    const c = await makeTestCluster();
    const port = await freePort();

    // When the cluster starts with them (relative paths, resolved by the CLI) and iris is deployed
    const up = await c.axon(
      [
        "cluster",
        "up",
        "--listen",
        `127.0.0.1:${port}`,
        "--tls-cert",
        "gateway.crt",
        "--tls-key",
        "gateway.key",
      ],
      { cwd: dir },
    );
    expect(up.code, up.stderr).toBe(0);
    const deploy = await c.axon(["deploy", copyExample("iris-sklearn"), "--wait"]);
    expect(deploy.code, deploy.stderr).toBe(0);

    // Then the endpoint is https://, and a client trusting A gets its prediction over TLS
    expect(JSON.parse(readFileSync(path.join(c.home, "daemon.json"), "utf8"))).toMatchObject({
      gatewayUrl: `https://localhost:${port}`,
    });
    const first = await predictTls(port, a.pem);
    expect([first.status, first.text, first.fingerprint256]).toEqual([
      200,
      "virginica",
      a.fingerprint256,
    ]);
    // And plain HTTP on that port gets no answer
    await expect(fetch(`http://127.0.0.1:${port}/iris-classifier`)).rejects.toThrow();

    // When B replaces the files and the supervisor (the pid `cluster up` started) gets SIGHUP
    copyFileSync(b.certFile, certFile);
    copyFileSync(b.keyFile, keyFile);
    const supervisor = readDaemonField(c.home, "supervisorPid");
    expect(supervisor).toBeDefined();
    process.kill(supervisor as number, "SIGHUP");
    // Then it reaches the daemon, and a new connection sees B
    const renewed = await waitFor("the gateway to serve certificate B", async () => {
      const answer = await predictTls(port, b.pem).catch(() => undefined);
      return answer?.fingerprint256 === b.fingerprint256 ? answer : undefined;
    });
    expect([renewed.status, renewed.text]).toEqual([200, "virginica"]);
    // And `cluster info` names the certificate now served
    const info = await c.axon(["cluster", "info", "-o", "json"]);
    expect(JSON.parse(info.stdout)).toMatchObject({
      gatewayCertificate: { file: certFile, fingerprint256: b.fingerprint256, expired: false },
    });
    const log = path.join(c.home, "daemon.log");
    expect(readFileSync(log, "utf8")).toContain(
      `gateway certificate reloaded from ${certFile}: SHA-256 ${b.fingerprint256}`,
    );

    // When the certificate file is garbage and the daemon itself gets SIGHUP
    writeFileSync(certFile, "garbage\n");
    process.kill(c.daemonPid() as number, "SIGHUP");
    // Then the log says why it was not reloaded, and the gateway goes on serving B
    await waitFor("the failed reload in the log", () =>
      readFileSync(log, "utf8").includes("certificate was not reloaded") ? true : undefined,
    );
    expect(readFileSync(log, "utf8")).toContain(
      `the gateway's certificate was not reloaded, it still serves ${b.fingerprint256}`,
    );
    expect(readFileSync(log, "utf8")).toContain(`--tls-cert ${certFile} is not a PEM certificate`);
    const after = await predictTls(port, b.pem);
    expect([after.status, after.text, after.fingerprint256]).toEqual([
      200,
      "virginica",
      b.fingerprint256,
    ]);
    expect(c.daemonPid()).toBeDefined();
  });

  test("a bad certificate file at start is an error naming it and what is wrong; nothing starts", async () => {
    // Given A's certificate with B's key, and a cluster home with nothing running
    const { a, b } = certificates();
    const c = await makeTestCluster();
    const port = await freePort();

    // When the cluster is started with them
    const up = await c.axon([
      "cluster",
      "up",
      "--listen",
      `127.0.0.1:${port}`,
      "--tls-cert",
      a.certFile,
      "--tls-key",
      b.keyFile,
    ]);
    // Then it fails, naming both files and the fault; no daemon runs
    expect(up.code).not.toBe(0);
    expect(up.stderr).toContain(
      `--tls-key ${b.keyFile} does not match the certificate in --tls-cert ${a.certFile}`,
    );
    expect(c.daemonPid()).toBeUndefined();

    // And without --listen the flags are a usage error, said before anything starts
    const loopback = await c.axon([
      "cluster",
      "up",
      "--tls-cert",
      a.certFile,
      "--tls-key",
      a.keyFile,
    ]);
    expect(loopback.code).toBe(1);
    expect(loopback.stderr).toContain("--tls-cert and --tls-key only apply with --listen");
  });
});
