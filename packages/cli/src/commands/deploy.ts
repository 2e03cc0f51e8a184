/** `axon deploy [config-or-dir]`: create or update the APIs a config file describes. */
import { Command } from "commander";
import type { CliContext } from "../context.js";
import { resolveHome } from "../context.js";
import { ChangesPlanned, InterruptedError, ShownError, UserError } from "../errors.js";
import { gatewayPortFromEnv, outputOption, type OutputOptions } from "../options.js";
import { withExamples } from "../help.js";
import { formatBytes, indent, printJson } from "../output.js";
import type { DeployProgress, DeploySummary, WaitedApi } from "../services/deploy.js";

interface DeployFlags extends OutputOptions {
  plan?: boolean;
  wait?: boolean;
  waitTimeout: string;
  force?: boolean;
  yes?: boolean;
  awsCredentials: boolean;
}

/** Cortex asked before uploading this many files (and any file of 10 MiB or more); so do we. */
const MANY_FILES = 1000;

/** Builds `axon deploy`. */
export function makeDeployCommand(ctx: CliContext): Command {
  const command = new Command("deploy")
    .description("create or update the apis in a config file (starts the local cluster if needed)")
    .argument(
      "[config-or-dir]",
      "config file, or folder holding axon.yaml / cortex.yaml (default: .)",
    )
    .addOption(outputOption())
    .option("--wait", "wait for the apis to be live (default on a terminal)")
    .option("--no-wait", "return as soon as the deploy is accepted")
    .option("--wait-timeout <duration>", "how long --wait waits, e.g. 90s, 5m", "5m")
    .option(
      "--plan",
      "show what the deploy would do to each api (fields, replicas, environment, rollout) and deploy nothing; exit 3 when something would change",
    )
    .option("-f, --force", "override an update in progress")
    .option("-y, --yes", "skip confirmation prompts")
    .option(
      "--no-aws-credentials",
      "do not forward this shell's AWS settings (AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_REGION, AWS_ENDPOINT_URL, ...) to the replicas",
    )
    .action(async (target: string | undefined, flags: DeployFlags, command: Command) => {
      if (flags.plan === true) return planDeploy(ctx, target, flags, command);
      const [{ deployProject }, { parseDuration }, ui] = await Promise.all([
        import("../services/deploy.js"),
        import("@axon/config"),
        import("../ui/deploy.js"),
      ]);
      let waitTimeoutMs: number;
      try {
        waitTimeoutMs = parseDuration(flags.waitTimeout);
      } catch (error) {
        // A bad flag value is a usage error (exit 2), like commander's own; parsed here rather
        // than in an argParser so @axon/config loads only when deploy runs.
        command.error(`error: --wait-timeout: ${(error as Error).message}`, {
          exitCode: 2,
          code: "commander.invalidArgument",
        });
      }
      const json = flags.output === "json";
      const wait = flags.wait ?? ctx.interactive;
      const gatewayPort = gatewayPortFromEnv(ctx.env);
      const live =
        ctx.terminal !== undefined && !json
          ? (await import("../ui/live-deploy.js")).startLiveDeploy(ctx.terminal, {
              color: ctx.color,
              now: ctx.now,
              waiting: wait,
            })
          : undefined;
      let recorded = false;
      const { env: environment } = command.optsWithGlobals<{ env?: string }>();
      let summary: DeploySummary;
      try {
        summary = await deployProject(
          // With the live view, what other code writes to stderr (starting the cluster) is
          // shown inside it instead of tearing through its frame.
          live === undefined ? ctx : { ...ctx, stderr: { write: (text) => live.note(text) } },
          {
            target,
            home: resolveHome(ctx, command),
            force: flags.force === true,
            wait,
            waitTimeoutMs,
            forwardAwsCredentials: flags.awsCredentials,
            ...(environment === undefined ? {} : { environment }),
            // A person at a terminal is asked before an API from another folder is replaced;
            // scripts get the control plane's warning instead.
            checkReplacements: ctx.interactive && flags.yes !== true,
            ...(gatewayPort === undefined ? {} : { gatewayPort }),
          },
          async (event) => {
            if (event.type === "packed" && flags.yes !== true)
              await confirmLargeProject(ctx, event.files, event.largeFiles);
            if (event.type === "replacing") await confirmReplacing(ctx, event.apis, event.here);
            if (event.type === "deployed") recorded = true;
            if (live !== undefined) live.update(event);
            else reportPlainProgress(ctx, ui, event, json);
          },
        );
      } catch (error) {
        await live?.stop();
        if (error instanceof InterruptedError || ctx.signal.aborted)
          ctx.stderr.write(interruptedMessage(recorded, target));
        throw error;
      }
      await live?.finish(summary);
      // The whole result first (every API, failed or not), then the exit code says how it went.
      if (json) printJson(ctx.stdout, summary);
      const failed = summary.apis.filter((api) => api.error !== undefined);
      if (failed.length === 0) return;
      // The live view has shown each failure with its log; plain output gets it as the error.
      if (live !== undefined) throw new ShownError(`${failed.length} apis are not live`);
      throw notLiveError(failed, summary.apis.length);
    });
  return withExamples(command, [
    ["axon deploy", "deploy ./axon.yaml and follow the rollout until live"],
    ["axon deploy examples/iris-sklearn", "deploy another project folder"],
    ["axon deploy --no-wait", "return once the deploy is recorded"],
    ["axon deploy -o json", "wait, then print every api's final state as JSON"],
    ["axon deploy --plan", "show what would change, deploy nothing (exit 3 if anything would)"],
  ]);
}

