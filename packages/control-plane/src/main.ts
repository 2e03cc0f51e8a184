#!/usr/bin/env node
/**
 * `axon-control-plane`: starts the daemon in the foreground. The CLI starts it in the background
 * (`axon cluster up`, or the first `axon deploy`); run it directly to watch its log.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { isForwardedAwsVariable, parseDuration } from "@axon/config";
import type { PythonChoice } from "./daemon.js";
import { DomainError, USAGE_ERROR } from "./errors.js";
import { formatEventLine, formatLogTime } from "./events/log-line.js";
import {
  claimSupervision,
  DAEMON_ALREADY_RUNNING,
  SUPERVISED_ELSEWHERE_EXIT,
  SUPERVISOR_PID_ENV,
  Supervisor,
  type SupervisedMessage,
  type SupervisionClaim,
  type SupervisorStatus,
} from "./supervisor.js";
import { AXON_VERSION } from "./version.js";

const USAGE = `usage: axon-control-plane [--home DIR] [--port N] [--gateway-port N] [--listen ADDR:PORT [--tls-cert FILE --tls-key FILE]] [--python PATH] [--supervise]

  --home DIR          state directory (default $AXON_HOME or ~/.axon)
  --supervise         run the daemon as a child and start it again after a crash (what
                      \`axon cluster up\` does; under systemd, leave it out: systemd restarts)
  --supervise-after PID
                      watch the running daemon PID and supervise it once it crashes (what a
                      daemon starts by itself when its supervisor dies)
  --port N            control-plane API port on 127.0.0.1 (default 0: any free port)
  --gateway-port N    port of the gateway serving the APIs (default $AXON_GATEWAY_PORT or 8888)
  --listen ADDR:PORT  where the gateway listens instead of 127.0.0.1:<gateway port>; beyond
                      loopback only when every API requires keys (networking.auth: api_key)
  --insecure-no-auth  with --listen, serve APIs that require no keys to anyone who can reach it
  --tls-cert FILE     with --listen, serve the gateway over HTTPS: the certificate (PEM, the
                      server's first, then any intermediates); read again on SIGHUP
  --tls-key FILE      the certificate's private key (PEM, unencrypted)
  --python PATH       interpreter that runs predictors (default $AXON_PYTHON or python3)`;

function parsePort(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new DomainError(
      USAGE_ERROR,
      `${flag} must be a port number between 0 and 65535 (got ${value})`,
    );
  }
  return port;
}

/**
 * A Go-style duration (`1h`, `30m`) from the environment variable `name`, or `fallbackMs`:
 * AXON_ENV_GC_GRACE (unused environments live this long) and AXON_ROLLOUT_TIMEOUT (a new
 * version not live by then is rolled back).
 */
function durationFromEnv(name: string, fallbackMs: number): number {
  const value = process.env[name];
  if (value === undefined || value === "") return fallbackMs;
  try {
    return parseDuration(value);
  } catch {
    throw new DomainError(USAGE_ERROR, `${name} must be a duration like 1h or 30m (got ${value})`);
  }
}

function logLine(line: string): void {
  process.stdout.write(`${formatLogTime(new Date())} ${line}\n`);
}

/**
 * Takes the home's supervision socket (decision 0007: one supervisor per home, always), or says
 * who holds it and returns undefined: that supervisor is already starting, running or restarting
 * the daemon, and a second one would bring the cluster back after `cluster down` stopped the first.
 */
async function claimOrYield(
  home: string,
  handlers: { status: () => SupervisorStatus; startNow: () => void },
): Promise<SupervisionClaim | undefined> {
  const claim = await claimSupervision(home, handlers);
  if ("release" in claim) return claim;
  const holder =
    claim.holder === undefined
      ? "another process"
      : `supervisor ${claim.holder.pid} (${claim.holder.state})`;
  logLine(`supervisor: ${holder} already supervises ${home}; this one exits`);
  return undefined;
}

/** What the supervision socket answers with; a watcher hands it over to the supervisor it becomes. */
interface SupervisionHandlers {
  status: () => SupervisorStatus;
  startNow: () => void;
}

