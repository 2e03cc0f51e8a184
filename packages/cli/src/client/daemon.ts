/**
 * Finding the local control plane: `$AXON_HOME/daemon.json` says where it listens, `$AXON_HOME/token`
 * holds the bearer token, and `GET /v1/health` proves it is alive (a record left behind by a killed
 * daemon is ignored).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import {
  DAEMON_LOG_FILE,
  DAEMON_RECORD_FILE,
  TOKEN_FILE,
  type DaemonRecord,
  type HealthResponse,
} from "@axon/control-plane/api";
import { UserError } from "../errors.js";
import { ApiClient } from "./api-client.js";

export { DAEMON_LOG_FILE };

/** A live daemon and a client authenticated to it. */
export interface DaemonConnection {
  home: string;
  record: DaemonRecord;
  health: HealthResponse;
  client: ApiClient;
}

/** The hint every command gives when no daemon is running. */
export const START_CLUSTER_HINT = "run `axon cluster up` (or `axon deploy`, which starts it)";

/** Reads `daemon.json` under `home`; undefined when absent or unreadable. */
export async function readDaemonRecord(home: string): Promise<DaemonRecord | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(home, DAEMON_RECORD_FILE), "utf8");
  } catch {
    return undefined;
  }
  try {
    const value = JSON.parse(text) as Partial<DaemonRecord>;
    if (typeof value.apiUrl !== "string" || typeof value.pid !== "number") return undefined;
    return value as DaemonRecord;
  } catch {
    // A half-written or corrupt record is the same as none: the daemon rewrites it on start.
    return undefined;
  }
}

/** The live daemon for `home`, or undefined when none answers its health probe. */
export async function findDaemon(
  home: string,
  signal: AbortSignal,
): Promise<DaemonConnection | undefined> {
  const record = await readDaemonRecord(home);
  if (record === undefined) return undefined;
  const probe = new ApiClient({ baseUrl: record.apiUrl, token: "", signal });
  let health: HealthResponse;
  try {
    health = await probe.health();
  } catch (error) {
    if (signal.aborted) throw error;
    return undefined;
  }
  if (health.ok !== true) return undefined;
  const token = await readToken(home);
  return { home, record, health, client: new ApiClient({ baseUrl: record.apiUrl, token, signal }) };
}

/** The live daemon for `home`, or a UserError telling the user how to start one. */
export async function requireDaemon(home: string, signal: AbortSignal): Promise<DaemonConnection> {
  const connection = await findDaemon(home, signal);
  if (connection === undefined) throw notRunning();
  return connection;
}

/**
 * A client for the daemon `home`'s record names, without `findDaemon`'s health round trip: for a
 * one-shot read (`axon get`), whose own request is the proof that the daemon answers. A record whose
 * process is gone (a killed daemon's) still means "not running"; one whose daemon does not answer
 * refuses that request, which `notRunningWhenRefused` reports as "not running" as well. On a busy
 * machine each round trip waits for the daemon to be scheduled, and `axon get` is the command
 * scripts poll.
 */
export async function requireRecordedDaemon(home: string, signal: AbortSignal): Promise<ApiClient> {
  const record = await readDaemonRecord(home);
  if (record === undefined || !isProcessAlive(record.pid)) throw notRunning();
  const token = await readToken(home);
  return new ApiClient({ baseUrl: record.apiUrl, token, signal });
}

/**
 * `request`, whose refused connection (nothing listens where the record says: the daemon is gone or
 * not yet listening) is the "not running" error `requireDaemon` gives, not a network error.
 */
export async function notRunningWhenRefused<T>(request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (error) {
    const cause: unknown = error instanceof UserError ? error.cause : undefined;
    if (typeof cause === "object" && cause !== null && "code" in cause) {
      if (cause.code === "ECONNREFUSED") throw notRunning();
    }
    throw error;
  }
}

function notRunning(): UserError {
  return new UserError("the local cluster is not running", { hint: START_CLUSTER_HINT });
}

/** True while a process with this id exists (signal 0 checks without signalling). */
function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readToken(home: string): Promise<string> {
  const file = path.join(home, TOKEN_FILE);
  try {
    return (await readFile(file, "utf8")).trim();
  } catch (error) {
    throw new UserError(`cannot read the control plane's token at ${file}`, {
      hint: "the daemon writes it when it starts; restart it with `axon cluster down` then `axon cluster up`",
      cause: error,
    });
  }
}
