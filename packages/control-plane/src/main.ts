#!/usr/bin/env node
/**
 * `axon-control-plane`: starts the daemon in the foreground. The CLI starts it in the background
 * (`axon cluster up`, or the first `axon deploy`); run it directly to watch its log.
 */
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { isForwardedAwsVariable, parseDuration } from "@axon/config";
import type { PythonChoice } from "./daemon.js";
import { DomainError } from "./errors.js";
import { formatEventLine, formatLogTime } from "./events/log-line.js";
import { SUPERVISOR_PID_ENV, Supervisor, type SupervisedMessage } from "./supervisor.js";
import { AXON_VERSION } from "./version.js";

const USAGE = `usage: axon-control-plane [--home DIR] [--port N] [--gateway-port N] [--python PATH] [--supervise]

  --home DIR          state directory (default $AXON_HOME or ~/.axon)
  --supervise         run the daemon as a child and start it again after a crash (what
                      \`axon cluster up\` does; under systemd, leave it out: systemd restarts)
  --port N            control-plane API port on 127.0.0.1 (default 0: any free port)
  --gateway-port N    port of the gateway serving the APIs (default $AXON_GATEWAY_PORT or 8888)
  --python PATH       interpreter that runs predictors (default $AXON_PYTHON or python3)`;

function parsePort(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new DomainError(
      "usage",
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
    throw new DomainError("usage", `${name} must be a duration like 1h or 30m (got ${value})`);
  }
}

/**
 * Runs the daemon (this same entry, without `--supervise`) under a Supervisor until it stops as
 * asked; SIGTERM/SIGINT are passed on to it.
 */
async function supervise(home: string): Promise<number> {
  const entry = process.argv[1] ?? "";
  const daemonArgs = [entry, ...process.argv.slice(2).filter((arg) => arg !== "--supervise")];
  const supervisor = new Supervisor({
    daemonArgs,
    home,
    log: (line) => process.stdout.write(`${formatLogTime(new Date())} ${line}\n`),
  });
  process.on("SIGTERM", () => supervisor.stop("SIGTERM"));
  process.on("SIGINT", () => supervisor.stop("SIGINT"));
  process.on("SIGHUP", () => {}); // a closed terminal is not a reason to stop serving
  return supervisor.run();
}

/** The most a graceful stop may take before the process exits anyway. */
const STOP_DEADLINE_MS = 30_000;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      home: { type: "string" },
      port: { type: "string" },
      "gateway-port": { type: "string" },
      python: { type: "string" },
      version: { type: "boolean" },
      help: { type: "boolean" },
      supervise: { type: "boolean" },
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
  const daemon = new Daemon({
    home,
    isolatedEnvironments: process.env.AXON_ENV_ISOLATED === "1",
    envGcGraceMs: durationFromEnv("AXON_ENV_GC_GRACE", 60 * 60_000),
    rolloutTimeoutMs: durationFromEnv("AXON_ROLLOUT_TIMEOUT", DEFAULT_ROLLOUT_TIMEOUT_MS),
    monitoringRetentionMs: durationFromEnv("AXON_MONITORING_RETENTION", DEFAULT_RETENTION_MS),
    apiPort: parsePort(values.port, "--port", 0),
    gatewayPort: parsePort(
      values["gateway-port"] ?? process.env.AXON_GATEWAY_PORT,
      "--gateway-port",
      8888,
    ),
    python,
    onEvent: (event, time) => process.stdout.write(`${formatEventLine(event, time)}\n`),
    ...(supervisorPid === undefined ? {} : { supervisorPid }),
  });
  await daemon.start();
  // Under a supervisor (decision 0007): say when serving and when stopping as asked, so it
  // restarts only a crash. Its channel must not keep this process alive.
  const tellSupervisor = (message: SupervisedMessage): void => {
    if (process.connected) process.send?.(message);
  };
  process.channel?.unref();
  tellSupervisor("running");
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
