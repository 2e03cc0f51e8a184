/**
 * `axon cluster up`: start the local control plane and gateway (if not already running), or with
 * `--provider aws --config cluster.yaml`, create an AWS cluster (one CloudFormation stack) after
 * showing what it costs and asking (`--yes` skips the question).
 */
import { Command, Option } from "commander";
import { findDaemon } from "../../client/daemon.js";
import type { CliContext } from "../../context.js";
import { resolveHome } from "../../context.js";
import { UserError } from "../../errors.js";
import { gatewayPortFromEnv, outputOption, parsePort, type OutputOptions } from "../../options.js";
import { printJson } from "../../output.js";

interface UpFlags extends OutputOptions {
  gatewayPort?: number;
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
      if (flags.service === true) {
        const { installSystemdService } = await import("../../services/systemd-unit.js");
        const python = flags.python ?? ctx.env["AXON_PYTHON"];
        const installed = await installSystemdService(ctx, {
          home,
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
        if (gatewayPort !== undefined && new URL(running).port !== String(gatewayPort)) {
          ctx.stderr.write(
            `warning: its gateway listens at ${running}, not on port ${gatewayPort}; run \`axon cluster down\` first to change it\n`,
          );
        }
      } else {
        const { startDaemon } = await import("../../client/start-daemon.js");
        const started = performance.now();
        connection = await startDaemon(ctx, {
          home,
          ...(gatewayPort === undefined ? {} : { gatewayPort }),
          ...(flags.python === undefined ? {} : { python: flags.python }),
        });
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        ctx.stderr.write(
          `local cluster started at ${connection.record.apiUrl} (${seconds}s); gateway ${connection.record.gatewayUrl}\n`,
        );
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
