/**
 * Which of the deploying shell's environment variables reach an API's replicas on the local
 * provider (unless the user opts out): the standard AWS settings, so a predictor that reads its
 * model with boto3 works as it does in the user's shell. Shared by the CLI (what to send) and the
 * control plane (what to accept).
 */

/** AWS credentials, profile, region, endpoints (also `AWS_ENDPOINT_URL_<SERVICE>`), CA bundle, config/credentials file paths. */
export function isForwardedAwsVariable(name: string): boolean {
  return FORWARDED_AWS_VARIABLES.has(name) || /^AWS_ENDPOINT_URL_[A-Z0-9_]+$/.test(name);
}

/** The forwarded variables present in `env`. */
export function pickForwardedAwsVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value !== "" && isForwardedAwsVariable(name)) picked[name] = value;
  }
  return picked;
}

const FORWARDED_AWS_VARIABLES = new Set([
  "AWS_PROFILE",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_ENDPOINT_URL",
  "AWS_CA_BUNDLE",
  "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
]);
