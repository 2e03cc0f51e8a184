/** What route handlers may use: services and state, passed down from the daemon. */
import type { BundleStore } from "../bundles/bundle-store.js";
import type { ApiAutoscaling, ClusterInfo } from "../contract/index.js";
import type { EventBus } from "../events/event-sink.js";
import type { MonitoringLoop } from "../monitoring/monitoring-loop.js";
import type { Provider } from "../providers/provider.js";
import type { SecretStore } from "../state/secrets.js";
import type { StateStore } from "../state/store.js";

export interface RouteContext {
  store: StateStore;
  bundles: BundleStore;
  provider: Provider;
  secrets: SecretStore;
  /** Where routes report, and what the events stream reads. */
  events: EventBus;
  version: string;
  enqueue(apiName: string): void;
  /** Reconciles an API now and resolves when done (delete uses it so the 404 is immediate). */
  reconcileNow(apiName: string): Promise<void>;
  info(): ClusterInfo;
  /** Prediction monitoring (absent when the engine records no predictions). */
  monitoring?: Pick<MonitoringLoop, "summary" | "pinBaseline" | "prometheus">;
  /** The autoscaler's view of an API (absent when the engine scales by itself). */
  autoscaling?: (apiName: string) => ApiAutoscaling | undefined;
  /** Starts a graceful stop of the whole daemon (after the response is sent). */
  requestShutdown(): void;
}
