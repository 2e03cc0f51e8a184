/**
 * The AWS side of `axon cluster up|info|down` (`--provider aws`, `--env NAME`): each turns flags
 * into a request, calls one service, and renders. Loaded only when an AWS flag is given, so the
 * local commands stay as fast as before.
 */
import type { Command } from "commander";
import type { ClusterProgressLine } from "../../client/api-client.js";
import type { CliContext } from "../../context.js";
import { resolveHome } from "../../context.js";
import { UserError } from "../../errors.js";
import { isRemoteEnvironment } from "../../local-environment.js";
import type { OutputOptions } from "../../options.js";
import { printJson } from "../../output.js";
import type { LiveCluster } from "../../ui/live-cluster.js";

/** `--env NAME` from the program's global options. */
export function selectedEnvironment(command: Command): string | undefined {
  const { env } = command.optsWithGlobals<{ env?: string }>();
  return env;
}

/** True when `--env` names an environment other than this machine's. */
export function targetsRemoteEnvironment(command: Command): boolean {
  return isRemoteEnvironment(selectedEnvironment(command));
}

/** This shell's AWS settings (credentials, profile, region, endpoints) for the daemon's calls. */
async function shellAwsSettings(ctx: CliContext): Promise<Record<string, string>> {
  const { pickForwardedAwsVariables } = await import("@axon/config");
  return pickForwardedAwsVariables(ctx.env as NodeJS.ProcessEnv);
}

async function connect(ctx: CliContext, command: Command) {
  const { connectOrStartDaemon } = await import("../../client/start-daemon.js");
  const { connection } = await connectOrStartDaemon(ctx, { home: resolveHome(ctx, command) });
  return connection.client;
}

/**
 * Where stack progress goes: a live ink view on a terminal (mounted at the first line, so the
 * confirmation comes before it), else one plain line each on stderr.
 */
async function progressOutput(
  ctx: CliContext,
  json: boolean,
): Promise<{ write: (line: ClusterProgressLine) => void; stop: () => Promise<void> }> {
  const terminal = json ? undefined : ctx.terminal;
  if (terminal === undefined) {
    const { renderClusterProgress } = await import("../../ui/aws-cluster.js");
    return {
      write: (line) => ctx.stderr.write(`${renderClusterProgress(line)}\n`),
      stop: async () => undefined,
    };
  }
  const { startLiveCluster } = await import("../../ui/live-cluster.js");
  let live: LiveCluster | undefined;
  return {
    write: (line) => {
      live ??= startLiveCluster(terminal, { color: ctx.color, now: ctx.now });
      live.update(line);
    },
    stop: async () => {
      await live?.stop();
    },
  };
}

/** `axon cluster up --provider aws --config cluster.yaml [--env NAME] [--yes]`. */
export async function runAwsClusterUp(
  ctx: CliContext,
  command: Command,
  flags: OutputOptions & { config?: string; yes?: boolean },
): Promise<void> {
  if (flags.config === undefined) {
    throw new UserError("cluster up --provider aws needs the cluster config", {
      hint: "pass --config cluster.yaml (examples/aws/cluster.yaml shows every setting)",
    });
  }
  const { bringUpAwsCluster, readClusterRequest } = await import("../../services/aws-cluster.js");
  const ui = await import("../../ui/aws-cluster.js");
  const request = await readClusterRequest(ctx.cwd, flags.config, selectedEnvironment(command));
  const client = await connect(ctx, command);
  const json = flags.output === "json";
  const progress = await progressOutput(ctx, json);
  let outcome;
  try {
    outcome = await bringUpAwsCluster(client, request, {
      awsSettings: await shellAwsSettings(ctx),
      confirm: async (planned) => {
        ctx.stderr.write(`${ui.renderCostTable(planned)}\n\n`);
        if (flags.yes === true) return;
        const { confirmOrCancel } = await import("../../ui/prompt.js");
        await confirmOrCancel(
          ctx,
          planned.existingStatus === undefined
            ? `Create these resources in ${planned.region} (billed to your AWS account)?`
            : `Stack ${planned.stackName} exists (${planned.existingStatus}): apply this config to it?`,
          "--yes",
        );
      },
      onProgress: (line) => progress.write(line),
    });
  } finally {
    await progress.stop();
  }
  const { plan, result } = outcome;
  if (json) {
    printJson(ctx.stdout, { ...result, costs: plan.costs });
    return;
  }
  ctx.stderr.write(`${result.message}\n`);
  ctx.stdout.write(`${ui.renderAwsClusterInfo(result.cluster)}\n`);
}

/** `axon cluster info --env NAME` for an AWS environment. */
export async function runAwsClusterInfo(
  ctx: CliContext,
  command: Command,
  flags: OutputOptions,
): Promise<void> {
  const env = selectedEnvironment(command) ?? "";
  const { describeAwsCluster } = await import("../../services/aws-cluster.js");
  const info = await describeAwsCluster(
    await connect(ctx, command),
    env,
    await shellAwsSettings(ctx),
  );
  if (flags.output === "json") {
    printJson(ctx.stdout, info);
    return;
  }
  const { renderAwsClusterInfo } = await import("../../ui/aws-cluster.js");
  ctx.stdout.write(`${renderAwsClusterInfo(info)}\n`);
}

/** `axon cluster down --env NAME [--yes]`: empties the bucket and deletes the stack. */
export async function runAwsClusterDown(
  ctx: CliContext,
  command: Command,
  flags: OutputOptions & { yes?: boolean },
): Promise<void> {
  const env = selectedEnvironment(command) ?? "";
  const client = await connect(ctx, command);
  const { describeAwsCluster, tearDownAwsCluster } = await import("../../services/aws-cluster.js");
  const ui = await import("../../ui/aws-cluster.js");
  const awsSettings = await shellAwsSettings(ctx);
  const info = await describeAwsCluster(client, env, awsSettings);
  if (info.stackStatus !== null && flags.yes !== true) {
    ctx.stderr.write(`${ui.renderAwsClusterInfo(info)}\n\n`);
    const { confirmOrCancel } = await import("../../ui/prompt.js");
    await confirmOrCancel(
      ctx,
      `Delete stack ${info.stackName} in ${info.region} and every bundle in its bucket?`,
      "--yes",
    );
  }
  const progress = await progressOutput(ctx, flags.output === "json");
  let result;
  try {
    result = await tearDownAwsCluster(client, env, awsSettings, (line) => progress.write(line));
  } finally {
    await progress.stop();
  }
  if (flags.output === "json") {
    printJson(ctx.stdout, result);
    return;
  }
  ctx.stdout.write(`${result.message}\n`);
}
