/**
 * `cluster up|info|down` on an AWS environment: the CLI reads and checks `cluster.yaml` for fast
 * feedback, then asks the daemon for everything else (plan with costs, create, describe, delete);
 * it never calls AWS itself. Services return data; the commands render it.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { ConfigError, parseClusterConfig } from "@axon/config";
import type {
  AwsClusterInfo,
  ClusterDownResponse,
  ClusterPlanResponse,
  ClusterUpRequest,
  ClusterUpResponse,
} from "@axon/control-plane/api";
import type { ApiClient, ClusterProgressLine } from "../client/api-client.js";
import { UserError } from "../errors.js";

/** Reads and validates a cluster config; the request the daemon gets. */
export async function readClusterRequest(
  cwd: string,
  configPath: string,
  env: string | undefined,
): Promise<ClusterUpRequest> {
  const file = path.resolve(cwd, configPath);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new UserError(`cannot read the cluster config ${configPath}`, {
      hint: "pass the path of a cluster.yaml with --config (examples/aws/cluster.yaml is one)",
      cause: error,
    });
  }
  const fileName = path.basename(file);
  try {
    parseClusterConfig(text, fileName);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const count = error.diagnostics.length;
    throw new UserError(
      `${fileName} is not a valid cluster configuration (${count} ${count === 1 ? "problem" : "problems"}); nothing was created`,
      { diagnostics: error.diagnostics, hint: "fix the fields listed and run the command again" },
    );
  }
  return { config: text, configFileName: fileName, ...(env === undefined ? {} : { env }) };
}

export interface AwsClusterUpSteps {
  /** The shell's AWS settings, which the daemon uses for its AWS calls. */
  awsSettings: Record<string, string>;
  /** Shown before anything is created; resolves to go ahead, throws to stop. */
  confirm: (plan: ClusterPlanResponse) => Promise<void>;
  onProgress: (line: ClusterProgressLine) => void;
}

/** Plans (costs), confirms, then creates the stack. */
export async function bringUpAwsCluster(
  client: ApiClient,
  request: ClusterUpRequest,
  steps: AwsClusterUpSteps,
): Promise<{ plan: ClusterPlanResponse; result: ClusterUpResponse }> {
  const plan = await client.planCluster(request, steps.awsSettings);
  // Asked every time: an existing stack is updated to the config, which may add billable pieces.
  await steps.confirm(plan);
  const result = await client.clusterUp(request, steps.awsSettings, steps.onProgress);
  return { plan, result };
}

export async function describeAwsCluster(
  client: ApiClient,
  env: string,
  awsSettings: Record<string, string>,
): Promise<AwsClusterInfo> {
  return client.awsClusterInfo(env, awsSettings);
}

export async function tearDownAwsCluster(
  client: ApiClient,
  env: string,
  awsSettings: Record<string, string>,
  onProgress: (line: ClusterProgressLine) => void,
): Promise<ClusterDownResponse> {
  return client.clusterDown(env, awsSettings, onProgress);
}
