/**
 * The one place AWS SDK errors become Axon's `DomainError`s (STYLE §16): by the error's name (AWS's
 * error code), never by string-matching deeper in. Each message says what was refused, where
 * (profile, region) and what to do.
 */
import { DomainError } from "../../errors.js";
import { describeAwsIdentity, type AwsTarget } from "./sdk.js";

/** AWS refused the credentials (expired, unknown or mistyped keys): 401. */
export const AWS_CREDENTIALS_EXPIRED = "provider.aws.credentials_expired";
/** The AWS chain found no credentials: 401. */
export const AWS_CREDENTIALS_MISSING = "provider.aws.credentials_missing";
/** The identity may not make the call: 403. */
export const AWS_ACCESS_DENIED = "provider.aws.access_denied";
/** AWS kept throttling the call after the SDK's retries: 503. */
export const AWS_THROTTLED = "provider.aws.throttled";
/** Any other AWS error, with its name and message: 502. */
export const AWS_FAILED = "provider.aws.failed";

const EXPIRED = new Set([
  "ExpiredToken",
  "ExpiredTokenException",
  "RequestExpired",
  "TokenRefreshRequired",
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
]);
const MISSING = new Set(["CredentialsProviderError", "ProviderError"]);
const DENIED = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "UnauthorizedOperation",
  "AuthorizationError",
  "InsufficientCapabilitiesException",
]);
const THROTTLED = new Set([
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "SlowDown",
]);

/** True for AWS's "slow down" answers, which are worth retrying after a pause. */
export function isThrottlingError(error: unknown): boolean {
  return THROTTLED.has(errorName(error));
}

/**
 * True when CloudFormation says a stack does not exist. CloudFormation has no error code of its
 * own for this (it is a `ValidationError`), so its documented wording is the only signal.
 */
export function isStackMissingError(error: unknown): boolean {
  return (
    errorName(error) === "ValidationError" &&
    error instanceof Error &&
    /does not exist/.test(error.message)
  );
}

/**
 * True when IAM says a service-linked role already exists. IAM answers `InvalidInput` ("Service
 * role name AWSServiceRoleForECS has been taken in this account, please try a different suffix.")
 * and has no code of its own for it
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateServiceLinkedRole.html), so its
 * wording is the only signal.
 */
export function isServiceLinkedRoleTakenError(error: unknown): boolean {
  return (
    errorName(error) === "InvalidInput" &&
    error instanceof Error &&
    /has been taken in this account/.test(error.message)
  );
}

/** True when AWS refused the call for lack of permission. */
export function isAccessDeniedError(error: unknown): boolean {
  return DENIED.has(errorName(error));
}

/** True when CloudFormation says an update would change nothing (a `ValidationError` too). */
export function isNoUpdateError(error: unknown): boolean {
  return (
    errorName(error) === "ValidationError" &&
    error instanceof Error &&
    /No updates are to be performed/.test(error.message)
  );
}

/**
 * Translates an SDK error from `action` (e.g. `cloudformation:CreateStack`) into a DomainError with
 * actionable text. DomainErrors pass through unchanged.
 */
export function translateAwsError(error: unknown, action: string, target: AwsTarget): DomainError {
  if (error instanceof DomainError) return error;
  const name = errorName(error);
  const detail = error instanceof Error ? error.message : String(error);
  const where = `${describeAwsIdentity(target)}, region ${target.region}`;
  if (EXPIRED.has(name)) {
    return new DomainError(
      AWS_CREDENTIALS_EXPIRED,
      `the AWS credentials (${where}) were refused for ${action}: ${detail}`,
      {
        status: 401,
        hint:
          target.keysFromEnvironment === true
            ? "set fresh AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in this shell, then run the command again: axon sends them with each cluster request"
            : `refresh them (aws sso login --profile ${target.profile}), then run the command again: axon sends your shell's AWS settings with each cluster request`,
        cause: error,
      },
    );
  }
  if (MISSING.has(name)) {
    return new DomainError(
      AWS_CREDENTIALS_MISSING,
      `no AWS credentials found for ${action} (${where}): ${detail}`,
      {
        status: 401,
        hint: "configure the standard AWS chain in this shell (AWS_PROFILE with aws configure or aws sso login, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), then run the command again",
        cause: error,
      },
    );
  }
  if (DENIED.has(name)) {
    return new DomainError(AWS_ACCESS_DENIED, `AWS denied ${action} (${where}): ${detail}`, {
      status: 403,
      hint: `allow ${action} for this identity (see docs/aws.md for every permission axon cluster up needs), or use a profile that has it`,
      cause: error,
    });
  }
  if (THROTTLED.has(name)) {
    return new DomainError(
      AWS_THROTTLED,
      `AWS kept throttling ${action} (${where}) after several retries: ${detail}`,
      { status: 503, hint: "wait a minute and run the command again", cause: error },
    );
  }
  return new DomainError(AWS_FAILED, `${action} failed (${where}): ${name}: ${detail}`, {
    status: 502,
    cause: error,
  });
}

function errorName(error: unknown): string {
  if (error instanceof Error) return error.name;
  if (typeof error === "object" && error !== null && "name" in error) return String(error.name);
  return "";
}
