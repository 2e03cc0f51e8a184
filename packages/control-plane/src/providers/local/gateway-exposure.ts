/**
 * Serving the local gateway to other machines (issue 29, `cluster up --listen ADDRESS:PORT`): the
 * gateway binds beyond loopback only when every API on it requires keys
 * (`networking.auth: api_key`), checked when the daemon starts (the stored APIs) and at every
 * deploy (the new ones), or with `--insecure-no-auth`, which the CLI warns about loudly. The
 * daemon's own control API stays on 127.0.0.1 whatever this says.
 */
import { isIP } from "node:net";
import { DomainError, USAGE_ERROR } from "../../errors.js";

/** Some API on a gateway listening beyond loopback does not require keys (409). */
export const GATEWAY_EXPOSED_WITHOUT_AUTH = "gateway.exposed_without_auth";

/** Where the gateway listens, and whether APIs without keys may be served there. */
export interface GatewayExposure {
  host: string;
  /** `--insecure-no-auth`: serve APIs without keys beyond loopback anyway. */
  insecureNoAuth: boolean;
}

/** `127.0.0.1`, any `127.x.y.z`, `::1` and `localhost`: only this machine reaches them. */
export function isLoopbackHost(host: string): boolean {
  if (host === "localhost" || host === "::1") return true;
  return isIP(host) === 4 && host.startsWith("127.");
}

/** `ADDRESS:PORT` (`0.0.0.0:8888`, `10.0.0.5:80`, `[::]:8888`) for `--listen`. */
export function parseListenAddress(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (
    host === undefined ||
    !(isIP(host) !== 0 || host === "localhost") ||
    !Number.isInteger(port) ||
    port < 1 ||
    port > 65535
  ) {
    throw new DomainError(USAGE_ERROR, `--listen ${text} is not ADDRESS:PORT`, {
      hint: "give an IP address of this machine and a port, e.g. --listen 0.0.0.0:8888 or --listen [::]:8888",
    });
  }
  return { host, port };
}

/**
 * Throws when the gateway listens beyond loopback and some of `apis` may be called without a key
 * (unless `--insecure-no-auth`); the message names each such API and what to do.
 */
export function requireKeysBeyondLoopback(
  exposure: GatewayExposure,
  apis: ReadonlyArray<{ name: string; auth: string | undefined }>,
): void {
  if (exposure.insecureNoAuth || isLoopbackHost(exposure.host)) return;
  const open = apis.filter((api) => api.auth !== "api_key").map((api) => api.name);
  if (open.length === 0) return;
  const named = open.length === 1 ? `api ${open[0]} does` : `apis ${open.join(", ")} do`;
  throw new DomainError(
    GATEWAY_EXPOSED_WITHOUT_AUTH,
    `the gateway listens on ${exposure.host}, beyond this machine, and ${named} not require API keys`,
    {
      status: 409,
      hint: `add \`networking: {auth: api_key}\` to ${open.length === 1 ? "its" : "their"} config and deploy on a loopback gateway first (or delete ${open.length === 1 ? "it" : "them"}); --insecure-no-auth serves them to anyone who can reach the address`,
    },
  );
}
