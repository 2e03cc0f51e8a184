/**
 * Reading an uploaded project archive without trusting it: decompressed as a stream on zlib's
 * thread pool (never one synchronous whole-archive inflate on the event loop), bounded in expanded
 * bytes and entries as it goes, and every path and link resolved the way the real extraction will
 * resolve it.
 *
 * Decisions recorded here:
 * - **Links are resolved against a model of the extracted tree, not against a fake root path.**
 *   Each entry is placed in an in-memory tree as the extraction would place it; a path or link
 *   target is walked component by component through that tree (the whole archive's, so a link
 *   stored later counts) and refused the moment the walk leaves the project or meets a link.
 *   String prefix checks against a made-up root are what a chain of inside-looking links
 *   (`a/s → ..`, `a/s/t → ..`) or an absolute target starting with that root got through.
 * - **Nothing is written through a symbolic link, and no link points through one**, and link
 *   targets are relative: a real project archive stores a link, not what is behind it, and an
 *   absolute target means another machine's layout. With no link on the way, where a path leads
 *   on disk is where it leads lexically, so "inside" is decided exactly.
 * - **A hard link must name a regular file stored earlier in the same archive** (that is all tar
 *   ever writes), reached without leaving the project.
 * - **Limits are checked from each header first** (the declared size), so a bomb made of one huge
 *   entry is refused before its body is inflated; the inflated byte count is the backstop.
 */
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { createGunzip } from "node:zlib";
import { once } from "node:events";
import { Parser, Unpack, type ReadEntry } from "tar";
import { DomainError } from "../errors.js";

/** The bundle is larger than a limit allows, packed or expanded (413). */
export const BUNDLE_TOO_LARGE = "bundle.too_large";

/** The bundle is not a gzip'd tar archive (400). */
export const BUNDLE_INVALID = "bundle.invalid";

/** The bundle has entries whose path or link leaves the project (400). */
export const BUNDLE_UNSAFE = "bundle.unsafe";

export interface ArchiveLimits {
  /** The most bytes the archive may inflate to (tar headers and padding included). */
  maxExpandedBytes: number;
  /** The most entries (files, folders, links) it may hold. */
  maxEntries: number;
}

/** 4 GiB inflated, 100,000 entries: far above a predictor project, far below a full disk. */
export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxExpandedBytes: 4 * 1024 * 1024 * 1024,
  maxEntries: 100_000,
};

export interface ArchiveSummary {
  entries: number;
  /** Bytes of file content the archive holds (what the unpacked project takes, roughly). */
  contentBytes: number;
}

/** Regular files and folders need no link checks. */
const FILE_TYPES = new Set<string>(["File", "OldFile", "ContiguousFile"]);
/** At most this many problems are listed in one error. */
const MAX_PROBLEMS_SHOWN = 5;

type TreeNode = { kind: "dir" } | { kind: "file" } | { kind: "symlink"; target: string };

/** Human size: `4 GiB`, `512 KiB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/**
 * The project tree an archive will extract to, entry by entry, with the rules above. `add` returns
 * a problem naming the entry, or undefined; `finish` checks every symbolic link against the
 * final tree (a link may point through a link stored after it).
 */
class ExtractedTree {
  readonly #nodes = new Map<string, TreeNode>([["", { kind: "dir" }]]);

