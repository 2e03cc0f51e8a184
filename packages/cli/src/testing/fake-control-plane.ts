/**
 * Test helper: a small in-memory HTTP server that stands in for the real control-plane daemon in
 * the CLI's tests. It speaks the public contract (`@axon/control-plane/api`) closely enough to
 * exercise the CLI; the real daemon is covered by the end-to-end tests in /work/main/test/.
 * It listens on 127.0.0.1:0 and writes `daemon.json` + `token` into the given AXON_HOME.
 */
import { existsSync } from "node:fs";
import { writeFile, mkdir } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { DAEMON_RECORD_FILE, TOKEN_FILE, describeEvent } from "@axon/control-plane/api";
import type {
  ApiDetail,
  ApiStatus,
  ControlPlaneEvent,
  EventLine,
  ClusterInfo,
  DaemonRecord,
  DeployRequest,
  DeployResponse,
  ErrorBody,
  TrafficSplitterSummary,
} from "@axon/control-plane/api";
import { parseApiConfig } from "@axon/config";

/** One request the fake received. */
export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: Buffer;
}

/** A route override: return true when handled. */
export type FakeRoute = (
  request: RecordedRequest,
  response: ServerResponse,
) => boolean | Promise<boolean>;

/** Options for the fake. */
export interface FakeControlPlaneOptions {
  home: string;
  token?: string;
  /** Status the API reports on successive `GET /v1/apis/:name` after a deploy (last one sticks). */
  statusSequence?: { status: ApiStatus; statusMessage?: string }[];
  /** Tried before the built-in routes. */
  route?: FakeRoute;
  /** pid written to daemon.json (default: this process). */
  pid?: number;
  onShutdown?: () => void;
  /**
   * Events `GET /v1/events` streams after each deploy, per deployed API (default: one replica
   * starting, then ready). Return [] for none.
   */
  deployEvents?: (api: string) => ControlPlaneEvent[];
}

/** A running fake daemon. */
export interface FakeControlPlane {
  url: string;
  token: string;
  requests: RecordedRequest[];
  bundles: Map<string, Buffer>;
  apis: Map<string, ApiDetail>;
  /** TrafficSplitters `GET /v1/apis` lists (none by default). */
  trafficSplitters: TrafficSplitterSummary[];
  close(): Promise<void>;
}

