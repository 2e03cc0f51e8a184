/**
 * A TrafficSplitter's route in the local gateway: which API each request goes to, by smooth
 * weighted round robin — nginx's algorithm (ngx_http_upstream_round_robin.c,
 * `ngx_http_upstream_get_peer`): every pick adds each backend's weight to its running score,
 * takes the highest score, and takes the total weight off the winner. Over every run of
 * `total` consecutive picks starting at the first, each backend is picked exactly `weight` times,
 * and the picks are interleaved (a 90/10 split sends the 10 spread out, not in a burst): with
 * weights totalling 100, any 100 requests split 90/10 to within one request.
 *
 * The per-backend counts it keeps are what `get` shows: each API's share of the splitter's
 * requests and its error rate (answers ≥ 500, the gateway's own 503s included).
 */
import type { BodyTicket, FrontRequest, Responder } from "../../replica/front-server.js";
import type { RoutableReplica } from "./routable-replica.js";

/** One backend of a splitter, as the gateway needs it. */
export interface SplitBackend {
  /** The API's name. */
  readonly api: string;
  /** Its weight, in [0, 100]; the weights of a splitter total 100. */
  readonly weight: number;
}

/** A backend's traffic since the route was made (or its weights last changed nothing else). */
export interface SplitBackendStats {
  api: string;
  weight: number;
  /** Requests sent to this API through the splitter. */
  requests: number;
  /** Of those, answered with a status ≥ 500. */
  errors: number;
}

interface BackendState extends SplitBackendStats {
  score: number;
}

export class TrafficSplit {
  readonly name: string;
  #backends: BackendState[];
  #total: number;

  constructor(name: string, backends: readonly SplitBackend[]) {
    this.name = name;
    this.#backends = [];
    this.#total = 0;
    this.setWeights(backends);
  }

  /**
   * Changes the weights in place: the counts of APIs that stay are kept (a weight change is a
   * deploy that restarts nothing, and `get` keeps its history), and the round robin starts over.
   */
  setWeights(backends: readonly SplitBackend[]): void {
    const before = new Map(this.#backends.map((backend) => [backend.api, backend]));
    this.#backends = backends.map(({ api, weight }) => ({
      api,
      weight,
      requests: before.get(api)?.requests ?? 0,
      errors: before.get(api)?.errors ?? 0,
      score: 0,
    }));
    this.#total = backends.reduce((sum, backend) => sum + backend.weight, 0);
  }

  /** The API the next request goes to (nginx's smooth weighted round robin); undefined: none. */
  pick(): string | undefined {
    let best: BackendState | undefined;
    for (const backend of this.#backends) {
      if (backend.weight === 0) continue;
      backend.score += backend.weight;
      if (best === undefined || backend.score > best.score) best = backend;
    }
    if (best === undefined) return undefined;
    best.score -= this.#total;
    best.requests += 1;
    return best.api;
  }

  /** Counts the status `api` (or the gateway, for it) answered a request of this splitter with. */
  recordAnswer(api: string, status: number): void {
    const backend = this.#backends.find((candidate) => candidate.api === api);
    if (backend !== undefined && status >= 500) backend.errors += 1;
  }

  /** `replica`, with every answer it gives counted against `api`'s error rate. */
  counting(api: string, replica: RoutableReplica): RoutableReplica {
    const count = (status: number): void => this.recordAnswer(api, status);
    return {
      inFlight: replica.inFlight,
      hasLiveWorker: replica.hasLiveWorker,
      serve: (request: FrontRequest, responder: Responder, requestId: string) =>
        replica.serve(request, countingResponder(responder, count), requestId),
      admitBody: (responder: Responder, requestId: string): BodyTicket | null => {
        const ticket = replica.admitBody(countingResponder(responder, count), requestId);
        if (ticket === null) return null;
        return {
          deliver: (request, res) => ticket.deliver(request, countingResponder(res, count)),
          cancel: () => ticket.cancel(),
        };
      },
    };
  }

  stats(): SplitBackendStats[] {
    return this.#backends.map(({ api, weight, requests, errors }) => ({
      api,
      weight,
      requests,
      errors,
    }));
  }
}

/** `responder`, calling `count` with the status of the one answer it sends. */
function countingResponder(responder: Responder, count: (status: number) => void): Responder {
  return {
    get done() {
      return responder.done;
    },
    send(status, headers, body) {
      if (!responder.done) count(status);
      responder.send(status, headers, body);
    },
  };
}
