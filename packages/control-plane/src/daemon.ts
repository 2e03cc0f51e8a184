/**
 * The control-plane daemon's lifecycle: an explicit state machine (idle → starting → running →
 * stopping → stopped) over what `compose.ts` builds — the state store, the provider, the reconcile
 * queue — plus the home's lock and token, the HTTP API, and the periodic resync and clean-up.
 * `stop` resolves when everything is stopped; the caller (`main.ts`) owns the deadline and the
 * process's exit.
 */
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import type { RouteContext } from "./http/context.js";
import { buildApiServer } from "./http/server.js";
import { AUTOSCALER_TICK_MS } from "./autoscaler/autoscaler.js";
import { FLUSH_INTERVAL_MS } from "./monitoring/monitoring-loop.js";
import { composeControlPlane, type ControlPlane, type ProviderFactory } from "./compose.js";
import {
  DAEMON_RECORD_FILE,
  TOKEN_FILE,
  type ClusterInfo,
  type DaemonRecord,
  type PythonChoice,
} from "./contract/index.js";
import { DomainError } from "./errors.js";
import type { EventSubscriber } from "./events/event-sink.js";
import type { GatewayTls } from "./providers/local/gateway-tls.js";
import { DAEMON_ALREADY_RUNNING } from "./supervisor.js";
import { AXON_VERSION } from "./version.js";

const LOCK_FILE = "daemon.lock";

/** The home's lock file can be neither created nor cleared (400). */
export const DAEMON_LOCK = "daemon.lock";
/**
 * The phases of the current start-up, for whoever started the daemon (`axon cluster up` shows
 * them as they come): `{ pid, supervisorPid?, phases: [{ at, text }] }`, rewritten at each phase.
 */
const STARTUP_FILE = "startup.json";
const RESYNC_INTERVAL_MS = 30_000;
/**
 * How long stopping waits for open API responses before cutting their connections. Follow streams
 * and deploys end by themselves when the daemon stops; this bounds anything else (a stalled
 * upload) so the replicas still get their graceful stop within STOP_DEADLINE_MS.
 */
/** Drift and retention of prediction monitoring are checked this often. */
const MONITORING_CHECK_INTERVAL_MS = 60_000;
const API_CLOSE_GRACE_MS = 5_000;
const ENV_GC_INTERVAL_MS = 10 * 60_000;

export type { PythonChoice };

export interface DaemonOptions {
  home: string;
  /** Control-plane API port on 127.0.0.1 (0 = any free port, written to daemon.json). */
  apiPort: number;
  gatewayPort: number;
  /** Where the gateway listens (default 127.0.0.1); beyond loopback see gateway-exposure.ts. */
  gatewayHost?: string;
  /** `--insecure-no-auth`: serve APIs without keys beyond loopback. */
  insecureNoAuth?: boolean;
  /**
   * `--tls-cert/--tls-key`: the gateway serves HTTPS with this certificate, read again by
   * `reloadGatewayTls` (SIGHUP; gateway-tls.ts).
   */
  gatewayTls?: GatewayTls;
  python: PythonChoice;
  /** Build environments without the base interpreter's packages (AXON_ENV_ISOLATED=1). */
  isolatedEnvironments: boolean;
  /** Unused environments are removed this long after their last use. */
  envGcGraceMs: number;
  /** Reads every event the control plane emits (the daemon log). */
  onEvent: EventSubscriber;
  /** How long a rollout may take before it is rolled back (default 10 minutes). */
  rolloutTimeoutMs?: number;
  /** How long prediction buckets are kept (default 7 days). */
  monitoringRetentionMs?: number;
  /** The engine (default: the local provider); see `CompositionOptions.provider`. */
  provider?: ProviderFactory;
  /** The supervisor process running this daemon, if any (recorded in daemon.json). */
  supervisorPid?: number;
}

type DaemonState = "idle" | "starting" | "running" | "stopping" | "stopped";

