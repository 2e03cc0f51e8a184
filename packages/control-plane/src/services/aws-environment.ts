/**
 * What the two AWS services (`aws-cluster.ts`: the cluster's stack; `aws-apis.ts`: the APIs on it)
 * share about an AWS environment: the SDK ports for its region, and which states of its stack
 * each may act on. The two state sets differ on purpose and live side by side so they are read
 * together (stack states:
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-describing-stacks.html).
 */
import type { AwsPorts, AwsSettings } from "../providers/aws/sdk.js";

/**
 * States a stack rests in with every resource in place: `cluster up` may update it from these
 * (CloudFormation refuses an update while an operation is in progress).
 */
export const STACK_SETTLED: ReadonlySet<string> = new Set([
  "CREATE_COMPLETE",
  "UPDATE_COMPLETE",
  "UPDATE_ROLLBACK_COMPLETE",
]);

/**
 * States whose outputs an API may be deployed against: settled, or an update under way (its
 * outputs stay as they were until it completes, and an update of the cluster must not block
 * deploys of its APIs).
 */
export const STACK_OUTPUTS_USABLE: ReadonlySet<string> = new Set([
  ...STACK_SETTLED,
  "UPDATE_IN_PROGRESS",
  "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
]);

/** How an AWS service reaches a region: injected ports (tests), else the real SDK. */
export interface AwsConnectDeps {
  /** The calling shell's AWS settings (`AWS_SETTINGS_HEADER`); empty: the daemon's own chain. */
  awsSettings?: AwsSettings;
  /** The AWS ports for a region; default: the real SDK (`connectAws`). */
  connect?: (region: string) => Promise<AwsPorts>;
}

/** The AWS ports for `region`, with the calling shell's settings. */
export async function connectAwsRegion(deps: AwsConnectDeps, region: string): Promise<AwsPorts> {
  if (deps.connect !== undefined) return deps.connect(region);
  const { connectAws } = await import("../providers/aws/sdk.js");
  return connectAws(region, deps.awsSettings ?? {});
}