/**
 * Runs the daemon (this same entry, without `--supervise`) under a Supervisor until it stops as
 * asked; SIGTERM/SIGINT are passed on to it. `held` is the supervision a watcher
 * (`--supervise-after`) holds already, kept without a gap; otherwise it is taken here, or this
 * exits.
 */
async function supervise(
  home: string,
  held?: { claim: SupervisionClaim; handlers: SupervisionHandlers },
): Promise<number> {
  const entry = process.argv[1] ?? "";
  // This process's arguments, less those that made it a supervisor (`--supervise`, or
  // `--supervise-after PID`): what is left starts the daemon.
  const args = process.argv.slice(2);
  const after = args.indexOf("--supervise-after");
  if (after >= 0) args.splice(after, 2);
  const daemonArgs = [entry, ...args.filter((arg) => arg !== "--supervise")];
  const supervisor = new Supervisor({ daemonArgs, home, log: logLine });
  // A watcher's socket (read through these handlers) answers for this supervisor from now on.
  const handlers: SupervisionHandlers = held?.handlers ?? {
    status: () => supervisor.status(),
    startNow: () => {},
  };
  Object.assign(handlers, {
    status: () => supervisor.status(),
    startNow: () => supervisor.startNow(),
  });
  const claim = held?.claim ?? (await claimOrYield(home, handlers));
  if (claim === undefined) return SUPERVISED_ELSEWHERE_EXIT;
  process.on("SIGTERM", () => supervisor.stop("SIGTERM"));
  process.on("SIGINT", () => supervisor.stop("SIGINT"));
  // A closed terminal is not a reason to stop serving; a SIGHUP sent on purpose (reload the
  // gateway's certificate) is for the daemon, which owns the gateway.
  process.on("SIGHUP", () => signalDaemon(supervisor.status().daemonPid, "SIGHUP"));
  try {
    return await supervisor.run();
  } finally {
    claim.release();
  }
}

/** Sends `signal` to the daemon a supervisor runs, if one runs now (it may be restarting). */
function signalDaemon(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // Gone between the look and the signal: the daemon that replaces it reads the files anyway.
  }
}

/** How often a supervisor that took over (`--supervise-after`) looks at the daemon it watches. */
const WATCH_INTERVAL_MS = 500;

/**
 * The supervisor of a daemon whose first supervisor died (a `kill -9` of it; decision 0007): the
 * daemon starts this, detached, when its supervisor's channel closes. It cannot wait for a process
 * that is not its child, so it looks every WATCH_INTERVAL_MS whether the daemon still lives. Once
 * it is gone: a daemon that stopped as asked removed its lock, and this exits; a crashed one left
 * its lock naming it, and this becomes an ordinary supervisor that starts the daemon again (and
 * restarts it after any later crash).
 */
