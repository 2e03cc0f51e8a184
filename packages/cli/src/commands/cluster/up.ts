/**
 * `axon cluster up`: start the local control plane and gateway (if not already running), or with
 * `--provider aws --config cluster.yaml`, create an AWS cluster (one CloudFormation stack) after
 * showing what it costs and asking (`--yes` skips the question).
 */
import type { ApiSummary } from "@axon/control-plane/api";
import path from "node:path";
import { Command, Option } from "commander";
import { findDaemon, type DaemonConnection } from "../../client/daemon.js";
import type { StartDaemonOptions } from "../../client/start-daemon.js";
import type { CliContext } from "../../context.js";
import { resolveHome, sleep } from "../../context.js";
import { UserError } from "../../errors.js";
import { gatewayPortFromEnv, outputOption, parsePort, type OutputOptions } from "../../options.js";
import { printJson } from "../../output.js";

interface UpFlags extends OutputOptions {
  gatewayPort?: number;
  listen?: string;
  insecureNoAuth?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  python?: string;
  service?: boolean;
  provider: "local" | "aws";
  config?: string;
  yes?: boolean;
}

/** Builds `axon cluster up`. */
export function makeClusterUpCommand(ctx: CliContext): Command {
  return new Command("up")
    .description(
      "start the local cluster in the background, or create an aws cluster (--provider aws --config FILE)",
    )
    .option(
      "--gateway-port <port>",
      "port the apis are served on (default 8888, or AXON_GATEWAY_PORT)",
      parsePort,
    )
    .option(
      "--listen <address:port>",
      "serve the apis to other machines at ADDRESS:PORT (e.g. 0.0.0.0:8888); refused while an api requires no keys (networking.auth: api_key)",
    )
    .option(
      "--insecure-no-auth",
      "with --listen, serve apis that require no keys to anyone who can reach the address",
    )
    .option(
      "--tls-cert <file>",
      "with --listen, serve the apis over HTTPS with this certificate (PEM); the daemon reads it again on SIGHUP",
    )
    .option("--tls-key <file>", "the private key of --tls-cert (PEM, unencrypted)")
    .option(
      "--python <path>",
      "python interpreter that runs predictors (default: AXON_PYTHON, else python3)",
    )
    .option(
      "--service",
      "instead of starting it now, write a systemd unit that runs it at boot and restarts it after a crash",
    )
    .addOption(
      new Option("--provider <provider>", "where the cluster runs")
        .choices(["local", "aws"])
        .default("local"),
    )
    .option("--config <file>", "cluster config for --provider aws (e.g. cluster.yaml)")
    .option("-y, --yes", "create the AWS resources without asking")
    .addOption(outputOption())
    .action(async (flags: UpFlags, command: Command) => {
      if (flags.provider === "aws") {
        const { runAwsClusterUp } = await import("./aws.js");
        await runAwsClusterUp(ctx, command, flags);
        return;
      }
      if (flags.config !== undefined) {
        throw new UserError("--config is the cluster config of an aws cluster", {
          hint: "add --provider aws, or leave --config out to start the local cluster",
        });
      }
      const home = resolveHome(ctx, command);
      const gatewayPort = flags.gatewayPort ?? gatewayPortFromEnv(ctx.env);
      if (flags.insecureNoAuth === true && flags.listen === undefined) {
        throw new UserError("--insecure-no-auth only applies with --listen", {
          hint: "leave it out: without --listen the gateway listens on 127.0.0.1 only",
        });
      }
      const tls = tlsFiles(flags, ctx.cwd);
      const exposure = {
        ...(flags.listen === undefined ? {} : { listen: flags.listen }),
        ...(flags.insecureNoAuth === true ? { insecureNoAuth: true } : {}),
        ...tls,
      };
      if (flags.insecureNoAuth === true) {
        ctx.stderr.write(
          `WARNING: --insecure-no-auth: every api on this gateway without networking.auth: api_key can be called by anyone who can reach ${flags.listen ?? ""} — they run your models on your machine. See docs/security.md.\n`,
        );
      }
      if (flags.service === true) {
        const { installSystemdService } = await import("../../services/systemd-unit.js");
        const python = flags.python ?? ctx.env["AXON_PYTHON"];
        const installed = await installSystemdService(ctx, {
          home,
          ...exposure,
          ...(gatewayPort === undefined ? {} : { gatewayPort }),
          ...(python === undefined || python === "" ? {} : { python }),
        });
        if (flags.output === "json") {
          printJson(ctx.stdout, installed);
          return;
        }
        ctx.stderr.write(`systemd unit written to ${installed.file}\n`);
        ctx.stdout.write(`${installed.nextSteps.map((step) => `  ${step}`).join("\n")}\n`);
        return;
      }
      let connection = await findDaemon(home, ctx.signal);
      if (connection !== undefined) {
        ctx.stderr.write(`the local cluster is already running at ${connection.record.apiUrl}\n`);
        const running = connection.record.gatewayUrl;
        if (flags.listen !== undefined) {
          ctx.stderr.write(
            `warning: its gateway listens at ${running}; run \`axon cluster down\` first to serve it at ${flags.listen}\n`,
          );
        } else if (gatewayPort !== undefined && new URL(running).port !== String(gatewayPort)) {
          ctx.stderr.write(
            `warning: its gateway listens at ${running}, not on port ${gatewayPort}; run \`axon cluster down\` first to change it\n`,
          );
        }
        await waitForRunningReplicas(ctx, connection, flags.output === "json");
      } else {
        connection = await startWithProgress(ctx, {
          json: flags.output === "json",
          home,
          ...exposure,
          ...(gatewayPort === undefined ? {} : { gatewayPort }),
          ...(flags.python === undefined ? {} : { python: flags.python }),
        });
      }
      const info = await connection.client.info();
      if (flags.output === "json") {
        printJson(ctx.stdout, info);
        return;
      }
      const { renderClusterInfo } = await import("../../ui/cluster.js");
      ctx.stdout.write(`${renderClusterInfo(info)}\n`);
    });
}

