/**
 * The local gateway: one HTTP server (default localhost:8888) that routes each API's
 * `networking.endpoint` to a ready replica of that API, picked by least in-flight. Replica fronts
 * live in this process, so a request is parsed once and framed straight to a Python worker.
 *
 * Admission comes before the body: a request whose body did not arrive with its head is routed
 * from the head, and its body is read only if a replica takes it (one of its
 * `max_replica_concurrency` slots, held while the body arrives) and the server has room for it
 * (`maxBufferedBytes`, `AXON_GATEWAY_MAX_BUFFERED_BYTES`). Everything else is answered from the
 * head, so what clients send cannot grow the daemon's memory past that bound.
 */
import { randomBytes } from "node:crypto";
import { DomainError } from "../../errors.js";
import {
  ApiKeyGuard,
  type ApiKeyRecord,
  type ApiKeyUsage,
  RefreshingKeySource,
} from "../../replica/api-keys.js";
import {
  type BodyTicket,
  type FrontRequest,
  type FrontRequestHead,
  FrontServer,
  type Responder,
  writeJsonError,
} from "../../replica/front-server.js";
import { limitYoungGenerationGrowth } from "../../replica/heap-tuning.js";
import { RequestRecorder, type RequestStats } from "../../replica/metrics.js";
import { rawHeader } from "../../replica/raw-header.js";
import type { GatewayTls } from "./gateway-tls.js";
import type { RoutableReplica } from "./routable-replica.js";
import { TrafficSplit, type SplitBackend, type SplitBackendStats } from "./traffic-split.js";

/** What the gateway calls for a request to a batch API's endpoint (batch/batch-data-plane.ts) (`subpath`: what follows the endpoint, without `/`). */
export type BatchRouteHandler = (
  request: FrontRequest,
  subpath: string,
  responder: Responder,
  requestId: string,
) => void;

export type { RoutableReplica } from "./routable-replica.js";

export interface GatewayOptions {
  /**
   * Bytes of request bodies the gateway holds at once, over every API (see FrontServer's
   * `maxBufferedBytes`). Default: `$AXON_GATEWAY_MAX_BUFFERED_BYTES`, else 64 MiB (decision 0006).
   */
  maxBufferedBytes?: number;
  /**
   * Serve HTTPS with this certificate (`--tls-cert/--tls-key`, gateway-tls.ts); each certificate
   * it reloads serves the connections made after. Absent: plain HTTP, exactly as before.
   */
  tls?: GatewayTls;
}

export interface GatewayBackend {
  /** Ready replicas of an API, in any order. */
  readyReplicas(apiName: string): RoutableReplica[];
  /** A short reason why an API has no ready replica (shown in the 503). */
  whyNotReady(apiName: string): string;
  /**
   * Asked only when an API has no ready replica: whether its requests are held while one starts
   * (an API that may idle at zero, woken by this call), and for how long; a `FailedColdStart`
   * when its start from zero failed (refuse at once, saying why); undefined: refuse (503).
   */
  coldStart?(apiName: string): ColdStart | FailedColdStart | undefined;
}

/** How the gateway holds the requests of an API that is starting from zero. */
export interface ColdStart {
  /** A held request is answered 503 after this long (the API's `predictor.timeout`). */
  timeoutMs: number;
  /** At most this many requests are held at once; the next is answered 503 at once. */
  holdLimit: number;
  /** How long the API's last replica took to start (ms): the 503's Retry-After. */
  lastStartMs: number | undefined;
}

/**
 * An API woken from zero whose replica failed to start (the predictor raised in `__init__`, was
 * killed for memory …): holding its requests until `predictor.timeout` would only make callers
 * wait for the same failure, so each is answered 503 at once with the reason.
 */
export interface FailedColdStart {
  /** The failure as the API's status tells it (`worker 0 … exited with code 1: …`). */
  failed: string;
  /** Until the next start could be ready (the crash backoff left plus a start): Retry-After. */
  retryAfterMs: number;
}

