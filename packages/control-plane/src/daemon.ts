/**
 * The control-plane daemon: owns the state store, the local provider and its gateway, the
 * reconcile queue and the HTTP API, and their start/stop order. Lifecycle is an explicit state
 * machine (starting → running → stopping → stopped); SIGINT/SIGTERM start a graceful stop with a
 * deadline.
 */
import { createHash, randomBytes } from "node:crypto";
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
import type { RouteContext } from "./api/context.js";
import {
  DAEMON_RECORD_FILE,
  TOKEN_FILE,
  type ClusterInfo,
  type DaemonRecord,
} from "./contract/index.js";
import { buildApiServer } from "./api/server.js";
import { BundleStore } from "./bundles/bundle-store.js";
import { DomainError } from "./errors.js";
import { ApiLogs } from "./logs/api-logs.js";
import { chooseRunDir, LocalProvider } from "./providers/local/local-provider.js";
import { makeApiReconciler } from "./reconcile/api-reconciler.js";
import { WorkQueue } from "./reconcile/work-queue.js";
import {
  EnvironmentManager,
  probeBaseInterpreter,
  shortPythonVersion,
} from "./environments/index.js";
import { PythonEnvironments } from "./services/python-environments.js";
import { SecretStore } from "./state/secrets.js";
import { StateStore } from "./state/store.js";
import { AXON_VERSION } from "./version.js";

const LOCK_FILE = "daemon.lock";
const STATE_FILE = "state.db";
const RESYNC_INTERVAL_MS = 30_000;
const STOP_DEADLINE_MS = 30_000;
/**
 * How long stopping waits for open API responses before cutting their connections. Follow streams
 * and deploys end by themselves when the daemon stops; this bounds anything else (a stalled
 * upload) so the replicas still get their graceful stop within STOP_DEADLINE_MS.
 */
const API_CLOSE_GRACE_MS = 5_000;
const ENV_GC_INTERVAL_MS = 10 * 60_000;

export interface PythonChoice {
  path: string;
  source: "env" | "flag" | "default";
}

export interface DaemonOptions {
  home: string;
  /** Control-plane API port on 127.0.0.1 (0 = any free port, written to daemon.json). */
  apiPort: number;
  gatewayPort: number;
  python: PythonChoice;
  /** Build environments without the base interpreter's packages (AXON_ENV_ISOLATED=1). */
  isolatedEnvironments: boolean;
  /** Unused environments are removed this long after their last use. */
  envGcGraceMs: number;
  log: (line: string) => void;
}

type DaemonState = "idle" | "starting" | "running" | "stopping" | "stopped";

