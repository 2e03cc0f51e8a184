/**
 * Waiting for deployed APIs to settle: poll `GET /v1/apis/:name` until each is `live`, fails
 * (`error`), or the deadline passes.
 */
import type { ApiDetail } from "@axon/control-plane/api";
import type { ApiClient } from "../client/api-client.js";
import { sleep } from "../context.js";
import { UserError } from "../errors.js";

/** How to wait. */
export interface WaitOptions {
  timeoutMs: number;
  signal: AbortSignal;
  pollMs?: number;
  /** Called when an API's status changes (for progress lines). */
  onStatus?: (api: ApiDetail) => void | Promise<void>;
}

/**
 * Resolves with the API once it is live.
 *
 * @throws UserError with the daemon's status message when the API reaches `error`, or when it is
 *   not live within `timeoutMs`.
 */
export async function waitForApiLive(
  client: ApiClient,
  name: string,
  options: WaitOptions,
): Promise<ApiDetail> {
  const deadline = Date.now() + options.timeoutMs;
  let lastStatus: string | undefined;
  for (;;) {
    const api = await client.getApi(name);
    if (api.status !== lastStatus) {
      lastStatus = api.status;
      await options.onStatus?.(api);
    }
    // Live and answering: after a cluster restart a live API's replicas start again first.
    if (api.status === "live" && (api.replicas.upToDate > 0 || api.replicas.requested === 0))
      return api;
    if (api.status === "error") {
      throw new UserError(
        `${name} failed: ${api.statusMessage ?? "its replicas are not healthy"}`,
        {
          hint: `see what happened with \`axon logs ${name}\``,
        },
      );
    }
    if (Date.now() >= deadline) {
      throw new UserError(
        `${name} is not live after ${Math.round(options.timeoutMs / 1000)}s (status: ${api.status})`,
        {
          ...(api.statusMessage === undefined ? {} : { details: api.statusMessage }),
          hint: `it may still come up: check \`axon get ${name}\` and \`axon logs ${name}\``,
        },
      );
    }
    await sleep(options.pollMs ?? 250, options.signal);
  }
}