/** One request held for an API starting from zero. */
interface HeldRequest {
  request: FrontRequest;
  responder: Responder;
  requestId: string;
  timer: NodeJS.Timeout;
}

/** How the gateway reads an API's keys and where it logs refused requests. */
export interface GatewayKeySource {
  load: () => Promise<readonly ApiKeyRecord[]>;
  log: (line: string) => void;
  /** Re-read interval (default 30 s, KEY_REFRESH_MS). */
  intervalMs?: number;
  onError?: (error: unknown) => void;
}

/** An API's keys as one front saw them (`/metrics`, `get`). */
export interface GatewayKeyUsage {
  keys: ApiKeyUsage[];
  /** Requests refused for a missing or unknown key. */
  unauthorized: number;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;
const MAX_BUFFERED_BYTES_VARIABLE = "AXON_GATEWAY_MAX_BUFFERED_BYTES";

/** The gateway's port is taken by another process (400). */
export const GATEWAY_PORT_IN_USE = "gateway.port_in_use";

/** A gateway setting from the environment is not a value it can use (400). */
export const GATEWAY_INVALID_SETTING = "gateway.invalid_setting";

export class Gateway {
  readonly #routes = new Map<string, string>();
  /**
   * TrafficSplitters by endpoint, apart from the APIs' routes: the gateway looks here only when
   * no API serves the path, so an ordinary API's request does nothing it did not do before.
   */
  readonly #splitRoutes = new Map<string, TrafficSplit>();
  readonly #splitEndpoints = new Map<string, string>();
  /**
   * BatchAPIs by endpoint (issue 32): Cortex's job endpoints (`POST <endpoint>`, `GET|DELETE
   * <endpoint>/<job_id>`), looked up only when no API or splitter serves the path.
   */
  readonly #batchRoutes = new Map<string, BatchRouteHandler>();
  readonly #batchEndpoints = new Map<string, string>();
  /** Requests held per API while it starts from zero (scale to zero); empty for every other API. */
  readonly #held = new Map<string, HeldRequest[]>();
  readonly #refusals = new Map<string, RequestRecorder>();
  readonly #endpoints = new Map<string, string>();
  /** The key guard of each API with `networking.auth: api_key`; APIs without auth have none. */
  readonly #guards = new Map<string, ApiKeyGuard>();
  readonly #keySources = new Map<string, RefreshingKeySource>();
  readonly #backend: GatewayBackend;
  readonly #server: FrontServer;
  /**
   * Request ids the gateway makes up are this random prefix plus a counter: unique per daemon
   * run and cheap, where a UUID per request showed up in the hot path's profile.
   */
  readonly #idPrefix = randomBytes(6).toString("hex");
  #idCounter = 0;

