/**
 * `axon deploy` as a workflow that returns data: locate and validate the config locally, pack the
 * project, make sure a daemon runs, upload the bundle only if the daemon lacks it, deploy, and
 * optionally wait for the APIs to go live. Progress goes to an injected callback; nothing prints.
 */
import type { ApiDetail, Diagnostic, DeployResponse } from "@axon/control-plane/api";
import { connectOrStartDaemon } from "../client/start-daemon.js";
import type { CliContext } from "../context.js";
import { packProject, type BundleFile } from "./bundle.js";
import { assertDeployableRoot, locateConfig, validateConfig } from "./config.js";
import { waitForApiLive } from "./wait.js";

/** What `axon deploy` was asked to do, free of flags. */
export interface DeployOptions {
  /** `[config-or-dir]`; the working directory when undefined. */
  target: string | undefined;
  home: string;
  force: boolean;
  /** Wait for created/updated APIs to go live (or fail). */
  wait: boolean;
  waitTimeoutMs: number;
  gatewayPort?: number;
  python?: string;
  /** Forward the shell's AWS settings to the replicas (local provider only). */
  forwardAwsCredentials: boolean;
}

/** Files at least this big are listed in the `packed` event, so the command can ask about them. */
export const LARGE_FILE_BYTES = 10 * 1024 * 1024;

/** Progress worth telling a person about, in the order it happens. */
export type DeployProgress =
  | { type: "deprecations"; warnings: Diagnostic[] }
  | {
      type: "packed";
      files: number;
      largeFiles: BundleFile[];
      contentBytes: number;
      archiveBytes: number;
      sha256: string;
    }
  | { type: "uploaded"; bytes: number }
  /** A line of environment-build progress (dependencies.sh, pip). */
  | { type: "building"; message: string }
  | { type: "deployed"; response: DeployResponse }
  | { type: "status"; api: ApiDetail };

/** The outcome of a deploy. */
export interface DeploySummary extends DeployResponse {
  configFile: string;
  bundle: { sha256: string; bytes: number; uploaded: boolean };
  /** The state of each API after waiting; empty without wait. */
  apis: ApiDetail[];
}

/** Runs the whole deploy. */
export async function deployProject(
  ctx: CliContext,
  options: DeployOptions,
  /** Awaited, so a handler may stop the deploy (e.g. a declined confirmation) by throwing. */
  onProgress: (event: DeployProgress) => void | Promise<void>,
): Promise<DeploySummary> {
  const config = await validateConfig(locateConfig(options.target, ctx.cwd));
  assertDeployableRoot(config.dir, ctx.env);

  const bundle = await packProject({
    dir: config.dir,
    exclude: [config.fileName],
    skipDirs: [options.home],
  });
  await onProgress({
    type: "packed",
    files: bundle.files.length,
    largeFiles: bundle.files.filter((file) => file.bytes >= LARGE_FILE_BYTES),
    contentBytes: bundle.contentBytes,
    archiveBytes: bundle.data.length,
    sha256: bundle.sha256,
  });

  const { connection } = await connectOrStartDaemon(ctx, {
    home: options.home,
    ...(options.gatewayPort === undefined ? {} : { gatewayPort: options.gatewayPort }),
    ...(options.python === undefined ? {} : { python: options.python }),
  });
  const { client } = connection;

  const uploaded = !(await client.hasBundle(bundle.sha256));
  if (uploaded) {
    await client.putBundle(bundle.sha256, bundle.data);
    await onProgress({ type: "uploaded", bytes: bundle.data.length });
  }

  const { pickForwardedAwsVariables } = await import("@axon/spec");
  const response = await client.deploy(
    {
      config: config.text,
      configFileName: config.fileName,
      bundle: bundle.sha256,
      projectPath: config.dir,
      force: options.force,
      credentials: options.forwardAwsCredentials ? pickForwardedAwsVariables(ctx.env) : {},
    },
    (message) => onProgress({ type: "building", message }),
  );
  if (response.warnings.length > 0)
    await onProgress({ type: "deprecations", warnings: response.warnings });
  await onProgress({ type: "deployed", response });

  const apis: ApiDetail[] = [];
  if (options.wait) {
    // Unchanged APIs too: after a cluster restart their replicas are starting again, and --wait
    // promises an API that answers (a live one returns at the first look).
    for (const result of response.results) {
      apis.push(
        await waitForApiLive(client, result.api, {
          timeoutMs: options.waitTimeoutMs,
          signal: ctx.signal,
          onStatus: (api) => onProgress({ type: "status", api }),
        }),
      );
    }
  }

  return {
    ...response,
    configFile: config.file,
    bundle: { sha256: bundle.sha256, bytes: bundle.data.length, uploaded },
    apis,
  };
}