/** `deploy --plan`: prints the plan; exits 0 when nothing would change, 3 (`ChangesPlanned`) else. */
async function planDeploy(
  ctx: CliContext,
  target: string | undefined,
  flags: DeployFlags,
  command: Command,
): Promise<void> {
  const [{ planProjectDeploy }, { renderDeployPlan }, { makePainter }] = await Promise.all([
    import("../services/deploy-plan.js"),
    import("../ui/deploy-plan.js"),
    import("../terminal.js"),
  ]);
  const { env: environment } = command.optsWithGlobals<{ env?: string }>();
  const gatewayPort = gatewayPortFromEnv(ctx.env);
  const plan = await planProjectDeploy(ctx, {
    target,
    home: resolveHome(ctx, command),
    force: flags.force === true,
    forwardAwsCredentials: flags.awsCredentials,
    ...(environment === undefined ? {} : { environment }),
    ...(gatewayPort === undefined ? {} : { gatewayPort }),
  });
  if (flags.output === "json") printJson(ctx.stdout, plan);
  else ctx.stdout.write(`${renderDeployPlan(plan, makePainter(ctx.color))}\n`);
  if (plan.changes) {
    throw new ChangesPlanned(plan.apis.filter((api) => api.outcome !== "unchanged").length);
  }
}

/** What Ctrl-C means at this point: before the control plane recorded the deploy, or after. */
function interruptedMessage(recorded: boolean, target: string | undefined): string {
  if (recorded) {
    return "stopped watching: the deploy was recorded and goes on without this terminal (see `axon get --watch`)\n";
  }
  return `interrupted before the control plane recorded the deploy: it is dropped, nothing changed (run \`axon deploy${target === undefined ? "" : ` ${target}`}\` again)\n`;
}

/** Progress as lines on stderr (results go to stdout), for scripts and `-o json`. */
function reportPlainProgress(
  ctx: CliContext,
  ui: typeof import("../ui/deploy.js"),
  event: DeployProgress,
  json: boolean,
): void {
  switch (event.type) {
    case "validated":
    case "packed":
    case "replacing":
      return;
    case "building":
      // pip's output, as it comes; stderr so `-o json` keeps stdout clean.
      ctx.stderr.write(`${event.message}\n`);
      return;
    case "uploaded":
      ctx.stderr.write(
        event.skipped
          ? `project unchanged (${event.sha256.slice(0, 12)} already on the control plane), not sent again\n`
          : `project uploaded (${formatBytes(event.bytes)})\n`,
      );
      return;
    case "deprecations":
      ctx.stderr.write(`${ui.renderDeprecations(event.warnings)}\n`);
      return;
    case "deployed":
      if (!json) {
        ctx.stdout.write(`${ui.renderDeployResults(event.response)}\n`);
        const hints = ui.renderDeployHints(event.response);
        if (hints !== "") ctx.stdout.write(`\n${hints}\n`);
      }
      return;
    case "event": {
      const api = "api" in event.line.event ? event.line.event.api : "";
      ctx.stderr.write(`${api}: ${event.line.message}\n`);
      return;
    }
    case "status":
      if (event.api.status === "live") {
        if (!json) ctx.stdout.write(`${event.api.name} is live at ${event.api.endpoint}\n`);
      } else if (event.api.status !== "error") {
        ctx.stderr.write(`waiting for ${event.api.name} to be live (${event.api.status})...\n`);
      }
      return;
  }
}

/** One failed API keeps its own message, log and hint; several are listed under one line. */
function notLiveError(failed: WaitedApi[], total: number): UserError {
  const [first] = failed;
  if (failed.length === 1 && first?.error !== undefined) {
    const { logTail, hint } = first.error;
    return new UserError(first.error.message, {
      ...(hint === undefined ? {} : { hint }),
      ...(logTail === undefined
        ? {}
        : { details: `last lines of its log:\n${indent(logTail.join("\n"))}` }),
    });
  }
  return new UserError(`${failed.length} of ${total} apis are not live`, {
    details: failed.map((api) => api.error?.message ?? api.name).join("\n"),
    hint: "see what happened with `axon logs <api>`",
  });
}

/** Asks before replacing APIs last deployed from another project folder. */
async function confirmReplacing(
  ctx: CliContext,
  apis: Array<{ name: string; from: string }>,
  here: string,
): Promise<void> {
  const { confirmOrCancel } = await import("../ui/prompt.js");
  for (const api of apis) {
    await confirmOrCancel(
      ctx,
      `${api.name} was deployed from ${api.from}; replace it with the one in ${here}?`,
      "--yes",
    );
  }
}

async function confirmLargeProject(
  ctx: CliContext,
  fileCount: number,
  largeFiles: { path: string; bytes: number }[],
): Promise<void> {
  const { confirmOrCancel } = await import("../ui/prompt.js");
  for (const file of largeFiles) {
    await confirmOrCancel(
      ctx,
      `do you want to upload ${file.path} (${formatBytes(file.bytes)})?`,
      "--yes",
    );
  }
  if (fileCount >= MANY_FILES) {
    await confirmOrCancel(ctx, `do you want to upload ${fileCount} files?`, "--yes");
  }
}
