/**
 * A real host account per API when the daemon runs as root (issue 27, docs/security.md): each
 * API's workers run as `axon-<hash of the API name>`, a system user made with `useradd --system`
 * on the API's first deploy, and only its own project and Python environment are opened to it —
 * with a POSIX ACL entry (`setfacl -m u:<uid>:rX`) on those folders, which stay the daemon's,
 * 0700/0600. An ACL and not a group or an owner: projects and environments are shared by content,
 * so two APIs deploying the same bundle use the same folder, and each needs its own entry.
 *
 * Users are kept and reused when an API is deleted (its ACL entries are removed): a uid that
 * `userdel` freed would be handed by the next `useradd` to another API, which would inherit every
 * entry that could not be removed (another home of this machine, a folder restored from a
 * backup). The name depends on the API name only, so a name deployed again gets its account back
 * and the number of accounts is bounded by the names ever deployed; `userdel axon-…` is safe once
 * no home has the API. Tools: `useradd` (Debian's `passwd`), `setfacl` (`acl`).
 */
import { execFile, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** A host account an API's workers run as. */
export interface HostUser {
  name: string;
  uid: number;
  gid: number;
}

/** Runs a tool and resolves with its stdout; rejects with its stderr in the message. */
export type RunCommand = (file: string, args: string[]) => Promise<string>;

const runCommand: RunCommand = async (file, args) => {
  const { stdout } = await execFileAsync(file, args, { encoding: "utf8", timeout: 120_000 });
  return stdout;
};

const USERADD = "/usr/sbin/useradd";
const SETFACL = "/usr/bin/setfacl";
/** util-linux's, essential on Debian: drops to the API's user inside the sandbox. */
export const SETPRIV = "/usr/bin/setpriv";

/** `axon-` and 10 hex digits of the API's name (user names are at most 32 bytes). */
export function hostUserName(apiName: string): string {
  return `axon-${createHash("sha256").update(apiName).digest("hex").slice(0, 10)}`;
}

/**
 * Whether per-API host users can be made here: root, `useradd`, `setpriv` and a `setfacl` whose
 * entries the home's file system keeps. Undefined when they can; else why not (one line).
 */
export function hostUsersUnavailable(home: string, env: NodeJS.ProcessEnv): string | undefined {
  if (process.getuid?.() !== 0) return "the daemon does not run as root";
  if (env["AXON_HOST_USERS"] === "off") return "AXON_HOST_USERS=off";
  for (const [tool, pkg] of [
    [USERADD, "passwd"],
    [SETPRIV, "util-linux"],
    [SETFACL, "acl"],
  ] as const) {
    if (!existsSync(tool)) return `${tool} is missing (apt-get install ${pkg})`;
  }
  // A file system without ACLs (or mounted noacl) refuses the entry: find out now, not per API.
  const probe = path.join(home, `.acl-probe-${randomBytes(4).toString("hex")}`);
  try {
    writeFileSync(probe, "", { mode: 0o600 });
    const { status, stderr } = spawnSetfacl(["-m", "u:65534:r", probe]);
    if (status !== 0) return `the home's file system keeps no ACLs (${stderr.trim()})`;
  } catch (error) {
    return `cannot probe ACLs under the home (${error instanceof Error ? error.message : String(error)})`;
  } finally {
    rmSync(probe, { force: true });
  }
  return undefined;
}

/** Synchronous: it runs once at start, beside bubblewrap's own probe. */
function spawnSetfacl(args: string[]): { status: number | null; stderr: string } {
  const result = spawnSync(SETFACL, args, { encoding: "utf8", timeout: 10_000 });
  return { status: result.status, stderr: result.stderr };
}

/** What was opened to each API's user, so a delete can close it again. */
interface GrantRecord {
  [apiName: string]: { user: string; uid: number; dirs: string[] };
}

/**
 * Makes the accounts and opens folders to them. Calls are serialised: `useradd` locks
 * /etc/passwd and the record file is rewritten whole.
 */
export class HostUsers {
  readonly #recordFile: string;
  readonly #run: RunCommand;
  #queue: Promise<unknown> = Promise.resolve();
  /** What `prepare` finished in this process: the account and the folders opened to it. */
  readonly #prepared = new Map<string, { user: HostUser; dirs: Set<string> }>();

  constructor(home: string, run: RunCommand = runCommand) {
    this.#recordFile = path.join(home, "host-users.json");
    this.#run = run;
  }

  /**
   * The API's account (made on first use) with `dirs` opened to it, read-only. A folder opened
   * before is not walked again unless the account's uid changed (it was removed and made anew).
   */
  /**
   * The account of an API whose `dirs` this process already opened, synchronously: a replica
   * start then waits for nothing (the rollout's plan and its starts stay one step).
   */
  preparedUser(apiName: string, dirs: string[]): HostUser | undefined {
    const prepared = this.#prepared.get(apiName);
    if (prepared === undefined) return undefined;
    if (!dirs.every((dir) => prepared.dirs.has(dir) && holdsAcl(dir))) return undefined;
    return prepared.user;
  }

  prepare(apiName: string, dirs: string[]): Promise<HostUser> {
    return this.#serial(async () => {
      const user = await this.#prepareOnce(apiName, dirs);
      const prepared = this.#prepared.get(apiName);
      const known = prepared?.user.uid === user.uid ? prepared.dirs : new Set<string>();
      for (const dir of dirs) known.add(dir);
      this.#prepared.set(apiName, { user, dirs: known });
      return user;
    });
  }

  /** One `prepare`: the account, then a walk of each folder not opened to it before. */
  async #prepareOnce(apiName: string, dirs: string[]): Promise<HostUser> {
    const user = await this.#ensureUser(apiName);
    const record = await this.#readRecord();
    const previous = record[apiName];
    const done = new Set((previous?.uid === user.uid ? previous.dirs : []).filter(holdsAcl));
    const todo = dirs.filter((dir) => !done.has(dir));
    if (previous?.uid === user.uid && todo.length === 0) return user; // the usual case
    for (const dir of todo) {
      // X: search on folders (and files already executable), read everywhere; nothing more.
      await this.#run(SETFACL, ["-R", "-m", `u:${user.uid}:rX`, dir]);
      done.add(dir);
    }
    record[apiName] = { user: user.name, uid: user.uid, dirs: [...done] };
    await this.#writeRecord(record);
    return user;
  }

  /** Closes what was opened to a deleted API's account (the account is kept; see above). */
  revoke(apiName: string): Promise<void> {
    return this.#serial(async () => {
      const record = await this.#readRecord();
      const entry = record[apiName];
      if (entry === undefined) return;
      for (const dir of entry.dirs) {
        if (!existsSync(dir)) continue; // collected meanwhile
        await this.#run(SETFACL, ["-R", "-x", `u:${entry.uid}`, dir]).catch(() => {
          // an entry already gone: setfacl -x fails on it, and there is nothing left to close
        });
      }
      delete record[apiName];
      this.#prepared.delete(apiName);
      await this.#writeRecord(record);
    });
  }

  async #ensureUser(apiName: string): Promise<HostUser> {
    const name = hostUserName(apiName);
    const known = lookupUser(name);
    if (known !== undefined) return known;
    try {
      await this.#run(USERADD, [
        "--system",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        "--user-group",
        "--comment",
        `Axon API ${apiName.slice(0, 60)}`,
        name,
      ]);
    } catch (error) {
      // Made meanwhile by another daemon of this machine: use it.
      const made = lookupUser(name);
      if (made !== undefined) return made;
      const why = error instanceof Error ? error.message.trim().split("\n").at(-1) : String(error);
      throw new Error(`cannot create the system user ${name} for API ${apiName}: ${why}`, {
        cause: error,
      });
    }
    const made = lookupUser(name);
    if (made === undefined) throw new Error(`useradd made no user ${name} in /etc/passwd`);
    return made;
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #readRecord(): Promise<GrantRecord> {
    try {
      const parsed: unknown = JSON.parse(await readFile(this.#recordFile, "utf8"));
      return parseGrantRecord(parsed);
    } catch {
      return {}; // absent or unreadable: every folder is opened again (idempotent)
    }
  }

  async #writeRecord(record: GrantRecord): Promise<void> {
    await writeFile(this.#recordFile, JSON.stringify(record), { mode: 0o600 });
  }
}

