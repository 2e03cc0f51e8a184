/**
 * What the gateway and a TrafficSplitter route a request to: one ready replica front. Its own
 * module so the gateway and the splitter (traffic-split.ts) both import it and neither the other.
 */
import type { BodyTicket, FrontRequest, Responder } from "../../replica/front-server.js";

/** What the gateway needs from a replica. */
export interface RoutableReplica {
  readonly inFlight: number;
  /** False while every worker of the replica is dead (being replaced): skipped when others can serve. */
  readonly hasLiveWorker: boolean;
  serve(request: FrontRequest, responder: Responder, requestId: string): void;
  /**
   * Takes a slot for a request whose body is still arriving and returns the ticket that serves
   * it once the body is in, or answers (503) and returns null.
   */
  admitBody(responder: Responder, requestId: string): BodyTicket | null;
}