export class Daemon {
  readonly #options: DaemonOptions;
  #state: DaemonState = "idle";
  #store: StateStore | undefined;
  #provider: LocalProvider | undefined;
  #queue: WorkQueue | undefined;
  #api: FastifyInstance | undefined;
  #resync: NodeJS.Timeout | undefined;
  #envGc: NodeJS.Timeout | undefined;
  #startedAt = new Date();
  #pythonVersion: string | null = null;
  #pythonPath = "";
  #stopped: Promise<void> | undefined;
  #lockHeld = false;
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
    const { home, log } = this.#options;
    mkdirSync(home, { recursive: true, mode: 0o700 });
    this.#acquireLock();
    try {
      const token = ensureToken(path.join(home, TOKEN_FILE));
      const store = StateStore.open(path.join(home, STATE_FILE));
      this.#store = store;
      killOrphanWorkers(store, log);

      await this.#resolvePython();
      const logs = new ApiLogs(home);
      const bundles = new BundleStore(home, store);
      const runDir = chooseRunDir(home, createHash("sha256").update(home).digest("hex"));
      rmSync(runDir, { recursive: true, force: true });
      const secrets = new SecretStore(home);
      const environments = new PythonEnvironments(
        new EnvironmentManager({ root: path.join(home, "envs") }),
        () => ({ path: this.#pythonPath, version: this.#pythonVersion }),
        this.#options.isolatedEnvironments,
        this.#stopping.signal,
      );
      const provider = new LocalProvider({ store, logs, runDir });
      this.#provider = provider;

      const gatewayPort = await provider.gateway.listen(this.#options.gatewayPort, "127.0.0.1");
      const gatewayUrl = `http://localhost:${gatewayPort}`;

      const reconcileApi = makeApiReconciler({
        store,
        bundles,
        provider,
        prepareRuntime: async (apiName, _version, projectDir) => {
          const runtime = await environments.prepare(projectDir);
          if (runtime.envKey !== null) environments.markUsed(runtime.envKey);
          return { python: runtime.python, secretEnv: secrets.get(apiName) };
        },
      });
      const queue = new WorkQueue((key) => reconcileApi(key), {
        timeoutMs: 30 * 60_000,
        onError: (key, error) =>
          log(`reconcile ${key} failed: ${error instanceof Error ? error.message : String(error)}`),
      });
      this.#queue = queue;
      provider.onChange((apiName) => queue.add(apiName));

      const context: RouteContext = {
        store,
        bundles,
        provider,
        logs,
        secrets,
        environments,
        gatewayUrl,
        version: AXON_VERSION,
        enqueue: (name) => queue.add(name),
        reconcileNow: (name) => queue.reconcileNow(name),
        info: () => this.#info(gatewayUrl),
        requestShutdown: () => void this.stop("shutdown requested through the API"),
      };
      const api = buildApiServer(context, token);
      this.#api = api;
      await api.listen({ host: "127.0.0.1", port: this.#options.apiPort });
      const address = api.server.address();
      const apiPort =
        typeof address === "object" && address !== null ? address.port : this.#options.apiPort;

      const record: DaemonRecord = {
        pid: process.pid,
        apiUrl: `http://127.0.0.1:${apiPort}`,
        gatewayUrl,
        version: AXON_VERSION,
        startedAt: this.#startedAt.toISOString(),
      };
      this.#apiUrl = record.apiUrl;
      writePrivateFile(path.join(home, DAEMON_RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);

      const resyncAll = (): void => {
        for (const api of store.listApis()) queue.add(api.name);
        for (const name of provider.apiNamesWithReplicas()) queue.add(name);
      };
      resyncAll();
      this.#resync = setInterval(resyncAll, RESYNC_INTERVAL_MS);
      this.#resync.unref();
      const collectEnvironments = (): void => {
        const inUse = new Set(
          store
            .listApis()
            .flatMap((a) => (a.currentVersion.envKey === null ? [] : [a.currentVersion.envKey])),
        );
        environments.collectGarbage(inUse, this.#options.envGcGraceMs).then(
          (removed) => removed.forEach((key) => log(`removed unused Python environment ${key}`)),
          (error: unknown) =>
            log(
              `environment clean-up failed: ${error instanceof Error ? error.message : String(error)}`,
            ),
        );
      };
      this.#envGc = setInterval(collectEnvironments, ENV_GC_INTERVAL_MS);
      this.#envGc.unref();
      this.#state = "running";
      log(
        `control plane ${AXON_VERSION} running: api ${record.apiUrl}, gateway ${gatewayUrl}, python ${this.#pythonPath} (${this.#pythonVersion === null ? "version unknown" : shortPythonVersion(this.#pythonVersion)})`,
      );
      return record;
    } catch (error) {
      await this.#teardown();
      this.#state = "stopped";
      throw error;
    }
  }

  #apiUrl = "";

  /** Stops serving, stops every replica (draining in-flight requests), and releases the home. */
  stop(reason: string): Promise<void> {
    if (this.#stopped !== undefined) return this.#stopped;
    this.#options.log(`stopping: ${reason}`);
    this.#state = "stopping";
    const deadline = setTimeout(() => {
      this.#options.log(`stop took longer than ${STOP_DEADLINE_MS / 1000}s; exiting anyway`);
      process.exit(1);
    }, STOP_DEADLINE_MS);
    deadline.unref();
    this.#stopped = this.#teardown().finally(() => {
      clearTimeout(deadline);
      this.#state = "stopped";
      this.#options.log("stopped");
    });
    return this.#stopped;
  }

  async #teardown(): Promise<void> {
    this.#stopping.abort(new Error("the control plane is stopping"));
    if (this.#resync !== undefined) clearInterval(this.#resync);
    if (this.#envGc !== undefined) clearInterval(this.#envGc);
    this.#queue?.stop();
    await this.#closeApi();
    await this.#provider?.shutdown().catch(() => {});
    this.#store?.clearWorkerProcesses();
    this.#store?.close();
    const { home } = this.#options;
    if (this.#lockHeld) {
      rmSync(path.join(home, DAEMON_RECORD_FILE), { force: true });
      rmSync(path.join(home, LOCK_FILE), { force: true });
      this.#lockHeld = false;
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
      this.#options.log(
        `API requests still open after ${API_CLOSE_GRACE_MS / 1000}s of stopping; closing their connections`,
      );
      api.server.closeAllConnections();
      await closed;
    }
    clearTimeout(timer);
  }

  #info(gatewayUrl: string): ClusterInfo {
    const store = this.#store;
    const provider = this.#provider;
    const apis = store?.listApis().length ?? 0;
    const workerPids = provider?.allWorkerPids() ?? [];
    const replicas = provider?.replicaCount ?? 0;
    return {
      provider: "local",
      version: AXON_VERSION,
      pid: process.pid,
      home: this.#options.home,
      apiUrl: this.#apiUrl,
      gatewayUrl,
      startedAt: this.#startedAt.toISOString(),
      python: {
        path: this.#pythonPath,
        version: this.#pythonVersion === null ? null : shortPythonVersion(this.#pythonVersion),
        source: this.#options.python.source,
      },
      apis,
      replicas,
      workerPids,
    };
  }

  async #resolvePython(): Promise<void> {
    const { python, log } = this.#options;
    this.#pythonPath = resolveExecutable(python.path) ?? python.path;
    try {
      // The real path and full version: they are part of every environment's key.
      const probed = await probeBaseInterpreter(this.#pythonPath);
      this.#pythonPath = probed.python;
      this.#pythonVersion = probed.version;
    } catch (error) {
      log(
        `warning: cannot run the Python interpreter ${python.path} (${error instanceof Error ? error.message : String(error)}); ` +
          "predictors will fail to start until AXON_PYTHON or --python names a working python3",
      );
    }
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
        if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) {
          throw new DomainError(
            "daemon.already_running",
            `a control plane is already running for ${this.#options.home} (pid ${pid})`,
            { hint: "use it (axon cluster info), or stop it first with `axon cluster down`" },
          );
        }
        rmSync(lockPath, { force: true });
      }
    }
    throw new DomainError("daemon.lock", `cannot take the lock ${lockPath}`, {
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

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Stops Python workers a previous daemon left behind (it was killed before it could stop them). */
function killOrphanWorkers(store: StateStore, log: (line: string) => void): void {
  for (const worker of store.listWorkerProcesses()) {
    const cmdline = readFileSafe(`/proc/${worker.pid}/cmdline`);
    if (cmdline.includes("axon_runtime") && isAlive(worker.pid)) {
      try {
        process.kill(worker.pid, "SIGKILL");
        log(
          `stopped orphaned worker pid ${worker.pid} of ${worker.apiName} (replica ${worker.replicaId})`,
        );
      } catch {
        // Already gone.
      }
    }
  }
  store.clearWorkerProcesses();
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

function resolveExecutable(command: string): string | undefined {
  if (command.includes("/")) return path.resolve(command);
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    const candidate = path.join(dir, command);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}
