/**
 * `axon deploy --plan` as a workflow that returns data: validate and pack the project as a deploy
 * does, upload the bundle if the control plane lacks it (content-addressed: it changes nothing
 * deployed), and ask the target environment's engine what the deploy would do. Nothing prints.
 */
import type { DeployPreviewResponse } from "@axon/control-plane/api";
import { connectOrStartDaemon } from "../client/start-daemon.js";
import type { CliContext } from "../context.js";
import { packProject } from "./bundle.js";
import { locateConfig, validateConfig } from "./config.js";

export interface DeployPlanOptions {
  target: string | undefined;
  home: string;
  force: boolean;
  forwardAwsCredentials: boolean;
  environment?: string;
  gatewayPort?: number;
}

/** What `axon deploy` with the same options would do to each API, from the control plane. */
export async function planProjectDeploy(
  ctx: CliContext,
  options: DeployPlanOptions,
): Promise<DeployPreviewResponse> {
  const config = await validateConfig(locateConfig(options.target, ctx.cwd), {
    env: ctx.env,
    skipDirs: [options.home],
  });
  const bundle = await packProject({ dir: config.dir, files: config.files });
  const { connection } = await connectOrStartDaemon(ctx, {
    home: options.home,
    ...(options.gatewayPort === undefined ? {} : { gatewayPort: options.gatewayPort }),
  });
  const { pickForwardedAwsVariables } = await import("@axon/config");
  const client = connection.client.withTarget({
    ...(options.environment === undefined ? {} : { env: options.environment }),
    awsSettings: pickForwardedAwsVariables(ctx.env),
  });
  if (!(await client.hasBundle(bundle.sha256))) await client.putBundle(bundle.sha256, bundle.data);
  return client.planDeploy({
    config: config.text,
    configFileName: config.fileName,
    bundle: bundle.sha256,
    projectPath: config.dir,
    force: options.force,
    credentials: options.forwardAwsCredentials ? pickForwardedAwsVariables(ctx.env) : {},
  });
}
