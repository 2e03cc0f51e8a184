/**
 * The name of the environment that always exists, this machine's, as the CLI knows it: `--env
 * local` acts on the local engine and needs no look-up. The daemon owns the name (the contract's
 * `LOCAL_ENVIRONMENT`); the CLI takes only its type from `@axon/control-plane/api` (STYLE.md point
 * 2, as `get` does for the not-supported code), so the build fails if the two ever differ, and
 * this module costs no contract load on the start-up path of every command.
 */
import type { LOCAL_ENVIRONMENT as CONTRACT_LOCAL_ENVIRONMENT } from "@axon/control-plane/api";

/** `local`: this machine's environment. */
export const LOCAL_ENVIRONMENT: typeof CONTRACT_LOCAL_ENVIRONMENT = "local";

/** True when `--env` was given and names an environment other than this machine's. */
export function isRemoteEnvironment(env: string | undefined): env is string {
  return env !== undefined && env !== LOCAL_ENVIRONMENT;
}