  constructor(backend: GatewayBackend, options: GatewayOptions = {}) {
    const maxBufferedBytes = options.maxBufferedBytes ?? maxBufferedBytesFromEnv(process.env);
    // Replica fronts live in this process: keep GC pauses out of their tail latency.
    limitYoungGenerationGrowth();
    this.#backend = backend;
    this.#server = new FrontServer({
      handler: (request, responder) => this.#handle(request, responder),
      admitBody: (head, responder) => this.#admitBody(head, responder),
      ...(maxBufferedBytes === undefined ? {} : { maxBufferedBytes }),
      ...(options.tls === undefined
        ? {}
        : { tls: { cert: options.tls.current.cert, key: options.tls.current.key } }),
      onRefused: (url, status) => {
        const apiName = this.#routes.get(routePath(url));
        if (apiName !== undefined) this.#refused(apiName).record(status, 0);
      },
    });
    const server = this.#server;
    options.tls?.onChange(({ cert, key }) => server.setSecureContext({ cert, key }));
  }

  /** Bytes of request bodies held now, over every API (admitted and not yet answered). */
  get bufferedBytes(): number {
    return this.#server.bufferedBytes;
  }

  /** The most bytes of request bodies held at once since the gateway started. */
  get peakBufferedBytes(): number {
    return this.#server.peakBufferedBytes;
  }

  /** The bound on `bufferedBytes`. */
  get maxBufferedBytes(): number {
    return this.#server.maxBufferedBytes;
  }

  setRoute(apiName: string, endpoint: string): void {
    const previous = this.#endpoints.get(apiName);
    if (previous === endpoint) return;
    if (previous !== undefined) this.#routes.delete(previous);
    this.#routes.set(endpoint, apiName);
    this.#endpoints.set(apiName, endpoint);
  }

  removeRoute(apiName: string): void {
    const previous = this.#endpoints.get(apiName);
    if (previous !== undefined) this.#routes.delete(previous);
    this.#endpoints.delete(apiName);
    this.#dropKeySource(apiName);
  }

  /**
   * Requires keys for an API (`source`: where its key set is read, every 30 s and on
   * `reloadKeys`), or stops requiring them (undefined). Resolves once the first read is in, so a
   * route that needs keys never serves a request before it knows them.
   */
  async setKeySource(apiName: string, source: GatewayKeySource | undefined): Promise<void> {
    if (source === undefined) {
      this.#dropKeySource(apiName);
      return;
    }
    if (this.#keySources.has(apiName)) return;
    let refreshing: RefreshingKeySource | undefined;
    const guard = new ApiKeyGuard({
      apiName,
      log: source.log,
      onUnknownKey: () => void refreshing?.refresh(),
    });
    refreshing = new RefreshingKeySource({
      guard,
      load: source.load,
      ...(source.intervalMs === undefined ? {} : { intervalMs: source.intervalMs }),
      ...(source.onError === undefined ? {} : { onError: source.onError }),
    });
    this.#keySources.set(apiName, refreshing);
    // Set before the first read: until it is in, every request is refused (never admitted).
    this.#guards.set(apiName, guard);
    await refreshing.start();
  }

  #dropKeySource(apiName: string): void {
    this.#keySources.get(apiName)?.stop();
    this.#keySources.delete(apiName);
    this.#guards.delete(apiName);
  }

  /** Re-reads an API's keys now (one was made or revoked here); resolves when read. */
  async reloadKeys(apiName: string): Promise<void> {
    await this.#keySources.get(apiName)?.refresh();
  }

  /** The API's key counters, when it requires keys. */
  keyUsage(apiName: string): GatewayKeyUsage | undefined {
    const guard = this.#guards.get(apiName);
    return guard === undefined
      ? undefined
      : { keys: guard.usage(), unauthorized: guard.unauthorized };
  }

  /**
   * Serves a TrafficSplitter at `endpoint`, sharing its requests between `backends` by weight. A
   * splitter already routed keeps its counts: changing weights restarts nothing.
   */
  setSplitRoute(name: string, endpoint: string, backends: readonly SplitBackend[]): void {
    const previous = this.#splitEndpoints.get(name);
    const split = previous === undefined ? undefined : this.#splitRoutes.get(previous);
    if (previous !== undefined && previous !== endpoint) this.#splitRoutes.delete(previous);
    if (split === undefined) {
      this.#splitRoutes.set(endpoint, new TrafficSplit(name, backends));
    } else {
      split.setWeights(backends);
      this.#splitRoutes.set(endpoint, split);
    }
    this.#splitEndpoints.set(name, endpoint);
  }

  removeSplitRoute(name: string): void {
    const endpoint = this.#splitEndpoints.get(name);
    if (endpoint !== undefined) this.#splitRoutes.delete(endpoint);
    this.#splitEndpoints.delete(name);
  }

  /** A splitter's traffic per API since the gateway started; undefined when it is not routed. */
  splitStats(name: string): SplitBackendStats[] | undefined {
    const endpoint = this.#splitEndpoints.get(name);
    return endpoint === undefined ? undefined : this.#splitRoutes.get(endpoint)?.stats();
  }

  /** Listens on host:port; a port in use becomes a DomainError that says what to do. */
  /** Serves batch API `name`'s job endpoints at `endpoint` through `handler`. */
  setBatchRoute(name: string, endpoint: string, handler: BatchRouteHandler): void {
    const previous = this.#batchEndpoints.get(name);
    if (previous !== undefined) this.#batchRoutes.delete(previous);
    this.#batchRoutes.set(endpoint, handler);
    this.#batchEndpoints.set(name, endpoint);
  }

  removeBatchRoute(name: string): void {
    const endpoint = this.#batchEndpoints.get(name);
    if (endpoint !== undefined) this.#batchRoutes.delete(endpoint);
    this.#batchEndpoints.delete(name);
  }

  listen(port: number, host: string): Promise<number> {
    return this.#server.listen(port, host).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "EADDRINUSE") throw error;
      throw new DomainError(GATEWAY_PORT_IN_USE, `port ${port} on ${host} is already in use`, {
        hint: "stop whatever listens there, or pick another port with --gateway-port / AXON_GATEWAY_PORT",
      });
    });
  }

  /** Requests the gateway answered itself for an API (503: no ready replica; 405; 413), by API. */
  refusedStats(apiName: string): RequestStats | undefined {
    return this.#refusals.get(apiName)?.stats();
  }

  refusedApiNames(): string[] {
    return [...this.#refusals.keys()];
  }

  /** Drops an API's gateway counters (the API was deleted). */
  forgetStats(apiName: string): void {
    this.#refusals.delete(apiName);
  }

  #refused(apiName: string): RequestRecorder {
    let recorder = this.#refusals.get(apiName);
    if (recorder === undefined) {
      recorder = new RequestRecorder();
      this.#refusals.set(apiName, recorder);
    }
    return recorder;
  }

  close(): Promise<void> {
    for (const name of this.#held.keys()) this.#refuseHeld(name, "the gateway is stopping", 1);
    for (const source of this.#keySources.values()) source.stop();
    return this.#server.close();
  }

  /** Requests held now for an API starting from zero. */
  heldCount(apiName: string): number {
    return this.#held.get(apiName)?.length ?? 0;
  }

  /**
   * Serves the requests held for `apiName` now that it has a ready replica (the provider calls
   * this when a replica becomes ready); does nothing when none is held.
   */
  releaseHeld(apiName: string): void {
    const held = this.#held.get(apiName);
    if (held === undefined) return;
    this.#held.delete(apiName);
    for (const entry of held) {
      clearTimeout(entry.timer);
      if (entry.responder.done) continue;
      const replica = leastInFlight(this.#backend.readyReplicas(apiName));
      if (replica === undefined) {
        this.#refused(apiName).record(503, 0);
        const why = this.#backend.whyNotReady(apiName);
        writeJsonError(
          entry.responder,
          503,
          entry.requestId,
          `api ${apiName} has no ready replica (${why})`,
          ["retry-after", "1"],
        );
      } else replica.serve(entry.request, entry.responder, entry.requestId);
    }
  }

  /**
   * Answers every request held for `apiName` with a 503 naming why its start from zero failed
   * (the provider calls this when the replica those requests woke fails).
   */
  failHeld(apiName: string, failure: FailedColdStart): void {
    this.#refuseHeld(apiName, failedToStart(failure), retryAfterSeconds(failure.retryAfterMs));
  }

  /** Answers every request held for `apiName` with a 503 (it did not start in time, or stops). */
  #refuseHeld(apiName: string, why: string, retryAfterSeconds: number): void {
    const held = this.#held.get(apiName);
    if (held === undefined) return;
    this.#held.delete(apiName);
    for (const entry of held) {
      clearTimeout(entry.timer);
      this.#refused(apiName).record(503, 0);
      writeJsonError(entry.responder, 503, entry.requestId, `api ${apiName} ${why}`, [
        "retry-after",
        String(retryAfterSeconds),
      ]);
    }
  }

  /**
   * A stand-in replica for an API starting from zero: it holds each request (its body read first)
   * until `releaseHeld`, its timeout, or a full queue, whose 503 says when to retry: the time the
   * API's last replica took to start, measured, not a constant.
   */
  #holder(apiName: string, cold: ColdStart): RoutableReplica {
    const retryAfter = retryAfterSeconds(cold.lastStartMs ?? 1000);
    const full = (responder: Responder, requestId: string): boolean => {
      if ((this.#held.get(apiName)?.length ?? 0) < cold.holdLimit) return false;
      this.#refused(apiName).record(503, 0);
      writeJsonError(
        responder,
        503,
        requestId,
        `api ${apiName} is starting from zero and already holds ${cold.holdLimit} requests; retry in ${retryAfter}s`,
        ["retry-after", String(retryAfter)],
      );
      return true;
    };
    const hold = (request: FrontRequest, responder: Responder, requestId: string): void => {
      if (full(responder, requestId)) return;
      const timer = setTimeout(() => {
        const held = this.#held.get(apiName) ?? [];
        const index = held.findIndex((entry) => entry.timer === timer);
        if (index === -1) return;
        held.splice(index, 1);
        if (held.length === 0) this.#held.delete(apiName);
        this.#refused(apiName).record(503, 0);
        const seconds = Math.round(cold.timeoutMs / 1000);
        writeJsonError(
          responder,
          503,
          requestId,
          `api ${apiName} did not start within its predictor.timeout (${seconds}s); retry in ${retryAfter}s`,
          ["retry-after", String(retryAfter)],
        );
      }, cold.timeoutMs);
      let held = this.#held.get(apiName);
      if (held === undefined) {
        held = [];
        this.#held.set(apiName, held);
      }
      held.push({ request, responder, requestId, timer });
    };
    return {
      inFlight: 0,
      hasLiveWorker: true,
      serve: hold,
      admitBody: (responder, requestId) =>
        full(responder, requestId)
          ? null
          : { deliver: (request, res) => hold(request, res, requestId), cancel: () => {} },
    };
  }

  #handle(request: FrontRequest, responder: Responder): void {
    const requestId = this.#requestId(request.rawHeaders);
    const replica = this.#route(
      request.method,
      request.url,
      request.rawHeaders,
      responder,
      requestId,
    );
    if (replica !== undefined) replica.serve(request, responder, requestId);
  }

  /** A body still to arrive: routed from the head, read only once a replica took the request. */
  #admitBody(head: FrontRequestHead, responder: Responder): BodyTicket | null {
    const requestId = this.#requestId(head.rawHeaders);
    const replica = this.#route(head.method, head.url, head.rawHeaders, responder, requestId);
    return replica === undefined ? null : replica.admitBody(responder, requestId);
  }

  /** The batch route serving `pathname` (its endpoint, or a job under it), as a routable target. */
  #batchRouteFor(pathname: string): RoutableReplica | undefined {
    if (this.#batchRoutes.size === 0) return undefined;
    let handler = this.#batchRoutes.get(pathname);
    let subpath = "";
    if (handler === undefined) {
      const slash = pathname.lastIndexOf("/");
      if (slash <= 0) return undefined;
      handler = this.#batchRoutes.get(pathname.slice(0, slash));
      subpath = pathname.slice(slash + 1);
    }
    if (handler === undefined) return undefined;
    const serve = handler;
    return {
      inFlight: 0,
      hasLiveWorker: true,
      serve: (request, responder, requestId) => serve(request, subpath, responder, requestId),
      admitBody: (_responder, requestId) => ({
        deliver: (request, responder) => serve(request, subpath, responder, requestId),
        cancel: () => {},
      }),
    };
  }

  #requestId(rawHeaders: readonly string[]): string {
    const given = rawHeader(rawHeaders, "x-request-id");
    return given !== undefined && REQUEST_ID.test(given)
      ? given
      : `${this.#idPrefix}-${(++this.#idCounter).toString(36)}`;
  }

  /**
   * The replica a POST goes to; every other request (an unknown endpoint, another method, an
   * API with no ready replica) is answered here, from its head, and gets undefined.
   */
  #route(
    method: string,
    url: string,
    rawHeaders: readonly string[],
    responder: Responder,
    requestId: string,
  ): RoutableReplica | undefined {
    const pathname = routePath(url);
    const apiName = this.#routes.get(pathname);
    if (apiName === undefined) {
      const split = this.#splitRoutes.get(pathname);
      if (split !== undefined) {
        return this.#routeSplit(split, method, rawHeaders, responder, requestId);
      }
      const batch = this.#batchRouteFor(pathname);
      if (batch !== undefined) return batch;
      writeJsonError(responder, 404, requestId, `no api is deployed at ${pathname}`);
      return undefined;
    }
    // The one branch an API without keys pays while no API on the gateway uses them.
    if (this.#guards.size !== 0) {
      const guard = this.#guards.get(apiName);
      if (guard !== undefined && guard.admit(rawHeaders, responder, requestId) === undefined) {
        // A 401 or 429: the gateway's counters keep status classes only, both are 4XX.
        this.#refused(apiName).record(401, 0);
        return undefined;
      }
    }
    // HEAD is GET without the body (RFC 9110 §9.3.2): node:http, which serves every HEAD (the
    // fast path never parses one), drops the body and keeps its content-length.
    if (method === "GET" || method === "HEAD") {
      responder.send(
        200,
        ["content-type", "application/json", "x-request-id", requestId],
        JSON.stringify({
          message:
            "make a prediction by sending a POST request to this endpoint with a JSON payload",
        }),
      );
      return undefined;
    }
    if (method !== "POST") {
      this.#refused(apiName).record(405, 0); // a client using the API wrongly: worth seeing
      const message = `method ${method} is not allowed; use POST`;
      writeJsonError(responder, 405, requestId, message, ["allow", "GET, HEAD, POST"]);
      return undefined;
    }
    const replica = leastInFlight(this.#backend.readyReplicas(apiName));
    if (replica === undefined) {
      // Scale to zero: the request waits for the replica its arrival starts.
      const cold = this.#backend.coldStart?.(apiName);
      if (cold !== undefined && "failed" in cold) {
        this.#refuseFailedStart(apiName, cold, responder, requestId);
        return undefined;
      }
      if (cold !== undefined) return this.#holder(apiName, cold);
      // Counted for the API like a replica's own 503s: callers saw the API refuse them.
      this.#refused(apiName).record(503, 0);
      const why = this.#backend.whyNotReady(apiName);
      writeJsonError(responder, 503, requestId, `api ${apiName} has no ready replica (${why})`, [
        "retry-after",
        "1",
      ]);
      return undefined;
    }
    return replica;
  }

  /** A request for an API whose start from zero failed: 503 now, with the reason. */
  #refuseFailedStart(
    apiName: string,
    failure: FailedColdStart,
    responder: Responder,
    requestId: string,
  ): void {
    this.#refused(apiName).record(503, 0);
    writeJsonError(responder, 503, requestId, `api ${apiName} ${failedToStart(failure)}`, [
      "retry-after",
      String(retryAfterSeconds(failure.retryAfterMs)),
    ]);
  }

  #routeSplit(
    split: TrafficSplit,
    method: string,
    rawHeaders: readonly string[],
    responder: Responder,
    requestId: string,
  ): RoutableReplica | undefined {
    const hold = (apiName: string): RoutableReplica | null | undefined => {
      const cold = this.#backend.coldStart?.(apiName);
      if (cold === undefined) return undefined;
      if ("failed" in cold) {
        this.#refuseFailedStart(apiName, cold, responder, requestId);
        split.recordAnswer(apiName, 503);
        return null;
      }
      return this.#holder(apiName, cold);
    };
    // The API the splitter picked keeps its own keys: a splitter is no way around them.
    const admit = (apiName: string): boolean => {
      const guard = this.#guards.get(apiName);
      if (guard === undefined || guard.admit(rawHeaders, responder, requestId) !== undefined) {
        return true;
      }
      this.#refused(apiName).record(401, 0);
      return false;
    };
    return routeSplitRequest(this.#backend, hold, admit, split, method, responder, requestId);
  }
}

