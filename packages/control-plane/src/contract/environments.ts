/** Environments: where commands act (`local`, or an AWS cluster), and the headers that name one. */

/** Request header naming the environment a command targets (`axon --env NAME`). */
export const ENV_HEADER = "axon-env";

/**
 * Request header of the cluster routes: the calling shell's AWS settings (the variables
 * `isForwardedAwsVariable` in `@axon/config` names), as base64 of a JSON object. The daemon calls
 * AWS with them (credentials, profile, region, endpoints), so a refreshed login in the shell is
 * used at once; without it, the daemon's own AWS chain applies. Never stored.
 */
export const AWS_SETTINGS_HEADER = "axon-aws-settings";

/** The environment that always exists: this machine. */
export const LOCAL_ENVIRONMENT = "local";

export type EnvironmentProvider = "local" | "aws";

/** One environment: `local`, or an AWS cluster (a CloudFormation stack in a region). */
export interface EnvironmentInfo {
  name: string;
  provider: EnvironmentProvider;
  isDefault: boolean;
  region?: string;
  stackName?: string;
  clusterName?: string;
  /** The cluster config the environment was created from, when `cluster up` made it. */
  configFile?: string;
  createdAt?: string;
}

export interface EnvironmentListResponse {
  environments: EnvironmentInfo[];
  defaultEnvironment: string;
}

export interface AddEnvironmentRequest {
  name: string;
  provider: EnvironmentProvider;
  region?: string;
  /** Default `axon-<name>`. */
  stackName?: string;
}

export interface UseEnvironmentRequest {
  name: string;
}

export interface RemoveEnvironmentResponse {
  message: string;
}
