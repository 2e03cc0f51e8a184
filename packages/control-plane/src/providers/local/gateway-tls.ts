/**
 * HTTPS on the local gateway (issue 29, `cluster up --listen ADDRESS:PORT --tls-cert FILE
 * --tls-key FILE`): the certificate and key are PEM files, read and checked when the daemon starts
 * (a bad file stops the start with an error naming the file and what is wrong with it) and again
 * on SIGHUP, where a bad file keeps the certificate the gateway serves and says why — a renewal
 * that went wrong must not take the endpoints down. New connections get the new certificate;
 * connections already open finish with theirs (node:tls `server.setSecureContext`).
 *
 * Which process to signal: the daemon (the `pid` in `$AXON_HOME/daemon.json`) owns the gateway.
 * Under `cluster up` it runs below a supervisor (decision 0007), which passes SIGHUP on to it, so
 * either pid works; under systemd the unit's `ExecReload=kill -HUP $MAINPID` signals the daemon.
 */
import { readFileSync, statSync } from "node:fs";
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";
import { DomainError, USAGE_ERROR } from "../../errors.js";

/** A `--tls-cert`/`--tls-key` file cannot be read or used (400). */
export const GATEWAY_TLS_INVALID = "gateway.tls_invalid";

/** The PEM files the gateway serves HTTPS from. */
export interface GatewayTlsFiles {
  certFile: string;
  keyFile: string;
}

/** A certificate and key read from their files and checked against each other. */
export interface LoadedTls {
  /** The certificate file's content (the server certificate, then any intermediates). */
  cert: Buffer;
  key: Buffer;
  /** SHA-256 fingerprint of the server certificate, `AB:CD:…` (what a client sees). */
  fingerprint256: string;
  subject: string;
  /** When the certificate expires (RFC 2822-like, as node:crypto prints it). */
  validTo: string;
  /** True when the certificate has expired already: clients will refuse it. */
  expired: boolean;
  /** The key file's mode lets users other than its owner read it (the daemon warns). */
  keyReadableByOthers: boolean;
}

const PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----";
const PEM_PRIVATE_KEY = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

