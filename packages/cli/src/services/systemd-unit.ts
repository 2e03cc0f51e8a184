/**
 * `axon cluster up --service`: a systemd unit for a machine that serves for real (the seed
 * tutorials ran Flask under systemd on EC2). systemd then does what the supervisor does for
 * `cluster up` (decision 0007) — start the daemon again after a crash — and also starts it at boot,
 * so the unit runs the daemon itself, without `--supervise`.
 *
 * Decisions recorded here:
 * - **`Restart=on-failure`, not `always`**: a crash (a signal, a non-zero exit) is restarted after
 *   1 s; `axon cluster down` (exit 0) stays down until `systemctl start` or the next boot.
 * - **`KillMode=mixed`**: `systemctl stop` sends SIGTERM to the daemon alone, which drains and
 *   stops its Python workers itself; whatever is left after `TimeoutStopSec` (the daemon's 30 s
 *   stop deadline, plus margin) is killed.
 * - **A user unit unless run as root** (`~/.config/systemd/user`, started at boot once lingering
 *   is enabled); as root, a system unit in `/etc/systemd/system` that runs as root.
 * - **`ExecReload` with `--tls-cert`**: `systemctl reload axon` sends the daemon SIGHUP, which
 *   reads the certificate and key again (a renewed certificate, e.g. from certbot's deploy hook)
 *   and does nothing else; without TLS there is nothing to reload, so there is no such line.
 * - **The environment is written down**: `PATH` as it is now (a user service's is minimal, and the
 *   `python3` predictors use is found through it), `AXON_HOME`, and `AXON_PYTHON` when set.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { homedir, userInfo } from "node:os";
import path from "node:path";
import { resolveControlPlaneEntry } from "../client/start-daemon.js";
import type { CliContext } from "../context.js";
import { UserError } from "../errors.js";

export interface SystemdUnitOptions {
  /** The Node binary and the control plane's main.js. */
  node: string;
  entry: string;
  home: string;
  gatewayPort?: number;
  /** `--listen ADDRESS:PORT` and `--insecure-no-auth` of `cluster up` (the daemon checks them). */
  listen?: string;
  insecureNoAuth?: boolean;
  /** `--tls-cert/--tls-key` (absolute paths); the unit's `systemctl reload` reads them again. */
  tlsCert?: string;
  tlsKey?: string;
  python?: string;
  /** `PATH` for the service (the one `axon` runs with). */
  pathEnv?: string;
  /** A system unit (running as root) instead of a user unit. */
  system: boolean;
}

export const SYSTEMD_UNIT_NAME = "axon.service";

/** The unit file's text. */
export function renderSystemdUnit(options: SystemdUnitOptions): string {
  const args = [options.node, options.entry, "--home", options.home];
  if (options.gatewayPort !== undefined) args.push("--gateway-port", String(options.gatewayPort));
  if (options.listen !== undefined) args.push("--listen", options.listen);
  if (options.insecureNoAuth === true) args.push("--insecure-no-auth");
  if (options.tlsCert !== undefined) args.push("--tls-cert", options.tlsCert);
  if (options.tlsKey !== undefined) args.push("--tls-key", options.tlsKey);
  if (options.python !== undefined) args.push("--python", options.python);
  const environment = [`AXON_HOME=${options.home}`];
  if (options.pathEnv !== undefined && options.pathEnv !== "") {
    environment.push(`PATH=${options.pathEnv}`);
  }
  return [
    "# Written by `axon cluster up --service`. Edit and run `systemctl daemon-reload`, or write it again.",
    "[Unit]",
    `Description=Axon control plane and gateway (${options.home.replaceAll("%", "%%")})`,
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${args.map((arg) => quoteSystemdArg(arg, true)).join(" ")}`,
    ...environment.map((variable) => `Environment=${quoteSystemdArg(variable, false)}`),
    ...(options.tlsCert === undefined ? [] : ["ExecReload=/bin/kill -HUP $MAINPID"]),
    "Restart=on-failure",
    "RestartSec=1",
    "KillMode=mixed",
    "TimeoutStopSec=40",
    "UMask=0077",
    "",
    "[Install]",
    `WantedBy=${options.system ? "multi-user.target" : "default.target"}`,
    "",
  ].join("\n");
}

/** Where the unit goes: the user's unit folder, or the system's when run as root. */
export function systemdUnitPath(system: boolean, userHome: string): string {
  return system
    ? path.join("/etc/systemd/system", SYSTEMD_UNIT_NAME)
    : path.join(userHome, ".config", "systemd", "user", SYSTEMD_UNIT_NAME);
}

/** The commands that enable and start the unit (shown after it is written). */
export function systemdNextSteps(system: boolean, user: string): string[] {
  const ctl = system ? "systemctl" : "systemctl --user";
  const steps = [`${ctl} daemon-reload`, `${ctl} enable --now axon`];
  if (!system) steps.push(`loginctl enable-linger ${user}   # start it at boot, without a login`);
  steps.push(`${system ? "journalctl" : "journalctl --user"} -u axon -f   # its log`);
  return steps;
}

/** Writes the unit file (creating its folder) and returns where. */
export async function writeSystemdUnit(file: string, text: string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text, { mode: 0o644 });
  return file;
}

/**
 * systemd splits these lines on spaces and reads `\`, `"`, `'` and `%` itself, and `$` in
 * ExecStart (not in Environment): an argument holding any of them, or a space, is double-quoted
 * with those escaped (`%` and `$` doubled).
 */
function quoteSystemdArg(arg: string, expandsVariables: boolean): string {
  const percent = arg.replaceAll("%", "%%");
  const escaped = expandsVariables ? percent.replaceAll("$", () => "$$") : percent;
  if (!/[\s"'\\]/.test(escaped) && escaped !== "") return escaped;
  return `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** What `cluster up --service` did: the unit's path and text, and how to start it. */
export interface InstalledService {
  file: string;
  unit: string;
  nextSteps: string[];
}

/**
 * Writes the unit for this installation (this Node, this control plane) and returns it with the
 * commands that start it. `AXON_SYSTEMD_UNIT_DIR` writes it elsewhere (tests, packaging).
 */
export async function installSystemdService(
  ctx: CliContext,
  options: {
    home: string;
    gatewayPort?: number;
    listen?: string;
    insecureNoAuth?: boolean;
    tlsCert?: string;
    tlsKey?: string;
    python?: string;
  },
): Promise<InstalledService> {
  const system = process.getuid?.() === 0;
  const unit = renderSystemdUnit({
    node: process.execPath,
    entry: resolveControlPlaneEntry(ctx.env),
    ...options,
    ...(ctx.env["PATH"] === undefined ? {} : { pathEnv: ctx.env["PATH"] }),
    system,
  });
  const dir = ctx.env["AXON_SYSTEMD_UNIT_DIR"];
  const file =
    dir !== undefined && dir !== ""
      ? path.join(dir, SYSTEMD_UNIT_NAME)
      : systemdUnitPath(system, ctx.env["HOME"] ?? homedir());
  try {
    await writeSystemdUnit(file, unit);
  } catch (error) {
    throw new UserError(`cannot write the systemd unit ${file}`, {
      cause: error,
      hint: system ? undefined : "run it as root to write a system unit instead",
    });
  }
  return {
    file,
    unit,
    nextSteps: systemdNextSteps(system, ctx.env["USER"] ?? userInfo().username),
  };
}