/**
 * `--tls-cert/--tls-key` as absolute paths (the daemon runs in its home, and a systemd unit from
 * anywhere); both or neither, and only with `--listen`. The daemon reads and checks the files.
 */
function tlsFiles(flags: UpFlags, cwd: string): { tlsCert?: string; tlsKey?: string } {
  const { tlsCert, tlsKey } = flags;
  if (tlsCert === undefined && tlsKey === undefined) return {};
  if (tlsCert === undefined || tlsKey === undefined) {
    throw new UserError(
      `${tlsCert === undefined ? "--tls-key needs --tls-cert" : "--tls-cert needs --tls-key"} too`,
      { hint: "give both: --tls-cert cert.pem --tls-key key.pem" },
    );
  }
  if (flags.listen === undefined) {
    throw new UserError("--tls-cert and --tls-key only apply with --listen", {
      hint: "add --listen ADDRESS:PORT (e.g. --listen 0.0.0.0:8443): without it the gateway serves this machine only, on 127.0.0.1",
    });
  }
  return { tlsCert: path.resolve(cwd, tlsCert), tlsKey: path.resolve(cwd, tlsKey) };
}

/** How long `cluster up` waits for the stored APIs' replicas before leaving them to start alone. */
const REPLICA_WAIT_MS = 120_000;
const REPLICA_POLL_MS = 250;

/**
 * Starts the daemon showing each phase as it happens (the daemon's own, then its replicas coming
 * back), each with the time since the command began; resolves once they are ready.
 */
async function startWithProgress(
  ctx: CliContext,
  options: StartDaemonOptions & { json: boolean },
): Promise<DaemonConnection> {
  const { startDaemon } = await import("../../client/start-daemon.js");
  const { startClusterUpProgress } = await import("../../ui/live-cluster-up.js");
  const { json, ...start } = options;
  const progress = startClusterUpProgress(ctx, {
    plain: json,
    waiting: "waiting for the control plane",
  });
  try {
    const connection = await startDaemon(ctx, {
      ...start,
      onPhase: (phase) => progress.step(phase.text, phase.at),
    });
    const replicas = await waitForReplicas(ctx, connection, (text) => progress.waiting(text));
    progress.waiting(undefined);
    if (replicas !== undefined) progress.step(replicas, ctx.now());
    const { apiUrl, gatewayUrl } = connection.record;
    progress.step(`ready: control plane ${apiUrl}, gateway ${gatewayUrl}`, ctx.now());
    return connection;
  } finally {
    await progress.stop();
  }
}

/**
 * A daemon that already runs may still be bringing its APIs' replicas back (its supervisor restarted
 * it after a crash, or another `cluster up` started it a moment ago): `cluster up` then waits for
 * them as a fresh start does, so that once it returns the endpoints answer. Says nothing more when
 * every replica is ready.
 */
async function waitForRunningReplicas(
  ctx: CliContext,
  connection: DaemonConnection,
  json: boolean,
): Promise<void> {
  const { apis } = await connection.client.listApis();
  if (!apis.some(isStarting)) return;
  const { startClusterUpProgress } = await import("../../ui/live-cluster-up.js");
  const progress = startClusterUpProgress(ctx, { plain: json, waiting: "waiting for replicas" });
  try {
    const replicas = await waitForReplicas(ctx, connection, (text) => progress.waiting(text));
    progress.waiting(undefined);
    if (replicas !== undefined) progress.step(replicas, ctx.now());
  } finally {
    await progress.stop();
  }
}

/** Replicas of `replicas` that serve: up to date or stale, at most the requested count. */
function readyOf(replicas: ApiSummary["replicas"]): number {
  return Math.min(replicas.requested, replicas.upToDate + replicas.stale);
}

/** Whether `api` still has replicas to wait for (one in `error` is not waited for). */
function isStarting(api: ApiSummary): boolean {
  return api.status !== "error" && readyOf(api.replicas) < api.replicas.requested;
}

/**
 * Waits until every stored API whose status is not `error` has its requested replicas ready
 * (bounded: they go on starting after that), telling `waiting` the count as it changes. Returns
 * the summary line, or undefined when no API has replicas to start.
 */
async function waitForReplicas(
  ctx: CliContext,
  connection: DaemonConnection,
  waiting: (text: string) => void,
): Promise<string | undefined> {
  const deadline = Date.now() + REPLICA_WAIT_MS;
  for (;;) {
    const { apis } = await connection.client.listApis();
    const requested = apis.reduce((sum, api) => sum + api.replicas.requested, 0);
    const ready = apis.reduce((sum, api) => sum + readyOf(api.replicas), 0);
    if (requested === 0) return undefined;
    const failed = apis.filter((api) => api.status === "error").map((api) => api.name);
    const pending = apis.filter(isStarting);
    const count = `${ready} of ${requested}`;
    if (pending.length === 0) {
      return failed.length === 0
        ? `replicas ready: ${count}`
        : `replicas ready: ${count}; failing: ${failed.join(", ")} (see axon get ${failed[0] ?? ""})`;
    }
    if (Date.now() >= deadline) {
      return `replicas ready: ${count}; still starting: ${pending.map((api) => api.name).join(", ")} (axon get shows when they are)`;
    }
    waiting(`replicas starting: ${count} ready`);
    await sleep(REPLICA_POLL_MS, ctx.signal);
  }
}