/** Starts the fake and writes its record into `options.home`. */
export async function startFakeControlPlane(
  options: FakeControlPlaneOptions,
): Promise<FakeControlPlane> {
  const token = options.token ?? "test-token";
  const requests: RecordedRequest[] = [];
  const bundles = new Map<string, Buffer>();
  const apis = new Map<string, ApiDetail>();
  const trafficSplitters: TrafficSplitterSummary[] = [];
  const deployed = new Map<string, string>();
  const polls = new Map<string, number>();
  const subscribers = new Set<{ api: string | undefined; response: ServerResponse }>();
  let url = "";

  /** Writes `event` to every `GET /v1/events` stream that wants it. */
  function publish(event: ControlPlaneEvent): void {
    const line: EventLine = {
      time: new Date().toISOString(),
      ...describeEvent(event),
      event,
    };
    const api = "api" in event ? event.api : undefined;
    for (const subscriber of subscribers) {
      if (subscriber.api === undefined || subscriber.api === api)
        subscriber.response.write(`${JSON.stringify(line)}\n`);
    }
  }

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      send(res, 500, { code: "internal", message: String(error) });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const recorded: RecordedRequest = {
      method: req.method ?? "GET",
      path: req.url ?? "/",
      authorization: req.headers.authorization,
      body: Buffer.concat(chunks),
    };
    requests.push(recorded);
    if (options.route !== undefined && (await options.route(recorded, res))) return;
    const { method } = recorded;
    const route = recorded.path.split("?")[0] ?? "/";

    if (method === "GET" && route === "/v1/health") {
      send(res, 200, { ok: true, version: "9.9.9-fake", pid: options.pid ?? process.pid });
      return;
    }
    if (method === "POST" && /^\/[a-z0-9-]+$/.test(route)) {
      // The gateway side: an API endpoint echoing what it got.
      send(res, 200, { echoed: JSON.parse(recorded.body.toString("utf8")) as unknown });
      return;
    }
    if (recorded.authorization !== `Bearer ${token}`) {
      send(res, 401, { code: "auth.invalid_token", message: "missing or wrong bearer token" });
      return;
    }
    if (method === "GET" && route === "/v1/info") {
      const info: ClusterInfo = {
        provider: "local",
        ready: true,
        version: "9.9.9-fake",
        pid: options.pid ?? process.pid,
        home: options.home,
        apiUrl: url,
        gatewayUrl: url,
        startedAt: new Date(0).toISOString(),
        python: { path: "/usr/bin/python3", version: "3.11.2", source: "default" },
        apis: apis.size,
        replicas: apis.size,
        workerPids: [],
      };
      send(res, 200, info);
      return;
    }
    const bundle = /^\/v1\/bundles\/([0-9a-f]{64})$/.exec(route);
    if (bundle?.[1] !== undefined) {
      const sha = bundle[1];
      if (method === "HEAD") {
        res.writeHead(bundles.has(sha) ? 200 : 404).end();
        return;
      }
      if (method === "PUT") {
        bundles.set(sha, recorded.body);
        send(res, 200, { sha256: sha, bytes: recorded.body.length });
        return;
      }
    }
    if (method === "POST" && route === "/v1/deploy") {
      const request = JSON.parse(recorded.body.toString("utf8")) as DeployRequest;
      const parsed = parseApiConfig(request.config, request.configFileName);
      const response: DeployResponse = { results: [], warnings: parsed.deprecations };
      for (const spec of parsed.apis) {
        const key = `${request.bundle}:${JSON.stringify(spec)}`;
        const previous = deployed.get(spec.name);
        const outcome =
          previous === undefined ? "created" : previous === key ? "unchanged" : "updated";
        deployed.set(spec.name, key);
        const endpoint = `${url}${spec.networking.endpoint}`;
        const verb = outcome === "created" ? "creating" : "updating";
        response.results.push({
          api: spec.name,
          kind: spec.kind,
          outcome,
          message:
            outcome === "unchanged"
              ? `${spec.name} (${spec.kind}) is up to date`
              : `${verb} ${spec.name} (${spec.kind})`,
          endpoint,
          // As the daemon: a curl only when the project folder has a sample payload.
          ...(request.projectPath !== undefined &&
          existsSync(path.join(request.projectPath, "sample.json"))
            ? {
                exampleCurl: `curl ${endpoint} -X POST -H "Content-Type: application/json" -d @${path.join(request.projectPath, "sample.json")}`,
              }
            : {}),
        });
        if (outcome !== "unchanged") polls.set(spec.name, 0);
        apis.set(spec.name, makeApiDetail(spec.name, endpoint, "updating"));
      }
      if ((req.headers.accept ?? "").includes("application/x-ndjson")) {
        // Streamed like the real daemon: progress lines, then the result.
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        res.write(`${JSON.stringify({ type: "progress", message: "fake progress line" })}\n`);
        res.end(`${JSON.stringify({ type: "result", result: response })}\n`);
      } else {
        send(res, 200, response);
      }
      for (const result of response.results) {
        if (result.outcome === "unchanged") continue;
        const events = options.deployEvents?.(result.api) ?? [
          {
            kind: "replica.starting",
            api: result.api,
            replicaId: "r-aaa111",
            versionId: "v-1",
            pids: [1],
          },
          { kind: "replica.ready", api: result.api, replicaId: "r-aaa111", seconds: 0.4 },
        ];
        for (const event of events) publish(event);
      }
      return;
    }
    if (method === "GET" && route === "/v1/events") {
      const api = new URLSearchParams(recorded.path.split("?")[1] ?? "").get("api") ?? undefined;
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      res.flushHeaders();
      const subscriber = { api, response: res };
      subscribers.add(subscriber);
      res.on("close", () => subscribers.delete(subscriber));
      return;
    }
    if (method === "GET" && route === "/v1/apis") {
      send(res, 200, {
        apis: [...apis.values()],
        ...(trafficSplitters.length === 0 ? {} : { trafficSplitters }),
      });
      return;
    }
    const api = /^\/v1\/apis\/([^/]+)(\/logs)?$/.exec(route);
    if (api?.[1] !== undefined) {
      const name = decodeURIComponent(api[1]);
      const detail = apis.get(name);
      if (detail === undefined) {
        send(res, 404, {
          code: "api.not_found",
          message: `api ${name} is not deployed`,
          hint: "run `axon get` to see the deployed apis",
        });
        return;
      }
      if (api[2] === "/logs" && method === "GET") {
        res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
        res.write(`${name} line 1\n`);
        res.end(`${name} line 2\n`);
        return;
      }
      if (method === "GET") {
        const sequence = options.statusSequence ?? [{ status: "live" }];
        const poll = polls.get(name) ?? sequence.length;
        polls.set(name, poll + 1);
        const step = sequence[Math.min(poll, sequence.length - 1)] ?? { status: "live" };
        // Ready replicas of an API deployed through the fake follow its status, as the real
        // daemon's do; one a test put in place keeps the replicas it was given.
        const current: ApiDetail = {
          ...detail,
          status: step.status,
          ...(deployed.has(name)
            ? {
                replicas: {
                  ...detail.replicas,
                  upToDate: step.status === "live" ? detail.replicas.requested : 0,
                },
              }
            : {}),
        };
        if (step.statusMessage !== undefined) current.statusMessage = step.statusMessage;
        send(res, 200, current);
        return;
      }
      if (method === "DELETE") {
        apis.delete(name);
        send(res, 200, { message: `deleting ${name}` });
        return;
      }
    }
    if (method === "POST" && route === "/v1/shutdown") {
      send(res, 200, { message: "shutting down" });
      options.onShutdown?.();
      return;
    }
    send(res, 404, { code: "route.not_found", message: `no route ${method} ${route}` });
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await mkdir(options.home, { recursive: true });
  const record: DaemonRecord = {
    pid: options.pid ?? process.pid,
    apiUrl: url,
    gatewayUrl: url,
    version: "9.9.9-fake",
    startedAt: new Date(0).toISOString(),
  };
  await writeFile(path.join(options.home, DAEMON_RECORD_FILE), JSON.stringify(record));
  await writeFile(path.join(options.home, TOKEN_FILE), `${token}\n`, { mode: 0o600 });

  return {
    url,
    token,
    requests,
    bundles,
    apis,
    trafficSplitters,
    close: () =>
      new Promise<void>((resolve) => {
        for (const subscriber of subscribers) subscriber.response.end();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An ApiDetail with plausible values, for seeding the fake. */
export function makeApiDetail(name: string, endpoint: string, status: ApiStatus): ApiDetail {
  return {
    name,
    kind: "RealtimeAPI",
    status,
    replicas: {
      requested: 1,
      upToDate: status === "live" ? 1 : 0,
      stale: 0,
      initializing: 0,
      failed: 0,
    },
    lastUpdated: new Date(0).toISOString(),
    endpoint,
    spec: { name },
    specYaml: `name: ${name}\nkind: RealtimeAPI\n`,
    exampleCurl: `curl ${endpoint} -X POST -H "Content-Type: application/json" -d @sample.json`,
    runtime: {
      engine: "local",
      python: {
        key: null,
        python: "/usr/bin/python3",
        basePython: "/usr/bin/python3",
        baseVersion: "3.11.2",
        isolated: false,
        packages: 0,
        distributions: [],
      },
    },
    versions: [],
    events: [],
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body as ErrorBody);
  res.writeHead(status, { "content-type": "application/json" }).end(text);
}
