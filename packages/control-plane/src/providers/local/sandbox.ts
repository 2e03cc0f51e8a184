/**
 * What a local predictor can reach (docs/security.md). Each replica's Python workers run inside a
 * bubblewrap mount namespace that holds only what they need, read-only: the system (/usr, /etc
 * minus its secrets), their interpreter's installation, their own environment, the Axon runtime
 * and their own project. `$AXON_HOME` and /tmp are empty tmpfs (HOME points at /tmp); the one
 * writable path into the daemon is the replica's own socket. A fresh pid namespace and /proc hide every other process, so
 * `/proc/<daemon>/root` or `environ` cannot be used to walk around the mounts.
 *
 * Identity: as root, each API's workers run as a host account of their own, `axon-<hash>`
 * (host-users.ts), which holds an ACL entry on its own project and environment and nothing else.
 * bubblewrap runs as root without a user namespace (a root-run bubblewrap maps any uid it is
 * given in one back to root on the host), makes the mounts, then `setpriv` drops to the account
 * with no capability, an empty bounding set and no_new_privs before the interpreter starts. Where
 * accounts cannot be made (no `setfacl`, a home without ACLs, `AXON_HOST_USERS=off`), the older
 * identity holds: a uid per API (SANDBOX_UID_BASE + a number kept in `sandbox-uids.json`) inside
 * a user namespace without capabilities, which the kernel maps to root on the host.
 * As another user, bubblewrap makes the same user namespace unprivileged where the kernel allows.
 *
 * Where bubblewrap is missing or cannot create namespaces, nothing is wrapped and `cluster info`
 * says plainly that predictors are trusted code.
 */
import { spawnSync } from "node:child_process";
import {
  chownSync,
  existsSync,
  lstatSync,
  readFileSync,
  readlinkSync,
  realpathSync,
} from "node:fs";
import path from "node:path";
import type { SandboxInfo } from "../../contract/index.js";
import type { WorkerLauncher } from "../../replica/worker-pool.js";
import { SETPRIV, type HostUser } from "./host-users.js";

/** Where the per-API uids start (above the usual system and user ranges of Debian's adduser). */
export const SANDBOX_UID_BASE = 61_000;

/** Files under /etc no predictor needs and a root-mapped one could otherwise read. */
const MASKED_ETC_FILES = [
  "shadow",
  "shadow-",
  "gshadow",
  "gshadow-",
  "sudoers",
  "ssh/ssh_host_rsa_key",
  "ssh/ssh_host_ecdsa_key",
  "ssh/ssh_host_ed25519_key",
];
const MASKED_ETC_DIRS = ["sudoers.d", "ssl/private"];
/** Top-level system folders bound read-only when they are real folders (symlinks are recreated). */
const SYSTEM_DIRS = [
  "/usr",
  "/bin",
  "/sbin",
  "/lib",
  "/lib32",
  "/lib64",
  "/libx32",
  "/etc",
  "/opt",
];

export interface SandboxProbe {
  /** bubblewrap's path when it can create the namespaces here; undefined: no sandbox. */
  bwrap: string | undefined;
  /** Why not, when `bwrap` is undefined (one line for `cluster info`). */
  reason: string | undefined;
}

/**
 * Checks once, at start, that bubblewrap exists and can create a mount, pid and (when not root)
 * user namespace on this machine. `AXON_SANDBOX=off` turns it off (for debugging a predictor).
 */
export function probeSandbox(env: NodeJS.ProcessEnv = process.env): SandboxProbe {
  if (env["AXON_SANDBOX"] === "off") {
    return { bwrap: undefined, reason: "AXON_SANDBOX=off" };
  }
  const bwrap = ["/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap"].find((p) => existsSync(p));
  if (bwrap === undefined) {
    return {
      bwrap: undefined,
      reason: "bubblewrap is not installed (apt-get install bubblewrap)",
    };
  }
  const result = spawnSync(
    bwrap,
    [
      ...systemBinds(),
      "--proc",
      "/proc",
      "--dev",
      "/dev",
      "--unshare-pid",
      "--unshare-user",
      "--die-with-parent",
      "--",
      "/bin/true",
    ],
    { encoding: "utf8", timeout: 10_000 },
  );
  if (result.status !== 0) {
    const why = (result.stderr || result.error?.message || `exit ${result.status}`).trim();
    return {
      bwrap: undefined,
      reason: `bubblewrap cannot create namespaces here (${why.split("\n")[0]})`,
    };
  }
  return { bwrap, reason: undefined };
}

/** Read-only binds of the system folders (and their symlinks, as on merged-/usr systems). */
function systemBinds(): string[] {
  const args: string[] = [];
  for (const dir of SYSTEM_DIRS) {
    let stat;
    try {
      stat = lstatSync(dir);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) args.push("--symlink", readlinkSync(dir), dir);
    else if (stat.isDirectory()) args.push("--ro-bind", dir, dir);
  }
  for (const file of MASKED_ETC_FILES) {
    if (existsSync(`/etc/${file}`)) args.push("--ro-bind", "/dev/null", `/etc/${file}`);
  }
  for (const dir of MASKED_ETC_DIRS) {
    if (existsSync(`/etc/${dir}`)) args.push("--tmpfs", `/etc/${dir}`);
  }
  return args;
}