function parseGrantRecord(value: unknown): GrantRecord {
  const record: GrantRecord = {};
  if (typeof value !== "object" || value === null) return record;
  for (const [api, entry] of Object.entries(value)) {
    const e = entry as { user?: unknown; uid?: unknown; dirs?: unknown };
    if (typeof e.user !== "string" || typeof e.uid !== "number" || !Array.isArray(e.dirs)) continue;
    record[api] = {
      user: e.user,
      uid: e.uid,
      dirs: e.dirs.filter((d): d is string => typeof d === "string"),
    };
  }
  return record;
}

/**
 * Whether a folder still carries ACL entries: with them its group bits show the ACL's mask (r-x),
 * without them they are the daemon's umask's 0. A folder removed and made again since it was
 * opened (an environment built again after a clean-up) is opened again.
 */
function holdsAcl(dir: string): boolean {
  try {
    return (statSync(dir).mode & 0o070) !== 0;
  } catch {
    return false;
  }
}

/** The account named `name` in /etc/passwd (system users live there on Debian). */
export function lookupUser(name: string, passwd = "/etc/passwd"): HostUser | undefined {
  let text: string;
  try {
    text = readFileSync(passwd, "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const [user, , uid, gid] = line.split(":");
    if (user === name && uid !== undefined && gid !== undefined) {
      return { name, uid: Number(uid), gid: Number(gid) };
    }
  }
  return undefined;
}