export class Daemon {
  #options: DaemonOptions;
  /** The daemon record as last written (rewritten when another supervisor takes over). */
  #record: DaemonRecord | undefined;
  #state: DaemonState = "idle";
  #parts: ControlPlane | undefined;
  #api: FastifyInstance | undefined;
  #resync: NodeJS.Timeout | undefined;
  #envGc: NodeJS.Timeout | undefined;
  #autoscale: NodeJS.Timeout | undefined;
  readonly #monitorTimers: NodeJS.Timeout[] = [];
  readonly #startedAt = new Date();
  #apiUrl = "";
  #stopped: Promise<void> | undefined;
  #lockHeld = false;
  readonly #phases: { at: string; text: string }[] = [];
  readonly #stopping = new AbortController();

  constructor(options: DaemonOptions) {
    this.#options = options;
  }

  get state(): DaemonState {
    return this.#state;
  }

  async start(): Promise<DaemonRecord> {
    if (this.#state !== "idle") throw new Error(`cannot start a daemon that is ${this.#state}`);
    this.#state = "starting";
    const { home } = this.#options;
    mkdirSync(home, { recursive: true, mode: 0o700 });
    // Private whoever made it (an AXON_HOME created 0755 by hand or by an older axon): the
    // database, logs and secrets inside hold predictor.env values and forwarded credentials.
    chmodSync(home, 0o700);
    this.#acquireLock();
    try {
      const token = ensureToken(path.join(home, TOKEN_FILE));
      const parts = composeControlPlane({ ...this.#options, stopSignal: this.#stopping.signal });
      this.#parts = parts;
      const { store, provider, queue, events } = parts;
      const stored = store.listApis().length;
      this.#phase(`state opened: ${stored} ${stored === 1 ? "API" : "APIs"}`);
      // Beyond loopback, every stored API must require keys before the gateway binds (issue 29).
      provider.apiKeys?.checkExposure([
        ...store.listApis().map((api) => ({
          name: api.name,
          auth: api.currentVersion.spec.networking.auth,
        })),
        // BatchAPIs' job endpoints take no key (issue 32).
        ...(parts.batch?.apis() ?? []).map((api) => ({ name: api.name, auth: undefined })),
      ]);
      await provider.start(this.#stopping.signal);
      // TrafficSplitters have no reconcile: their routes come back from the store here.
      for (const splitter of store.listTrafficSplitters())
        provider.splitRouter?.route(splitter.spec);
      // BatchAPIs: their job endpoints, and every job not over runs again (issue 32).
      parts.batch?.routeAll();
      parts.batch?.resume();
      // Scale to zero: a request for an API at zero replicas asks the autoscaler for one.
      provider.onWakeRequest?.((name) => parts.autoscaler?.wake(name, Date.now()) ?? false);
      const started = provider.engineInfo();
      const tls = this.#options.gatewayTls?.current;
      this.#phase(
        `gateway listening on ${started.gatewayUrl}${tls === undefined ? "" : ` (certificate SHA-256 ${tls.fingerprint256}, valid to ${tls.validTo})`}, python ${started.python.version ?? "version unknown"}`,
      );
      if (this.#options.gatewayTls !== undefined) this.#warnAboutTls(this.#options.gatewayTls);

      const context: RouteContext = {
        store,
        bundles: parts.bundles,
        provider,
        secrets: parts.secrets,
        events,
        version: AXON_VERSION,
        enqueue: (name) => queue.add(name),
        reconcileNow: (name) => queue.reconcileNow(name),
        info: () => this.#info(),
        ...(parts.monitoring === undefined ? {} : { monitoring: parts.monitoring }),
        ...(parts.autoscaler === undefined
          ? {}
          : { autoscaling: (name: string) => parts.autoscaler?.status(name) }),
        requestShutdown: () => void this.stop("shutdown requested through the API"),
        ...(parts.batch === undefined ? {} : { batch: parts.batch }),
      };
      const api = buildApiServer(context, token);
      this.#api = api;
      await api.listen({ host: "127.0.0.1", port: this.#options.apiPort });
      const address = api.server.address();
      const apiPort =
        typeof address === "object" && address !== null ? address.port : this.#options.apiPort;
      const engine = provider.engineInfo();
      const record: DaemonRecord = {
        pid: process.pid,
        apiUrl: `http://127.0.0.1:${apiPort}`,
        gatewayUrl: engine.gatewayUrl,
        version: AXON_VERSION,
        startedAt: this.#startedAt.toISOString(),
        ...(this.#options.supervisorPid === undefined
          ? {}
          : { supervisorPid: this.#options.supervisorPid }),
      };
      this.#apiUrl = record.apiUrl;
      this.#record = record;
      // Before the record: whoever waits for the record finds this phase with it.
      this.#phase(`control-plane API listening on ${record.apiUrl}`);
      writePrivateFile(path.join(home, DAEMON_RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);

      // Everything in the store, and everything the engine runs (an API deleted while the daemon
      // was down is found this way), converges now and every RESYNC_INTERVAL_MS.
      const resyncAll = (): void => {
        for (const api of store.listApis()) queue.add(api.name);
        for (const name of provider.apiNames()) queue.add(name);
      };
      resyncAll();
      this.#resync = setInterval(resyncAll, RESYNC_INTERVAL_MS);
      this.#resync.unref();
      // Every version's artifact, not only current ones: a rollback redeploys a version from
      // history, and would otherwise find its environment removed and build it again.
      const collectArtifacts = (): void => {
        const inUse = [
          ...store.listApis().flatMap((a) => store.listVersions(a.name, -1).map((v) => v.artifact)),
          // BatchAPIs' and their unfinished jobs' environments (issue 32).
          ...(parts.batch?.artifactsInUse() ?? []),
        ];
        void provider.collectUnusedArtifacts(inUse);
      };
      // Bundles no version (history included) references, and their projects; the first pass
      // also counts their disk use for `cluster info`.
      const collectBundles = (): void => {
        parts.bundles.collectGarbage(this.#options.envGcGraceMs).then(
          (removed) => {
            for (const { sha256, bytes } of removed) {
              events.emit({ kind: "bundle.removed", sha256, bytes });
            }
          },
          (error: unknown) =>
            events.emit({
              kind: "bundle.cleanup_failed",
              message: error instanceof Error ? error.message : String(error),
            }),
        );
      };
      collectBundles();
      this.#envGc = setInterval(() => {
        collectArtifacts();
        collectBundles();
      }, ENV_GC_INTERVAL_MS);
      this.#envGc.unref();
      const autoscaler = parts.autoscaler;
      if (autoscaler !== undefined) {
        this.#autoscale = setInterval(() => autoscaler.tick(Date.now()), AUTOSCALER_TICK_MS);
        this.#autoscale.unref();
      }
      const monitoring = parts.monitoring;
      if (monitoring !== undefined) {
        this.#monitorTimers.push(
          setInterval(() => monitoring.flush(new Date()), FLUSH_INTERVAL_MS),
          setInterval(() => monitoring.check(new Date()), MONITORING_CHECK_INTERVAL_MS),
        );
        for (const timer of this.#monitorTimers) timer.unref();
      }
      this.#state = "running";
      events.emit({
        kind: "daemon.started",
        version: AXON_VERSION,
        apiUrl: record.apiUrl,
        engine: engine.provider,
        endpointBaseUrl: engine.gatewayUrl,
        detail: `python ${engine.python.path} (${engine.python.version ?? "version unknown"})`,
      });
      return record;
    } catch (error) {
      await this.#teardown();
      this.#state = "stopped";
      throw error;
    }
  }

  /**
   * Stops serving, stops every replica (draining in-flight requests), and releases the home.
   * Resolves when all of that is done; the caller bounds how long it waits.
   */
  stop(reason: string): Promise<void> {
    if (this.#stopped !== undefined) return this.#stopped;
    this.#parts?.events.emit({ kind: "daemon.stopping", reason });
    this.#state = "stopping";
    this.#stopped = this.#teardown().finally(() => {
      this.#state = "stopped";
      this.#parts?.events.emit({ kind: "daemon.stopped" });
    });
    return this.#stopped;
  }

  async #teardown(): Promise<void> {
    this.#stopping.abort(new Error("the control plane is stopping"));
    if (this.#resync !== undefined) clearInterval(this.#resync);
    if (this.#envGc !== undefined) clearInterval(this.#envGc);
    if (this.#autoscale !== undefined) clearInterval(this.#autoscale);
    for (const timer of this.#monitorTimers) clearInterval(timer);
    const parts = this.#parts;
    parts?.queue.stop();
    await this.#closeApi();
    // Jobs stay as they are in the store and resume at the next start.
    await parts?.batch?.shutdown().catch(() => {});
    await parts?.provider.shutdown().catch(() => {});
    // What the replicas tallied since the last flush is kept before they are gone.
    parts?.monitoring?.flush(new Date());
    parts?.predictions.close();
    parts?.batchStore.close();
    parts?.store.close();
    const { home } = this.#options;
    if (this.#lockHeld) {
      rmSync(path.join(home, DAEMON_RECORD_FILE), { force: true });
      rmSync(path.join(home, STARTUP_FILE), { force: true });
      rmSync(path.join(home, LOCK_FILE), { force: true });
      this.#lockHeld = false;
    }
  }

  /**
   * Reads the gateway's certificate and key again (SIGHUP): good files serve every connection
   * made from now on, a bad one leaves the certificate served as it was; either way the log says
   * which. Returns false when the gateway serves no TLS.
   */
  reloadGatewayTls(): boolean {
    const tls = this.#options.gatewayTls;
    const events = this.#parts?.events;
    if (tls === undefined || events === undefined) return false;
    try {
      const loaded = tls.reload();
      events.emit({
        kind: "gateway.tls_reloaded",
        certFile: tls.files.certFile,
        fingerprint256: loaded.fingerprint256,
        validTo: loaded.validTo,
      });
      this.#warnAboutTls(tls);
    } catch (error) {
      const served = tls.current;
      events.emit({
        kind: "daemon.warning",
        message: `the gateway's certificate was not reloaded, it still serves ${served.fingerprint256} (valid to ${served.validTo}): ${error instanceof Error ? error.message : String(error)}`,
      });
    }
    return true;
  }

  /** Says when the gateway's certificate has expired, or its key is readable by others. */
  #warnAboutTls(tls: GatewayTls): void {
    const { expired, validTo, keyReadableByOthers } = tls.current;
    if (expired) {
      this.#parts?.events.emit({
        kind: "daemon.warning",
        message: `the gateway's certificate ${tls.files.certFile} expired on ${validTo}: clients refuse it until it is replaced (then send SIGHUP)`,
      });
    }
    if (keyReadableByOthers) {
      this.#parts?.events.emit({
        kind: "daemon.warning",
        message: `the gateway's key ${tls.files.keyFile} is readable by other users of this machine: \`chmod 600\` it (it is what proves the gateway is yours)`,
      });
    }
  }

  /**
   * Another supervisor watches this daemon now (the first one died, decision 0007): the record
   * names it, so `cluster down` waits for it and tests stop it first.
   */
  supervisedBy(pid: number): void {
    this.#options = { ...this.#options, supervisorPid: pid };
    if (this.#record === undefined || !this.#lockHeld) return;
    this.#record = { ...this.#record, supervisorPid: pid };
    writePrivateFile(
      path.join(this.#options.home, DAEMON_RECORD_FILE),
      `${JSON.stringify(this.#record, null, 2)}\n`,
    );
  }

  /** Records a start-up phase in STARTUP_FILE; best effort (the start-up does not depend on it). */
  #phase(text: string): void {
    this.#phases.push({ at: new Date().toISOString(), text });
    const progress = {
      pid: process.pid,
      ...(this.#options.supervisorPid === undefined
        ? {}
        : { supervisorPid: this.#options.supervisorPid }),
      phases: this.#phases,
    };
    try {
      writePrivateFile(
        path.join(this.#options.home, STARTUP_FILE),
        `${JSON.stringify(progress)}\n`,
      );
    } catch {
      // A full disk shows up elsewhere; the phases are only news.
    }
  }

  async #closeApi(): Promise<void> {
    const api = this.#api;
    if (api === undefined) return;
    const closed = api.close().then(
      () => "closed" as const,
      () => "closed" as const,
    );
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), API_CLOSE_GRACE_MS);
    });
    if ((await Promise.race([closed, graceOver])) === "late") {
      this.#parts?.events.emit({
        kind: "daemon.warning",
        message: `API requests still open after ${API_CLOSE_GRACE_MS / 1000}s of stopping; closing their connections`,
      });
      api.server.closeAllConnections();
      await closed;
    }
    clearTimeout(timer);
  }

  #info(): ClusterInfo {
    const parts = this.#parts;
    if (parts === undefined) throw new Error("the daemon has not started");
    return {
      ...parts.provider.engineInfo(),
      version: AXON_VERSION,
      pid: process.pid,
      home: this.#options.home,
      apiUrl: this.#apiUrl,
      startedAt: this.#startedAt.toISOString(),
      apis: parts.store.listApis().length,
      disk: parts.bundles.diskUse(),
      ...(this.#options.gatewayTls === undefined
        ? {}
        : {
            gatewayCertificate: {
              file: this.#options.gatewayTls.files.certFile,
              fingerprint256: this.#options.gatewayTls.current.fingerprint256,
              subject: this.#options.gatewayTls.current.subject,
              validTo: this.#options.gatewayTls.current.validTo,
              expired: this.#options.gatewayTls.current.expired,
            },
          }),
      ...(this.#options.supervisorPid === undefined
        ? {}
        : { supervisorPid: this.#options.supervisorPid }),
    };
  }

  #acquireLock(): void {
    const lockPath = path.join(this.#options.home, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(lockPath, "wx", 0o600);
        writeFileSync(fd, String(process.pid));
        closeSync(fd);
        this.#lockHeld = true;
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        const pid = Number.parseInt(readFileSafe(lockPath), 10);
        if (Number.isInteger(pid) && pid !== process.pid && isControlPlaneProcess(pid)) {
          throw new DomainError(
            DAEMON_ALREADY_RUNNING,
            `a control plane is already running for ${this.#options.home} (pid ${pid})`,
            { hint: "use it (axon cluster info), or stop it first with `axon cluster down`" },
          );
        }
        rmSync(lockPath, { force: true });
      }
    }
    throw new DomainError(DAEMON_LOCK, `cannot take the lock ${lockPath}`, {
      hint: "remove the file if no daemon runs",
    });
  }
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/**
 * True when `pid` is a live control plane: alive, not a zombie (a daemon killed with SIGKILL that
 * its parent has not reaped yet), and running our entry point. A lock whose PID the kernel has
 * since handed to another program must not keep the home locked. Without /proc (macOS), alive is
 * all that can be told.
 */
function isControlPlaneProcess(pid: number): boolean {
  if (!isAlive(pid)) return false;
  let stat: string;
  let cmdline: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return !existsSync("/proc/self/stat");
  }
  // `pid (comm) S ...`: the state follows the last ")" (comm may hold parentheses).
  const state = stat.slice(stat.lastIndexOf(")") + 2).charAt(0);
  if (state === "Z" || state === "X") return false;
  const ours = process.argv[1];
  const args = cmdline.split("\0");
  if (args.includes("--supervise")) return false; // a supervisor never holds the lock
  return args.some(
    (arg) =>
      arg === ours ||
      /(?:^|[\\/])axon-control-plane(?:\.js)?$/.test(arg) ||
      /control-plane[\\/]dist[\\/]main\.js$/.test(arg),
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function ensureToken(file: string): string {
  if (existsSync(file)) {
    chmodSync(file, 0o600);
    const token = readFileSync(file, "utf8").trim();
    if (token.length >= 32) return token;
  }
  const token = randomBytes(32).toString("hex");
  writePrivateFile(file, `${token}\n`);
  return token;
}

/** Writes a 0600 file atomically (temp file + rename). */
function writePrivateFile(file: string, content: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, content, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, file);
}