/**
 * The folders an interpreter reads: its own prefix (`<prefix>/bin/python`), the real binary's (a
 * venv's python is a symlink into the base installation) and, for a venv, the base named by
 * `pyvenv.cfg`'s `home`. Read from the file system rather than by asking the interpreter, which
 * would block the daemon's event loop for a process start.
 */
function interpreterPrefixes(python: string): string[] {
  if (!path.isAbsolute(python)) return []; // a bare name: the system's, under /usr
  const prefixes = [path.dirname(path.dirname(python))];
  try {
    prefixes.push(path.dirname(path.dirname(realpathSync(python))));
  } catch {
    // missing: the pool refuses to start it, naming the path
  }
  try {
    const config = readFileSync(path.join(prefixes[0] ?? "/", "pyvenv.cfg"), "utf8");
    const home = /^home\s*=\s*(.+)$/m.exec(config)?.[1]?.trim();
    if (home !== undefined && path.isAbsolute(home)) prefixes.push(path.dirname(home));
  } catch {
    // not a venv
  }
  return [...new Set(prefixes)];
}

/**
 * The folders under the home a replica's workers read (its project, its environment): what is
 * opened to an API's host account. Folders outside the home keep their own modes.
 */
export function homeFoldersOf(home: string, projectDir: string, python: string): string[] {
  const inside = (dir: string): boolean => {
    const relative = path.relative(home, dir);
    return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
  };
  return [projectDir, ...interpreterPrefixes(python)].filter(inside);
}

/**
 * `--dir` operations for the folders above each bind target, 0755: bubblewrap would make them
 * with the daemon's umask (077), which only root could then cross — not an API's host user.
 * Those under the home come after its tmpfs, the others before it.
 */
function mountParents(
  targets: string[],
  home: string,
): { outsideHome: string[]; insideHome: string[] } {
  const made = new Set<string>(["/"]);
  const outsideHome: string[] = [];
  const insideHome: string[] = [];
  const underSystem = (dir: string): boolean =>
    SYSTEM_DIRS.some((s) => dir === s || dir.startsWith(`${s}/`)) ||
    ["/tmp", "/run", "/proc", "/dev"].includes(dir);
  const addParents = (target: string): void => {
    const chain: string[] = [];
    for (let dir = path.dirname(target); !made.has(dir); dir = path.dirname(dir)) {
      chain.unshift(dir);
    }
    for (const dir of chain) {
      made.add(dir);
      if (underSystem(dir)) continue;
      const ops = ["--perms", "0755", "--dir", dir];
      if (dir.startsWith(`${home}/`)) insideHome.push(...ops);
      else outsideHome.push(...ops);
    }
  };
  // The home's own parents first (`/root` of `/root/.axon`): its tmpfs would make them 0700 too.
  addParents(home);
  made.add(home);
  for (const target of targets) addParents(target);
  return { outsideHome, insideHome };
}

/** What the provider needs to wrap one replica's workers. */
export interface SandboxTarget {
  home: string;
  projectDir: string;
  /** The version's interpreter (its environment's python, or the base one). */
  python: string;
  /** The API's uid inside a user namespace (root daemons without host users; else undefined). */
  uid: number | undefined;
  /** The API's host account (root daemons with host users; then `uid` is not used). */
  user?: HostUser | undefined;
  /** cgroup `cgroup.procs` files the process joins before anything else runs (may be empty). */
  cgroupProcs: string[];
  /**
   * Folders bound writable (a batch job's output folder under the home, issue 32); made by the
   * caller, never named by a request. Absent: nothing of the host is writable.
   */
  writable?: readonly string[];
}

/** Builds the launchers of a machine's sandbox; one per provider. */
export class Sandbox {
  readonly #probe: SandboxProbe;
  /** The system binds, read once (the same for every replica). */
  #system: string[] | undefined;

  constructor(probe: SandboxProbe) {
    this.#probe = probe;
  }

  get enabled(): boolean {
    return this.#probe.bwrap !== undefined;
  }