/**
 * A TrafficSplitter's request: GET/HEAD and other methods are answered as an API's are; a
 * POST goes to the API the round robin picks, to its least busy ready replica, counted.
 */
function routeSplitRequest(
  gateway: { readyReplicas(api: string): RoutableReplica[]; whyNotReady(api: string): string },
  /**
   * A stand-in that holds the request while an API at zero starts; undefined: refuse; null:
   * already refused (its start from zero failed).
   */
  hold: (api: string) => RoutableReplica | null | undefined,
  /** False when the picked API requires keys and the request's was refused (already answered). */
  admit: (api: string) => boolean,
  split: TrafficSplit,
  method: string,
  responder: Responder,
  requestId: string,
): RoutableReplica | undefined {
  if (method === "GET" || method === "HEAD") {
    responder.send(
      200,
      ["content-type", "application/json", "x-request-id", requestId],
      JSON.stringify({
        message: `make a prediction by sending a POST request to this endpoint with a JSON payload (traffic splitter ${split.name})`,
      }),
    );
    return undefined;
  }
  if (method !== "POST") {
    const message = `method ${method} is not allowed; use POST`;
    writeJsonError(responder, 405, requestId, message, ["allow", "GET, HEAD, POST"]);
    return undefined;
  }
  const apiName = split.pick();
  if (apiName === undefined) {
    writeJsonError(responder, 503, requestId, `traffic splitter ${split.name} has no api`);
    return undefined;
  }
  if (!admit(apiName)) {
    split.recordAnswer(apiName, 401);
    return undefined;
  }
  const replica = leastInFlight(gateway.readyReplicas(apiName)) ?? hold(apiName);
  if (replica === null) return undefined;
  if (replica === undefined) {
    split.recordAnswer(apiName, 503);
    const why = gateway.whyNotReady(apiName);
    const message = `api ${apiName} (picked by traffic splitter ${split.name}) has no ready replica (${why})`;
    writeJsonError(responder, 503, requestId, message, ["retry-after", "1"]);
    return undefined;
  }
  return split.counting(apiName, replica);
}