/** Reads and checks the certificate and key; throws a DomainError naming the file and the fault. */
export function loadGatewayTls(files: GatewayTlsFiles, now: Date = new Date()): LoadedTls {
  const cert = readPemFile(files.certFile, "--tls-cert");
  const key = readPemFile(files.keyFile, "--tls-key");
  const certText = cert.toString("latin1");
  if (!certText.includes(PEM_CERTIFICATE)) {
    const swapped = PEM_PRIVATE_KEY.test(certText);
    throw invalid(
      `--tls-cert ${files.certFile} ${swapped ? "holds a private key, not a certificate" : "is not a PEM certificate (no -----BEGIN CERTIFICATE----- line)"}`,
      swapped
        ? "the certificate and the key look swapped: pass the certificate to --tls-cert and the key to --tls-key"
        : "give the certificate in PEM form (convert a DER file with `openssl x509 -inform der -in CERT -out cert.pem`)",
    );
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw invalid(
      `--tls-cert ${files.certFile} is not a readable PEM certificate: ${messageOf(error)}`,
      "check the file with `openssl x509 -in FILE -noout -text`",
      error,
    );
  }
  const keyText = key.toString("latin1");
  if (!PEM_PRIVATE_KEY.test(keyText)) {
    const swapped = keyText.includes(PEM_CERTIFICATE);
    throw invalid(
      `--tls-key ${files.keyFile} ${swapped ? "holds a certificate, not a private key" : "is not a PEM private key (no -----BEGIN … PRIVATE KEY----- line)"}`,
      swapped
        ? "the certificate and the key look swapped: pass the certificate to --tls-cert and the key to --tls-key"
        : "give the private key in PEM form (`openssl pkey -in KEY -out key.pem`)",
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    const encrypted = /passphrase|ENCRYPTED/i.test(`${messageOf(error)} ${keyText.slice(0, 64)}`);
    throw invalid(
      encrypted
        ? `--tls-key ${files.keyFile} is encrypted with a passphrase`
        : `--tls-key ${files.keyFile} is not a readable private key: ${messageOf(error)}`,
      encrypted
        ? "the daemon starts unattended: give it an unencrypted key (`openssl pkey -in KEY -out key.pem`), readable by its user only"
        : "check the file with `openssl pkey -in FILE -noout`",
      error,
    );
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw invalid(
      `--tls-key ${files.keyFile} does not match the certificate in --tls-cert ${files.certFile}`,
      "give the key the certificate was issued for (compare `openssl x509 -in CERT -noout -pubkey` with `openssl pkey -in KEY -pubout`)",
    );
  }
  try {
    // What the server will do with them: anything else node:tls refuses shows up here, not later.
    createSecureContext({ cert, key });
  } catch (error) {
    throw invalid(
      `--tls-cert ${files.certFile} and --tls-key ${files.keyFile} cannot serve TLS: ${messageOf(error)}`,
      "check both files with openssl",
      error,
    );
  }
  return {
    cert,
    key,
    fingerprint256: certificate.fingerprint256,
    subject: certificate.subject.replaceAll("\n", ", "),
    validTo: certificate.validTo,
    expired: certificate.validToDate.getTime() <= now.getTime(),
    keyReadableByOthers: (statSync(files.keyFile).mode & 0o077) !== 0,
  };
}

/**
 * The daemon's `--tls-cert/--tls-key` as a GatewayTls (read and checked now), or undefined
 * without them. Both are needed, and only with `--listen`: the loopback gateway's clients are on
 * this machine, where HTTPS protects nothing the user does not already see.
 */
export function gatewayTlsFromFlags(flags: {
  certFile: string | undefined;
  keyFile: string | undefined;
  listen: string | undefined;
}): GatewayTls | undefined {
  const { certFile, keyFile } = flags;
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    throw new DomainError(
      USAGE_ERROR,
      `${certFile === undefined ? "--tls-key" : "--tls-cert"} needs ${certFile === undefined ? "--tls-cert" : "--tls-key"} too`,
      { hint: "give both: --tls-cert CERT.pem --tls-key KEY.pem" },
    );
  }
  if (flags.listen === undefined) {
    throw new DomainError(USAGE_ERROR, "--tls-cert and --tls-key only apply with --listen", {
      hint: "add --listen ADDRESS:PORT (e.g. --listen 0.0.0.0:8443): without it the gateway listens on 127.0.0.1, for this machine only",
    });
  }
  return new GatewayTls({ certFile, keyFile });
}

/**
 * The gateway's certificate: the last good one read from its files, and who to tell when a
 * reload brings another.
 */
export class GatewayTls {
  readonly files: GatewayTlsFiles;
  #current: LoadedTls;
  readonly #listeners: Array<(loaded: LoadedTls) => void> = [];

  /** Reads the files now; throws (GATEWAY_TLS_INVALID) when they cannot serve. */
  constructor(files: GatewayTlsFiles) {
    this.files = files;
    this.#current = loadGatewayTls(files);
  }

  get current(): LoadedTls {
    return this.#current;
  }

  /** `listener` gets every certificate a reload brings (the gateway's server). */
  onChange(listener: (loaded: LoadedTls) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Reads the files again. Good ones replace the certificate (returned); a bad one throws, and
   * the certificate served stays the last good one.
   */
  reload(): LoadedTls {
    const loaded = loadGatewayTls(this.files);
    this.#current = loaded;
    for (const listener of this.#listeners) listener(loaded);
    return loaded;
  }
}

function readPemFile(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "does not exist"
        : code === "EACCES"
          ? "cannot be read by the daemon's user (permission denied)"
          : code === "EISDIR"
            ? "is a directory, not a file"
            : `cannot be read: ${messageOf(error)}`;
    throw invalid(
      `${flag} ${file} ${why}`,
      "give the path of a PEM file the daemon's user can read",
      error,
    );
  }
}

function invalid(message: string, hint: string, cause?: unknown): DomainError {
  return new DomainError(GATEWAY_TLS_INVALID, message, { hint, cause });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
