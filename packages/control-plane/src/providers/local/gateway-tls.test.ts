/**
 * The gateway's TLS (gateway-tls.ts): the checks on the PEM files, with certificates made by the
 * machine's openssl; and a real gateway on 127.0.0.1 serving HTTPS to node:https clients that
 * trust only the test's certificate, with a stand-in replica (the Python side is test/'s).
 */
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import https, { Agent } from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import type { PeerCertificate, TLSSocket } from "node:tls";
import { describe, expect, onTestFinished, test } from "vitest";
import { DomainError } from "../../errors.js";
import { Gateway, type GatewayBackend, type RoutableReplica } from "./gateway.js";
import {
  GATEWAY_TLS_INVALID,
  GatewayTls,
  gatewayTlsFromFlags,
  loadGatewayTls,
} from "./gateway-tls.js";
import { makeTestCertificate } from "./testing/tls-files.js";

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "axon-tls-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The DomainError `load` throws (or fails the test). */
function errorOf(load: () => unknown): DomainError {
  try {
    load();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected an error");
}

describe("the gateway's certificate files", () => {
  test("a certificate and its key load, with the fingerprint a client sees", () => {
    // Given a self-signed certificate made with openssl
    const cert = makeTestCertificate(tempDir(), "a");
    // When it is loaded
    const loaded = loadGatewayTls(cert);
    // Then it is usable, and says which certificate it is
    expect(loaded.fingerprint256).toBe(cert.fingerprint256);
    expect(loaded.subject).toContain("CN=localhost");
    expect(loaded.expired).toBe(false);
    // And whether the key is readable by other users (the daemon warns)
    chmodSync(cert.keyFile, 0o600);
    expect(loadGatewayTls(cert).keyReadableByOthers).toBe(false);
    chmodSync(cert.keyFile, 0o640);
    expect(loadGatewayTls(cert).keyReadableByOthers).toBe(true);
  });

  test("each bad file is an error naming the file and what is wrong with it", () => {
    // Given two certificates, a garbage file and an encrypted key
    const dir = tempDir();
    const a = makeTestCertificate(dir, "a");
    const b = makeTestCertificate(dir, "b");
    const garbage = path.join(dir, "garbage.pem");
    writeFileSync(garbage, "not a certificate\n");
    const missing = path.join(dir, "missing.pem");

    // Then: not PEM
    const notPem = errorOf(() => loadGatewayTls({ certFile: garbage, keyFile: a.keyFile }));
    expect(notPem.code).toBe(GATEWAY_TLS_INVALID);
    expect(notPem.message).toBe(
      `--tls-cert ${garbage} is not a PEM certificate (no -----BEGIN CERTIFICATE----- line)`,
    );
    // the key of another certificate
    const mismatch = errorOf(() => loadGatewayTls({ certFile: a.certFile, keyFile: b.keyFile }));
    expect(mismatch.message).toBe(
      `--tls-key ${b.keyFile} does not match the certificate in --tls-cert ${a.certFile}`,
    );
    // unreadable (here: absent)
    const absent = errorOf(() => loadGatewayTls({ certFile: missing, keyFile: a.keyFile }));
    expect(absent.message).toBe(`--tls-cert ${missing} does not exist`);
    // the two swapped
    const swapped = errorOf(() => loadGatewayTls({ certFile: a.keyFile, keyFile: a.certFile }));
    expect(swapped.message).toContain("holds a private key, not a certificate");
    expect(swapped.hint).toContain("swapped");
    // a key in PEM that is not a key
    const keyGarbage = errorOf(() => loadGatewayTls({ certFile: a.certFile, keyFile: garbage }));
    expect(keyGarbage.message).toContain(`--tls-key ${garbage} is not a PEM private key`);
  });

  test("the flags: both files, and only with --listen", () => {
    const a = makeTestCertificate(tempDir(), "a");
    expect(
      gatewayTlsFromFlags({ certFile: undefined, keyFile: undefined, listen: "0.0.0.0:8443" }),
    ).toBeUndefined();
    expect(
      errorOf(() =>
        gatewayTlsFromFlags({ certFile: a.certFile, keyFile: undefined, listen: "0.0.0.0:1" }),
      ).message,
    ).toBe("--tls-cert needs --tls-key too");
    expect(
      errorOf(() =>
        gatewayTlsFromFlags({ certFile: a.certFile, keyFile: a.keyFile, listen: undefined }),
      ).message,
    ).toBe("--tls-cert and --tls-key only apply with --listen");
  });

  test("a reload with a bad file keeps the certificate it had and tells no listener", () => {
    // Given a loaded certificate, whose file is then overwritten with garbage
    const dir = tempDir();
    const a = makeTestCertificate(dir, "a");
    const tls = new GatewayTls(a);
    const seen: string[] = [];
    tls.onChange((loaded) => seen.push(loaded.fingerprint256));
    writeFileSync(a.certFile, "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n");
    // When it is reloaded, then it throws, and the old certificate stays
    expect(errorOf(() => tls.reload()).message).toContain(`--tls-cert ${a.certFile}`);
    expect(tls.current.fingerprint256).toBe(a.fingerprint256);
    expect(seen).toEqual([]);
  });
});

/** A backend with one stand-in replica answering `virginica` at /iris. */
function oneReplica(): GatewayBackend {
  const replica: RoutableReplica = {
    inFlight: 0,
    hasLiveWorker: true,
    serve: (_request, responder) =>
      responder.send(200, ["content-type", "text/plain"], "virginica"),
    admitBody: (_responder) => ({
      deliver: (_request, responder) =>
        responder.send(200, ["content-type", "text/plain"], "virginica"),
      cancel() {},
    }),
  };
  return { readyReplicas: () => [replica], whyNotReady: () => "" };
}

interface Answer {
  status: number;
  text: string;
  peer: PeerCertificate;
}

/** POSTs over HTTPS trusting only `ca`; `agent` keeps the connection for the next request. */
function postTls(
  port: number,
  ca: string,
  agent: https.RequestOptions["agent"],
  chunked = false,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/iris",
        ca,
        agent,
        servername: "localhost",
        headers: chunked ? { "transfer-encoding": "chunked" } : { "content-length": "2" },
      },
      (response) => {
        const peer = (response.socket as TLSSocket).getPeerCertificate();
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, text, peer }));
      },
    );
    request.on("error", reject);
    request.end("[]");
  });
}

