/**
 * Whether pip's package index can be reached, asked once before `pip install` runs. Offline,
 * pip retries an index it cannot resolve 5 times with backoff (9 s for one requirement, more per
 * dependency) before its clear "No matching distribution" error; when the index's host does not
 * resolve at all, no retry can help, so the build passes `--retries 0` and says why. A host that
 * resolves keeps pip's own retries, which are there for flaky networks.
 *
 * Only the host's name is looked up (no connection is opened), bounded by a short timeout so a
 * slow resolver costs at most that. The user's own settings win: PIP_NO_INDEX (nothing to
 * reach), PIP_RETRIES (their choice) leave pip's arguments alone.
 */
import { lookup } from "node:dns/promises";

/** Longest the DNS lookup may take before the index is taken as reachable (pip then decides). */
export const INDEX_LOOKUP_TIMEOUT_MS = 2_000;

/** pip's default index, when neither PIP_INDEX_URL nor a flag names another. */
const DEFAULT_INDEX_URL = "https://pypi.org/simple";

export interface PackageIndexCheck {
  /** The index's host name (`pypi.org`). */
  host: string;
  /** Extra `pip install` arguments: `--retries 0` when the host does not resolve, else none. */
  pipArgs: string[];
  /** Why those arguments, for the build's output and its error's hint; undefined when none. */
  note: string | undefined;
}

/** Resolves a host name; rejects when it cannot (the `dns.lookup` contract). */
export type HostLookup = (host: string) => Promise<unknown>;

/**
 * Checks the index pip will use (PIP_INDEX_URL, else PyPI) from `env`. Never rejects: a lookup
 * that fails for any reason other than "no such host" leaves pip as it is.
 */
export async function checkPackageIndex(
  env: NodeJS.ProcessEnv,
  resolve: HostLookup = (host) => lookup(host),
): Promise<PackageIndexCheck | undefined> {
  if (isTrue(env["PIP_NO_INDEX"]) || env["PIP_RETRIES"] !== undefined) return undefined;
  let host: string;
  try {
    host = new URL(env["PIP_INDEX_URL"] ?? DEFAULT_INDEX_URL).hostname;
  } catch {
    return undefined; // pip reports a malformed index URL itself
  }
  if (host === "") return undefined; // file:// index: nothing to resolve
  const outcome = await Promise.race([
    resolve(host).then(
      () => "resolves" as const,
      (error: NodeJS.ErrnoException) =>
        error.code === "ENOTFOUND" || error.code === "EAI_AGAIN"
          ? ("unknown" as const)
          : ("other" as const),
    ),
    new Promise<"timeout">((done) =>
      setTimeout(() => done("timeout"), INDEX_LOOKUP_TIMEOUT_MS).unref(),
    ),
  ]);
  if (outcome !== "unknown") return { host, pipArgs: [], note: undefined };
  return {
    host,
    pipArgs: ["--retries", "0"],
    note:
      `the package index ${host} does not resolve from this machine (offline?): pip tries it once, ` +
      "without retries, and installs from the local sources it is configured with (PIP_FIND_LINKS, file:// indexes)",
  };
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && !["", "0", "false", "no", "off"].includes(value.toLowerCase());
}
