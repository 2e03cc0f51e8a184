/** What route handlers may use: services and state, passed down from the daemon. */
import type { ClusterInfo } from "../contract/index.js";
import type { EngineContext } from "../engines/engine-for.js";

/** The API engines' parts (store, provider, event bus, queue, loops) and the daemon's own. */
export interface RouteContext extends EngineContext {
  version: string;
  info(): ClusterInfo;
  /** Starts a graceful stop of the whole daemon (after the response is sent). */
  requestShutdown(): void;
}