describe("the gateway over TLS", () => {
  test("serves HTTPS; a reload serves new connections the new certificate while open ones finish; a bad reload keeps serving", async () => {
    // Given a gateway serving certificate A
    const dir = tempDir();
    const a = makeTestCertificate(dir, "a");
    const b = makeTestCertificate(dir, "b");
    const served = {
      certFile: path.join(dir, "served.crt"),
      keyFile: path.join(dir, "served.key"),
    };
    copyFileSync(a.certFile, served.certFile);
    copyFileSync(a.keyFile, served.keyFile);
    const tls = new GatewayTls(served);
    const gateway = new Gateway(oneReplica(), { tls });
    onTestFinished(() => gateway.close());
    gateway.setRoute("iris", "/iris");
    const port = await gateway.listen(0, "127.0.0.1");

    // When a client that trusts A calls it (the fast path, and node:http's for a chunked body)
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    onTestFinished(() => keepAlive.destroy());
    const first = await postTls(port, a.pem, keepAlive);
    const chunked = await postTls(port, a.pem, false, true);
    // Then it answers over TLS with certificate A
    expect([first.status, first.text]).toEqual([200, "virginica"]);
    expect(first.peer.fingerprint256).toBe(a.fingerprint256);
    expect([chunked.status, chunked.text]).toEqual([200, "virginica"]);

    // When the files are replaced with B and reloaded
    copyFileSync(b.certFile, served.certFile);
    copyFileSync(b.keyFile, served.keyFile);
    expect(tls.reload().fingerprint256).toBe(b.fingerprint256);
    // Then a new connection gets B, and a client that trusts only A is refused
    const renewed = await postTls(port, b.pem, false);
    expect([renewed.status, renewed.peer.fingerprint256]).toEqual([200, b.fingerprint256]);
    await expect(postTls(port, a.pem, false)).rejects.toThrow(/self-signed|verify|certificate/i);
    // And the connection opened before the reload still answers, on certificate A
    const sameConnection = await postTls(port, a.pem, keepAlive);
    expect([sameConnection.status, sameConnection.peer.fingerprint256]).toEqual([
      200,
      a.fingerprint256,
    ]);

    // When the certificate file is garbage at the next reload
    writeFileSync(served.certFile, "garbage\n");
    expect(() => tls.reload()).toThrow(/is not a PEM certificate/);
    // Then the gateway goes on serving B
    const after = await postTls(port, b.pem, false);
    expect([after.status, after.peer.fingerprint256]).toEqual([200, b.fingerprint256]);
  });
});