  /**
   * For `cluster info`: how predictors are isolated, or that they are trusted code. `hostUsers`
   * is undefined when root daemons make an account per API, else why they do not.
   */
  describe(limits: SandboxInfo["limits"], hostUsers?: string): SandboxInfo {
    if (this.#probe.bwrap === undefined) {
      return {
        isolation: "none",
        identity: "daemon-user",
        summary: `none: predictors are trusted code — they run as the daemon's user and can read everything under the Axon home, its token included (${this.#probe.reason ?? "no sandbox"})`,
        limits,
      };
    }
    const root = process.getuid?.() === 0;
    const identity: NonNullable<SandboxInfo["identity"]> = !root
      ? "daemon-user"
      : hostUsers === undefined
        ? "api-user"
        : "namespace-uid";
    const who = {
      "api-user":
        "a system user of its own per API (axon-<hash>), which may read only its own project and environment",
      "namespace-uid": `a uid per API from ${SANDBOX_UID_BASE} in a user namespace without capabilities, root on the host (no user per API: ${hostUsers ?? ""})`,
      "daemon-user": "the daemon's user in a user namespace",
    }[identity];
    return {
      isolation: "bubblewrap",
      identity,
      summary: `bubblewrap: each replica sees only its project, its Python environment and the system read-only, as ${who}`,
      limits,
    };
  }

  /**
   * The launcher of one replica: `sh` joins the replica's cgroups (so the limits hold from the
   * first byte the worker allocates), then execs bubblewrap, which execs the interpreter.
   * Undefined when there is neither a sandbox nor a cgroup to join.
   */
  launcher(target: SandboxTarget): WorkerLauncher | undefined {
    const bwrap = this.#probe.bwrap;
    if (bwrap === undefined && target.cgroupProcs.length === 0) return undefined;
    const join = (file: string, args: string[]): { file: string; args: string[] } =>
      target.cgroupProcs.length === 0
        ? { file, args }
        : {
            file: "/bin/sh",
            args: [
              "-c",
              // `$$` is this shell, which then becomes the command: the cgroup holds it from exec.
              'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"',
              "axon-cgroup-join",
              ...target.cgroupProcs,
              "--",
              file,
              ...args,
            ],
          };
    return {
      pidNamespace: bwrap !== undefined,
      command: (python, args, paths) => {
        if (bwrap === undefined) return join(python, args);
        const binds: string[] = [];
        const bound: string[] = [];
        const roBind = (dir: string): void => {
          if (!existsSync(dir)) return;
          binds.push("--ro-bind", dir, dir);
          bound.push(dir);
        };
        // The version's environment (a venv under the home) and the installation it comes from.
        for (const prefix of interpreterPrefixes(python)) roBind(prefix);
        roBind(paths.runtimeDir);
        roBind(target.projectDir);
        for (const dir of target.writable ?? []) {
          binds.push("--bind", dir, dir);
          bound.push(dir);
        }
        bound.push(paths.socketPath);
        const parents = mountParents(bound, target.home);
        const user = target.user;
        const identity =
          user !== undefined || target.uid === undefined
            ? []
            : ["--unshare-user", "--uid", String(target.uid), "--gid", String(target.uid)];
        // The account must be able to connect to its socket (connect needs write on it).
        if (user !== undefined) chownSync(paths.socketPath, user.uid, user.gid);
        const command =
          user === undefined
            ? [python, ...args]
            : [
                SETPRIV,
                `--reuid=${user.uid}`,
                `--regid=${user.gid}`,
                "--clear-groups",
                "--no-new-privs",
                "--inh-caps=-all",
                "--bounding-set=-all",
                "--",
                python,
                ...args,
              ];
        this.#system ??= systemBinds();
        return join(bwrap, [
          ...this.#system,
          "--proc",
          "/proc",
          "--dev",
          "/dev",
          // Writable by whichever user the predictor is (a tmpfs is root's 0755 otherwise).
          "--perms",
          "1777",
          "--tmpfs",
          "/tmp",
          "--tmpfs",
          "/run",
          ...parents.outsideHome,
          // The home goes dark: only what is bound below reappears inside it.
          "--tmpfs",
          target.home,
          ...parents.insideHome,
          ...binds,
          "--bind",
          paths.socketPath,
          paths.socketPath,
          ...identity,
          "--unshare-pid",
          "--unshare-ipc",
          "--unshare-uts",
          "--unshare-cgroup-try",
          "--die-with-parent",
          "--new-session",
          // The daemon's HOME is not mounted: caches a library keeps under ~ (pip, Hugging Face,
          // matplotlib) go to the replica's private /tmp instead of failing.
          "--setenv",
          "HOME",
          "/tmp",
          "--chdir",
          target.projectDir,
          "--",
          ...command,
        ]);
      },
    };
  }
}

/** The API's uid inside the sandbox, kept stable per API name in `sandbox-uids.json`. */
export function sandboxUidFor(
  file: string,
  apiName: string,
  write: (text: string) => void,
): number {
  let table: Record<string, number> = {};
  try {
    table = JSON.parse(readFileSync(file, "utf8")) as Record<string, number>;
  } catch {
    // absent or unreadable: start a new table
  }
  const known = table[apiName];
  if (typeof known === "number") return known;
  const used = new Set(Object.values(table));
  let uid = SANDBOX_UID_BASE;
  while (used.has(uid)) uid++;
  table[apiName] = uid;
  write(JSON.stringify(table));
  return uid;
}