/** `failed to start from zero (…); retry in 4s`: the 503 of a failed start from zero. */
function failedToStart(failure: FailedColdStart): string {
  return `failed to start from zero (${failure.failed}); retry in ${retryAfterSeconds(failure.retryAfterMs)}s`;
}

/** A Retry-After in whole seconds, rounded up, at least 1. */
function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** `AXON_GATEWAY_MAX_BUFFERED_BYTES` as a byte count; undefined when unset. */
export function maxBufferedBytesFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const value = env[MAX_BUFFERED_BYTES_VARIABLE];
  if (value === undefined || value === "") return undefined;
  if (!/^\d{1,15}$/.test(value)) {
    throw new DomainError(
      GATEWAY_INVALID_SETTING,
      `${MAX_BUFFERED_BYTES_VARIABLE} must be a number of bytes, got ${JSON.stringify(value)}`,
      {
        hint: `unset it for the default (67108864, 64 MiB), or set e.g. ${MAX_BUFFERED_BYTES_VARIABLE}=268435456`,
      },
    );
  }
  return Number(value);
}

/** The path a request is routed by: its target without the query and a trailing slash. */
function routePath(url: string): string {
  const queryAt = url.indexOf("?");
  const pathname = queryAt === -1 ? url : url.slice(0, queryAt);
  return pathname.length > 1 && pathname.endsWith("/") ? pathname.slice(0, -1) : pathname;
}

/**
 * The replica with the fewest requests in flight among those with a live worker; a replica whose
 * workers are all being replaced answers 503 at once, so it would always look least busy. When no
 * replica has a live worker, any of them (it answers the 503 that says so).
 */
function leastInFlight(replicas: RoutableReplica[]): RoutableReplica | undefined {
  let best: RoutableReplica | undefined;
  for (const replica of replicas) {
    if (!replica.hasLiveWorker) continue;
    if (best === undefined || replica.inFlight < best.inFlight) best = replica;
  }
  return best ?? replicas[0];
}