async function superviseAfter(home: string, daemonPid: number): Promise<number> {
  if (!Number.isInteger(daemonPid) || daemonPid <= 0) {
    throw new DomainError(USAGE_ERROR, "--supervise-after needs the pid of the daemon to watch");
  }
  const handlers: SupervisionHandlers = {
    status: () => ({ pid: process.pid, state: "watching", daemonPid }),
    startNow: () => {},
  };
  // One supervisor per home: a watcher is one too, and a live supervisor already there (a
  // `cluster up` that came first) makes it unnecessary.
  const claim = await claimOrYield(home, handlers);
  if (claim === undefined) return SUPERVISED_ELSEWHERE_EXIT;
  let stopped = false;
  process.on("SIGTERM", () => (stopped = true));
  process.on("SIGINT", () => (stopped = true));
  // Passed on to the daemon watched (see supervise); once this becomes its supervisor, that one's.
  let watching = true;
  process.on("SIGHUP", () => {
    if (watching) signalDaemon(daemonPid, "SIGHUP");
  });
  const alive = (): boolean => {
    try {
      process.kill(daemonPid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === "EPERM";
    }
  };
  while (!stopped && alive()) {
    await new Promise((resolve) => setTimeout(resolve, WATCH_INTERVAL_MS));
  }
  const lock = path.join(home, "daemon.lock");
  let lockPid: number | undefined;
  try {
    lockPid = Number.parseInt(readFileSync(lock, "utf8"), 10);
  } catch {
    lockPid = undefined; // removed: the daemon stopped as asked (or its home is gone)
  }
  if (stopped || lockPid !== daemonPid) {
    claim.release();
    return 0;
  }
  logLine(
    `supervisor: the control plane (pid ${daemonPid}) is gone without stopping; starting it again`,
  );
  watching = false;
  return supervise(home, { claim, handlers });
}

/** The most a graceful stop may take before the process exits anyway. */
const STOP_DEADLINE_MS = 30_000;

async function main(): Promise<number> {
  // Everything the daemon, its supervisor and its children write under the home (state.db, logs,
  // environments, unpacked projects) is its user's alone: no predictor or local user reads it.
  process.umask(0o077);
  const { values } = parseArgs({
    options: {
      home: { type: "string" },
      port: { type: "string" },
      "gateway-port": { type: "string" },
      listen: { type: "string" },
      "insecure-no-auth": { type: "boolean" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      python: { type: "string" },
      version: { type: "boolean" },
      help: { type: "boolean" },
      supervise: { type: "boolean" },
      "supervise-after": { type: "string" },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.version === true) {
    process.stdout.write(`${AXON_VERSION}\n`);
    return 0;
  }
  const home = path.resolve(
    values.home ?? process.env.AXON_HOME ?? path.join(os.homedir(), ".axon"),
  );
  if (values.supervise === true) return supervise(home);
  if (values["supervise-after"] !== undefined)
    return superviseAfter(home, Number.parseInt(values["supervise-after"], 10));
  const python: PythonChoice =
    values.python !== undefined
      ? { path: values.python, source: "flag" }
      : process.env.AXON_PYTHON !== undefined && process.env.AXON_PYTHON !== ""
        ? { path: process.env.AXON_PYTHON, source: "env" }
        : { path: "python3", source: "default" };

  // AWS settings reach replicas only when a deploy forwards them (per API, opt-out in the CLI);
  // the daemon's own copy, inherited from whichever shell started it, must not leak into every API.
  for (const name of Object.keys(process.env)) {
    if (isForwardedAwsVariable(name)) delete process.env[name];
  }
  const supervisorPid = Number.parseInt(process.env[SUPERVISOR_PID_ENV] ?? "", 10) || undefined;
  delete process.env[SUPERVISOR_PID_ENV]; // not for replicas
  // Loaded here, not at the top: the supervisor (above) runs for as long as the daemon and needs
  // none of it (53 MB resident instead of 76).
  const { Daemon } = await import("./daemon.js");
  const { DEFAULT_ROLLOUT_TIMEOUT_MS } = await import("./reconcile/api-reconciler.js");
  const { DEFAULT_RETENTION_MS } = await import("./monitoring/monitoring-loop.js");
  const { parseListenAddress } = await import("./providers/local/gateway-exposure.js");
  const listen = values.listen === undefined ? undefined : parseListenAddress(values.listen);
  const { gatewayTlsFromFlags } = await import("./providers/local/gateway-tls.js");
  // Read and checked before anything starts: a bad file is an error naming it, not a crash loop.
  const gatewayTls = gatewayTlsFromFlags({
    certFile: values["tls-cert"],
    keyFile: values["tls-key"],
    listen: values.listen,
  });
  const daemon = new Daemon({
    home,
    isolatedEnvironments: process.env.AXON_ENV_ISOLATED === "1",
    envGcGraceMs: durationFromEnv("AXON_ENV_GC_GRACE", 60 * 60_000),
    rolloutTimeoutMs: durationFromEnv("AXON_ROLLOUT_TIMEOUT", DEFAULT_ROLLOUT_TIMEOUT_MS),
    monitoringRetentionMs: durationFromEnv("AXON_MONITORING_RETENTION", DEFAULT_RETENTION_MS),
    apiPort: parsePort(values.port, "--port", 0),
    gatewayPort:
      listen?.port ??
      parsePort(values["gateway-port"] ?? process.env.AXON_GATEWAY_PORT, "--gateway-port", 8888),
    ...(listen === undefined ? {} : { gatewayHost: listen.host }),
    ...(values["insecure-no-auth"] === true ? { insecureNoAuth: true } : {}),
    ...(gatewayTls === undefined ? {} : { gatewayTls }),
    python,
    onEvent: (event, time) => process.stdout.write(`${formatEventLine(event, time)}\n`),
    ...(supervisorPid === undefined ? {} : { supervisorPid }),
  });
  // Reload the gateway's certificate (gateway-tls.ts); without TLS there is nothing to reload,
  // and a SIGHUP must not stop the daemon either way.
  process.on("SIGHUP", () => daemon.reloadGatewayTls());
  await daemon.start();
  // Under a supervisor (decision 0007): say when serving and when stopping as asked, so it
  // restarts only a crash. Its channel must not keep this process alive.
  const tellSupervisor = (message: SupervisedMessage): void => {
    if (process.connected) process.send?.(message);
  };
  process.channel?.unref();
  tellSupervisor("running");
  // The supervisor died (its channel closed) while this daemon serves: start another one that
  // watches this process from outside, so a later crash is still restarted.
  process.once("disconnect", () => {
    if (daemon.state !== "running") return;
    const watcher = spawn(
      process.execPath,
      // The daemon's own arguments (its supervisor's, less --supervise), so a restart is the same.
      [process.argv[1] ?? "", ...process.argv.slice(2), "--supervise-after", String(process.pid)],
      { detached: true, stdio: ["ignore", "inherit", "inherit"], env: process.env },
    );
    watcher.once("error", () => {});
    watcher.unref();
    if (watcher.pid !== undefined) {
      daemon.supervisedBy(watcher.pid);
      process.stdout.write(
        `${formatLogTime(new Date())} supervisor (pid ${supervisorPid ?? "?"}) is gone; supervisor ${watcher.pid} watches this control plane now\n`,
      );
    }
  });
  let toldStopping = false;
  await new Promise<void>((resolve) => {
    const onSignal = (signal: string): void => {
      void daemon.stop(`received ${signal}`);
    };
    process.once("SIGINT", () => onSignal("SIGINT"));
    process.once("SIGTERM", () => onSignal("SIGTERM"));
    // A stop starts from a signal or from the API (`axon cluster down`); either way it gets
    // STOP_DEADLINE_MS, then the process exits anyway.
    let deadline: NodeJS.Timeout | undefined;
    const poll = setInterval(() => {
      if (daemon.state !== "running" && !toldStopping) {
        tellSupervisor("stopping");
        toldStopping = true;
      }
      if (daemon.state === "stopping" && deadline === undefined) {
        deadline = setTimeout(() => {
          process.stderr.write(
            `stop took longer than ${STOP_DEADLINE_MS / 1000}s; exiting anyway\n`,
          );
          process.exit(1);
        }, STOP_DEADLINE_MS);
      }
      if (daemon.state === "stopped") {
        clearInterval(poll);
        clearTimeout(deadline);
        resolve();
      }
    }, 100);
  });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof DomainError) {
      process.stderr.write(`error: ${error.message}\n`);
      if (error.hint !== undefined) process.stderr.write(`  ${error.hint}\n`);
      // A supervisor restarting this daemon gives the home up rather than try again (decision
      // 0007); exit once the message has crossed the channel.
      if (error.code === DAEMON_ALREADY_RUNNING && process.connected) {
        const message: SupervisedMessage = "home-taken";
        process.send?.(message, () => process.exit(1));
        return;
      }
      process.exit(1);
    }
    if (
      error instanceof Error &&
      (error as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS") === true
    ) {
      process.stderr.write(`error: ${error.message}\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(
      `error: the control plane crashed while starting: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