  add(entry: { path: string; type: string; linkpath?: string | undefined }): string | undefined {
    const parts = splitRelative(entry.path);
    if (parts === undefined) {
      return `${entry.path}: paths must be relative and stay inside the project`;
    }
    if (parts.length === 0) return undefined; // "./": the project folder itself
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join("/");
      const node = this.#nodes.get(parent);
      if (node?.kind === "symlink") {
        return `${entry.path}: is written through the symbolic link ${parent}`;
      }
      if (node?.kind === "file") return `${entry.path}: its parent ${parent} is a file`;
    }
    const key = parts.join("/");
    if (entry.type === "Directory") {
      this.#nodes.set(key, { kind: "dir" });
    } else if (FILE_TYPES.has(entry.type)) {
      this.#nodes.set(key, { kind: "file" });
    } else if (entry.type === "SymbolicLink") {
      const target = entry.linkpath ?? "";
      if (target === "" || isAbsolute(target)) {
        return `${entry.path}: symbolic link target "${target}" must be a relative path inside the project`;
      }
      this.#nodes.set(key, { kind: "symlink", target });
    } else if (entry.type === "Link") {
      const target = entry.linkpath ?? "";
      const resolved = isAbsolute(target)
        ? { problem: "points outside the project" }
        : this.#resolve([], target.split(/[\\/]/));
      if (typeof resolved !== "string")
        return `${entry.path}: hard link ${resolved.problem} (${target})`;
      if (this.#nodes.get(resolved)?.kind !== "file") {
        return `${entry.path}: hard link names no file stored before it (${target})`;
      }
      this.#nodes.set(key, { kind: "file" });
    } else {
      return `${entry.path}: entries of type ${entry.type} are not allowed`;
    }
    return undefined;
  }

  /** Problems with symbolic links, each checked against the whole tree. */
  finish(): string[] {
    const problems: string[] = [];
    for (const [key, node] of this.#nodes) {
      if (node.kind !== "symlink") continue;
      const resolved = this.#resolve(key.split("/").slice(0, -1), node.target.split(/[\\/]/));
      if (typeof resolved !== "string") {
        problems.push(`${key}: symbolic link ${resolved.problem} (${node.target})`);
      }
    }
    return problems;
  }

  /**
   * Walks `rest` from the folder `from`; the path it names, or why not: it leaves the project, or
   * passes through (or ends at) a symbolic link of the archive. With no link on the way the
   * kernel's walk is the lexical one, so a path inside here is inside on disk — and tar's own
   * extraction refuses a link through a link, which this keeps from surfacing only at deploy.
   */
  #resolve(from: string[], rest: string[]): string | { problem: string } {
    const stack = [...from];
    for (const part of rest) {
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (stack.length === 0) return { problem: "points outside the project" };
        stack.pop();
        continue;
      }
      stack.push(part);
      const key = stack.join("/");
      if (this.#nodes.get(key)?.kind === "symlink") {
        return { problem: `points through the symbolic link ${key}` };
      }
    }
    return stack.join("/");
  }
}

function isAbsolute(p: string): boolean {
  return p.startsWith("/") || p.startsWith("\\") || /^[A-Za-z]:/.test(p);
}

/** An entry name's components, or undefined when it is absolute or climbs with `..`. */
function splitRelative(name: string): string[] | undefined {
  if (isAbsolute(name)) return undefined;
  const parts = name.split(/[\\/]/).filter((p) => p !== "" && p !== ".");
  return parts.includes("..") ? undefined : parts;
}

/**
 * Streams `file` (gzip'd tar) through zlib into `parser`, enforcing the limit on the inflated
 * bytes; rejects with the first error of the read, the inflate, the parser or the limit.
 */
async function feedArchive(
  file: string,
  parser: Parser,
  limits: ArchiveLimits,
  tooLarge: (what: string) => DomainError,
): Promise<void> {
  const source = createReadStream(file);
  // 256 KiB chunks, not zlib's default 16 KiB: inflating 4 GiB took 16 s at 16 KiB (one thread
  // pool round trip per chunk), 5.5 s at 256 KiB, with each chunk still a short synchronous step.
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  const failed = new Promise<never>((_resolve, reject) => {
    parser.on("error", reject);
    source.on("error", reject);
  });
  // Not `once(parser, "close")`: that would also reject on "error", with nobody awaiting it yet.
  const closed = new Promise<void>((resolve) => parser.on("close", () => resolve()));
  const feed = async (): Promise<void> => {
    let inflated = 0;
    // A plain tar (no gzip magic) is read as it is, as tar itself would.
    const plain = !(await startsWithGzipMagic(file));
    for await (const chunk of (plain ? source : source.pipe(gunzip)) as AsyncIterable<Buffer>) {
      inflated += chunk.length;
      if (inflated > limits.maxExpandedBytes) {
        throw tooLarge(`expands to more than ${formatBytes(limits.maxExpandedBytes)}`);
      }
      if (!parser.write(chunk)) await Promise.race([once(parser, "drain"), failed]);
    }
    parser.end();
    await closed;
  };
  try {
    await Promise.race([feed(), failed]);
  } catch (error) {
    source.destroy();
    gunzip.destroy();
    parser.removeAllListeners("error");
    parser.on("error", () => {});
    parser.abort(new Error("stopped reading the archive"));
    throw error;
  }
}

