/** The daemon itself: how a client finds it (`daemon.json`, the token), its health, info and shutdown, and bundle uploads. */

/** Written by the daemon to `$AXON_HOME/daemon.json` (0600) once it listens. */
export interface DaemonRecord {
  pid: number;
  /** Base URL of the control-plane API, e.g. `http://127.0.0.1:41234`. */
  apiUrl: string;
  /** Base URL of the gateway that serves the APIs, e.g. `http://localhost:8888`. */
  gatewayUrl: string;
  version: string;
  startedAt: string;
  /** The supervisor that restarts this daemon after a crash, when one runs it (decision 0007). */
  supervisorPid?: number;
}

/** File names under `$AXON_HOME`. The token file is created 0600 by the daemon. */
export const DAEMON_RECORD_FILE = "daemon.json";
export const TOKEN_FILE = "token";
export const DAEMON_LOG_FILE = "daemon.log";
/** The largest JSON request body the API reads (a deploy's config travels in one). */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

export interface HealthResponse {
  ok: true;
  version: string;
  pid: number;
}

/** Which interpreter runs predictors locally, and where that choice came from. */
export type PythonChoice = { path: string; source: "env" | "flag" | "default" };

/** The engine that runs the APIs: the local provider now, ECS later. */
export interface EngineInfo {
  /** `local`, or `aws` for an ECS cluster. */
  provider: string;
  /** False when the engine cannot run predictors now; `problem` says why. */
  ready: boolean;
  problem?: string;
  /** Where APIs are served, e.g. `http://localhost:8888`. */
  gatewayUrl: string;
  /** The Python interpreter that runs predictors, and where that choice came from. */
  python: { path: string; version: string | null; source: "env" | "flag" | "default" };
  replicas: number;
  /** Process ids of every Python worker process this engine runs on this machine. */
  workerPids: number[];
  /** What a predictor can reach and how `compute` is held (absent: older daemons, ECS). */
  sandbox?: SandboxInfo;
}

/** How the local engine isolates predictors (docs/security.md). */
export interface SandboxInfo {
  /** `bubblewrap`: a mount, pid and user namespace per replica; `none`: trusted code. */
  isolation: "bubblewrap" | "none";
  /** One line for `cluster info`, saying plainly what predictors can reach. */
  summary: string;
  /**
   * Who the workers are: `api-user` a host system user per API (`axon-<hash>`, root daemons);
   * `namespace-uid` a uid per API inside a user namespace, root on the host (root daemons that
   * cannot make users); `daemon-user` the daemon's own user. Absent from older daemons.
   */
  identity?: "api-user" | "namespace-uid" | "daemon-user";
  /** `cgroup`: the kernel enforces compute.mem; `measured`: resident memory is sampled. */
  limits: "cgroup" | "measured";
}

export interface ClusterInfo extends EngineInfo {
  version: string;
  pid: number;
  home: string;
  apiUrl: string;
  startedAt: string;
  apis: number;
  /** The supervisor that restarts the daemon after a crash (absent under systemd or by hand). */
  supervisorPid?: number;
  /** Disk taken by uploaded bundles and unpacked projects (absent from older daemons). */
  disk?: BundleDiskUse;
  /** The certificate the gateway serves, when it serves HTTPS (`--tls-cert`); absent otherwise. */
  gatewayCertificate?: GatewayCertificate;
}

/** The gateway's TLS certificate as last (re)loaded: to check that a renewal took. */
export interface GatewayCertificate {
  /** The `--tls-cert` file it was read from. */
  file: string;
  /** SHA-256 fingerprint of the server certificate, `AB:CD:…`, as clients see it. */
  fingerprint256: string;
  subject: string;
  /** When it expires (as node:crypto prints it, e.g. `Dec  9 19:00:00 2026 GMT`). */
  validTo: string;
  expired: boolean;
}

/** Counted by the periodic clean-up of unused bundles, adjusted by uploads in between. */
export interface BundleDiskUse {
  bundles: number;
  bundleBytes: number;
  projects: number;
  projectBytes: number;
}

export interface BundleResponse {
  sha256: string;
  bytes: number;
}

export interface ShutdownResponse {
  message: string;
}
