/**
 * Self-signed certificates for tests of the gateway's TLS (gateway-tls.ts), made by the machine's
 * `openssl` as a user would make them: a P-256 key and a certificate for localhost and 127.0.0.1.
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";

export interface TestCertificate {
  certFile: string;
  keyFile: string;
  /** The certificate's PEM: a client's `ca` trusts exactly it. */
  pem: string;
  /** What a client sees as the peer's `fingerprint256`. */
  fingerprint256: string;
}

/** Writes `<name>.crt` and `<name>.key` into `dir`. */
export function makeTestCertificate(dir: string, name: string): TestCertificate {
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      "2",
      "-subj",
      `/CN=localhost/O=axon test ${name}`,
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ],
    { stdio: "ignore" },
  );
  const pem = readFileSync(certFile, "utf8");
  return { certFile, keyFile, pem, fingerprint256: new X509Certificate(pem).fingerprint256 };
}