async function startsWithGzipMagic(file: string): Promise<boolean> {
  const handle = await open(file, "r");
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

function tooLargeError(what: string): DomainError {
  return new DomainError(BUNDLE_TOO_LARGE, `the project bundle ${what}`, {
    status: 413,
    hint: "exclude data and model files with .axonignore and download them in __init__",
  });
}

/** Counts entries and declared bytes per header, throwing once a limit is crossed. */
function entryMeter(limits: ArchiveLimits): (entry: ReadEntry) => void {
  let entries = 0;
  let declared = 0;
  return (entry) => {
    entries++;
    declared += entry.size;
    if (entries > limits.maxEntries) {
      throw tooLargeError(`holds more than ${limits.maxEntries.toLocaleString("en-US")} entries`);
    }
    if (declared > limits.maxExpandedBytes) {
      throw tooLargeError(
        `expands to more than ${formatBytes(limits.maxExpandedBytes)} (at ${entry.path})`,
      );
    }
  };
}

/**
 * Reads a whole archive and refuses it (a DomainError naming the entries) when it is not a gzip'd
 * tar, crosses a limit, or holds an entry the rules above refuse.
 */
export async function inspectArchive(file: string, limits: ArchiveLimits): Promise<ArchiveSummary> {
  const tree = new ExtractedTree();
  const problems: string[] = [];
  const meter = entryMeter(limits);
  let limitError: DomainError | undefined;
  let entries = 0;
  let contentBytes = 0;
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry) => {
      entry.resume();
      if (limitError !== undefined) return;
      try {
        meter(entry);
      } catch (error) {
        limitError = error as DomainError;
        parser.abort(limitError);
        return;
      }
      entries++;
      contentBytes += entry.size;
      const problem = tree.add(entry);
      if (problem !== undefined) problems.push(problem);
    },
  });
  try {
    await feedArchive(file, parser, limits, tooLargeError);
  } catch (error) {
    if (limitError !== undefined) throw limitError;
    if (error instanceof DomainError) throw error;
    throw new DomainError(BUNDLE_INVALID, "the project bundle is not a valid gzip'd tar archive", {
      cause: error,
      hint: "upload the output of `tar -czf` of the project folder (the CLI does this for you)",
    });
  }
  if (limitError !== undefined) throw limitError;
  problems.push(...tree.finish());
  if (problems.length > 0) {
    const more =
      problems.length > MAX_PROBLEMS_SHOWN
        ? ` (and ${problems.length - MAX_PROBLEMS_SHOWN} more)`
        : "";
    throw new DomainError(
      BUNDLE_UNSAFE,
      `the project bundle has unsafe entries: ${problems.slice(0, MAX_PROBLEMS_SHOWN).join("; ")}${more}`,
      {
        hint: "pack the project folder itself, without links that leave it (the CLI does this for you)",
      },
    );
  }
  return { entries, contentBytes };
}

/**
 * Extracts an archive `inspectArchive` accepted into `dir`, streaming and with the same limits
 * (a bundle stored by an older daemon was never inspected).
 */
export async function extractArchive(
  file: string,
  dir: string,
  limits: ArchiveLimits,
): Promise<void> {
  const meter = entryMeter(limits);
  const unpack = new Unpack({
    cwd: dir,
    strict: true,
    preservePaths: false,
    filter: (_path, entry) => {
      meter(entry as ReadEntry);
      return true;
    },
  });
  await feedArchive(file, unpack, limits, tooLargeError);
}
