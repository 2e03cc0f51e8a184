/**
 * Project bundles, stored by the sha256 of their gzip'd tar bytes under `$AXON_HOME/bundles` and
 * unpacked once per hash under `$AXON_HOME/projects/<sha>`. Uploads are size-limited, verified
 * against the hash the client claims, and read through once (`archive-check.ts`: streamed, bounded
 * in expanded size and entries, every path and link resolved against the tree it will extract to)
 * before they are recorded; a bad one is refused at upload with a 400 naming the entry.
 *
 * Decisions recorded here:
 * - **A bundle is in use while any version of any API references it** — history included, since
 *   a rollback redeploys an old version — while a deploy holds it (`hold`: from the request until
 *   the version is recorded, however long the environment build), and for the grace period after
 *   its last upload, check, unpack or deploy. Only then are the archive, its unpacked project and
 *   its row removed, the row only if no version references it in that same statement.
 * - **Disk use is counted by the clean-up pass**, which walks the folders anyway, and adjusted by
 *   uploads and unpacks in between; `cluster info` reads that number and never walks the disk.
 */
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, existsSync, renameSync, statSync } from "node:fs";
import { chmod, lstat, mkdir, readFile, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import type { BundleDiskUse } from "../contract/index.js";
import { DomainError } from "../errors.js";
import type { StateStore } from "../state/store.js";
import {
  BUNDLE_TOO_LARGE,
  DEFAULT_ARCHIVE_LIMITS,
  extractArchive,
  inspectArchive,
  type ArchiveLimits,
} from "./archive-check.js";

/** Cortex v0.20 allowed 512 MiB projects; so do we. */
export const MAX_BUNDLE_BYTES = 512 * 1024 * 1024;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A bundle is named by something that is not a sha256 hex digest (400). */
export const BUNDLE_INVALID_HASH = "bundle.invalid_hash";

/** The uploaded bytes do not hash to the sha256 the client claimed (400). */
export const BUNDLE_HASH_MISMATCH = "bundle.hash_mismatch";

/** A bundle is asked for that was not uploaded (404). */
export const BUNDLE_NOT_FOUND = "bundle.not_found";
/** Leftovers of an upload or unpack cut short by a crash start with this. */
const TEMP_PREFIXES = [".upload-", ".unpack-", ".removing-"];

export interface BundleStoreOptions {
  /** Limits on what an archive may expand to (tests set them low). */
  limits?: ArchiveLimits;
  /** The clock, for the clean-up's grace period. */
  now?: () => number;
}

/** What a clean-up pass removed. */
export interface RemovedBundle {
  sha256: string;
  /** Bytes freed: the archive plus its unpacked project. */
  bytes: number;
}

export class BundleStore {
  readonly #bundlesDir: string;
  readonly #projectsDir: string;
  readonly #store: StateStore;
  readonly #limits: ArchiveLimits;
  readonly #now: () => number;
  readonly #unpacking = new Map<string, Promise<string>>();
  /** When each bundle was last uploaded, checked or unpacked by this process. */
  readonly #lastUsed = new Map<string, number>();
  /** Deploys in flight per bundle (`hold`): never collected while one runs. */
  readonly #held = new Map<string, number>();
  #diskUse: BundleDiskUse = { bundles: 0, bundleBytes: 0, projects: 0, projectBytes: 0 };
  #collecting: Promise<RemovedBundle[]> | undefined;

  constructor(home: string, store: StateStore, options: BundleStoreOptions = {}) {
    this.#bundlesDir = path.join(home, "bundles");
    this.#projectsDir = path.join(home, "projects");
    this.#store = store;
    this.#limits = options.limits ?? DEFAULT_ARCHIVE_LIMITS;
    this.#now = options.now ?? Date.now;
  }

  static assertSha(sha256: string): void {
    if (!SHA256_HEX.test(sha256)) {
      throw new DomainError(BUNDLE_INVALID_HASH, `"${sha256}" is not a sha256 hex digest`);
    }
  }

  has(sha256: string): boolean {
    const stored = this.#store.hasBundle(sha256) && existsSync(this.#archivePath(sha256));
    if (stored) this.#touch(sha256);
    return stored;
  }

  /** Disk taken by archives and unpacked projects, as of the last clean-up pass plus changes. */
  diskUse(): BundleDiskUse {
    return { ...this.#diskUse };
  }

  /**
   * Keeps a bundle from being collected while a deploy that uploaded it builds its environment
   * and before it records a version; the grace period starts again when released.
   */
  hold(sha256: string): () => void {
    this.#held.set(sha256, (this.#held.get(sha256) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#held.get(sha256) ?? 1) - 1;
      if (left > 0) this.#held.set(sha256, left);
      else this.#held.delete(sha256);
      this.#touch(sha256);
    };
  }

  /** The archive's bytes (to upload it to a cluster bucket); the caller holds it meanwhile. */
  async read(sha256: string): Promise<Uint8Array> {
    BundleStore.assertSha(sha256);
    this.#touch(sha256);
    return readFile(this.#archivePath(sha256));
  }

  #touch(sha256: string): void {
    this.#lastUsed.set(sha256, this.#now());
  }

  #archivePath(sha256: string): string {
    return path.join(this.#bundlesDir, `${sha256}.tar.gz`);
  }

  /** Streams an upload to disk, verifies its hash and contents, then records it. */
  async receive(sha256: string, body: Readable): Promise<{ sha256: string; bytes: number }> {
    BundleStore.assertSha(sha256);
    await mkdir(this.#bundlesDir, { recursive: true, mode: 0o700 });
    const temp = path.join(this.#bundlesDir, `.upload-${randomBytes(6).toString("hex")}`);
    const hash = createHash("sha256");
    let bytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        if (bytes > MAX_BUNDLE_BYTES) {
          callback(
            new DomainError(BUNDLE_TOO_LARGE, `the project bundle is larger than 512 MiB`, {
              status: 413,
              hint: "exclude data and model files with .axonignore and download them in __init__",
            }),
          );
          return;
        }
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, createWriteStream(temp, { mode: 0o600 }));
      const actual = hash.digest("hex");
      if (actual !== sha256) {
        throw new DomainError(
          BUNDLE_HASH_MISMATCH,
          `the uploaded bundle hashes to ${actual}, not ${sha256}`,
          { hint: "the upload was corrupted or cut short; run the deploy again" },
        );
      }
      await inspectArchive(temp, this.#limits);
      const fresh = !existsSync(this.#archivePath(sha256));
      await rename(temp, this.#archivePath(sha256));
      this.#store.addBundle(sha256, bytes);
      this.#touch(sha256);
      if (fresh) {
        this.#diskUse.bundles++;
        this.#diskUse.bundleBytes += bytes;
      }
      return { sha256, bytes };
    } finally {
      await rm(temp, { force: true });
    }
  }

  /** The unpacked project folder for a stored bundle (unpacking it atomically on first use). */
  unpack(sha256: string): Promise<string> {
    this.#touch(sha256);
    const existing = this.#unpacking.get(sha256);
    if (existing !== undefined) return existing;
    const promise = this.#unpackOnce(sha256).finally(() => this.#unpacking.delete(sha256));
    this.#unpacking.set(sha256, promise);
    return promise;
  }

  async #unpackOnce(sha256: string): Promise<string> {
    const target = path.join(this.#projectsDir, sha256);
    if (existsSync(target)) {
      // Unpacked by an older daemon with the archive's modes (0644): closed once, on first use.
      // Others' bits only: the group bits show the ACL mask of a folder opened to an API's host
      // user (host-users.ts), which a chmod here would reset, closing it to that user.
      if (((await stat(target)).mode & 0o007) !== 0) await restrictToOwner(target);
      return target;
    }
    if (!this.has(sha256)) {
      throw new DomainError(BUNDLE_NOT_FOUND, `bundle ${sha256} has not been uploaded`, {
        status: 404,
        hint: "PUT it to /v1/bundles/<sha256> first (the CLI does this for you)",
      });
    }
    await mkdir(this.#projectsDir, { recursive: true, mode: 0o700 });
    const temp = path.join(this.#projectsDir, `.unpack-${randomBytes(6).toString("hex")}`);
    await mkdir(temp, { mode: 0o700 });
    try {
      await extractArchive(this.#archivePath(sha256), temp, this.#limits);
      // The archive's modes say what is executable, not who may read: projects are the daemon's
      // alone (other users, and other APIs' sandboxed predictors, see none of them).
      await restrictToOwner(temp);
      await rename(temp, target);
    } catch (error) {
      // Retried: a write the failed extraction had queued may still land while this runs.
      await rm(temp, { recursive: true, force: true, maxRetries: 5 });
      if (existsSync(target)) return target;
      throw error;
    }
    this.#diskUse.projects++;
    this.#diskUse.projectBytes += await folderBytes(target);
    return target;
  }

  /**
   * Removes bundles no version references and nothing used within `graceMs`, their unpacked
   * projects, projects whose bundle is gone, and temp files a crash left; recounts disk use.
   * One pass at a time (a second call shares the running one).
   */
  collectGarbage(graceMs: number): Promise<RemovedBundle[]> {
    this.#collecting ??= this.#collect(graceMs).finally(() => (this.#collecting = undefined));
    return this.#collecting;
  }

  async #collect(graceMs: number): Promise<RemovedBundle[]> {
    const now = this.#now();
    const removed: RemovedBundle[] = [];
    for (const bundle of this.#store.listBundles()) {
      const archive = this.#archivePath(bundle.sha256);
      const project = path.join(this.#projectsDir, bundle.sha256);
      const info = await stat(archive).catch(() => undefined);
      const idle = (): boolean =>
        !this.#unpacking.has(bundle.sha256) &&
        !this.#held.has(bundle.sha256) &&
        now -
          Math.max(
            Date.parse(bundle.createdAt) || 0,
            info?.mtimeMs ?? 0,
            this.#lastUsed.get(bundle.sha256) ?? 0,
          ) >=
          graceMs;
      if (bundle.referenced || !idle()) continue;
      const bytes = (info?.size ?? 0) + (await folderBytes(project));
      // From the second check to the renames, no `await`: an upload, unpack or deploy of this
      // bundle either happened before (and keeps it) or finds it gone. The row goes only if no
      // version references it in that same statement.
      if (!idle() || !this.#store.deleteUnreferencedBundle(bundle.sha256)) continue;
      this.#lastUsed.delete(bundle.sha256);
      const trash = `.removing-${randomBytes(6).toString("hex")}`;
      moveAside(archive, path.join(this.#bundlesDir, trash));
      moveAside(project, path.join(this.#projectsDir, trash));
      await rm(path.join(this.#bundlesDir, trash), { force: true });
      await rm(path.join(this.#projectsDir, trash), { recursive: true, force: true });
      removed.push({ sha256: bundle.sha256, bytes });
    }
    const use: BundleDiskUse = { bundles: 0, bundleBytes: 0, projects: 0, projectBytes: 0 };
    for (const [dir, isArchive] of [
      [this.#bundlesDir, true],
      [this.#projectsDir, false],
    ] as const) {
      for (const name of await readdir(dir).catch(() => [])) {
        const full = path.join(dir, name);
        const info = await lstat(full).catch(() => undefined);
        if (info === undefined) continue;
        const sha = isArchive ? name.replace(/\.tar\.gz$/, "") : name;
        // A leftover of a crash, or a file whose bundle row is gone (removed by hand, or by an
        // older daemon): nothing can reach it any more.
        const temp = TEMP_PREFIXES.some((prefix) => name.startsWith(prefix));
        const unreachable = temp || (!this.#store.hasBundle(sha) && !this.#unpacking.has(sha));
        if (unreachable && now - info.mtimeMs >= graceMs) {
          await rm(full, { recursive: true, force: true });
          continue;
        }
        const bytes = info.isDirectory() ? await folderBytes(full) : info.size;
        if (isArchive) {
          use.bundles++;
          use.bundleBytes += bytes;
        } else {
          use.projects++;
          use.projectBytes += bytes;
        }
      }
    }
    this.#diskUse = use;
    return removed;
  }
}

/**
 * True when `rel` names an existing file inside `root` (never outside it); a path ending in `/`
 * asks for a folder, as the spec's `fileExists` contract says. The slash is read before
 * `path.resolve`, which drops it.
 */
export function projectHas(root: string, rel: string): boolean {
  const full = path.resolve(root, rel);
  if (full !== root && !full.startsWith(root + path.sep)) return false;
  const info = statSync(full, { throwIfNoEntry: false });
  return rel.endsWith("/") ? info?.isDirectory() === true : info?.isFile() === true;
}

function moveAside(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

/**
 * Folders 0700 and files 0600 (0700 when executable by their owner) under `dir`, `dir` last so
 * that a crash in between leaves it open to be closed again next time.
 */
async function restrictToOwner(dir: string): Promise<void> {
  const pending = [dir];
  const folders: string[] = [];
  while (pending.length > 0) {
    const current = pending.pop() ?? dir;
    folders.push(current);
    const entries = await readdir(current, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) pending.push(full);
      else if (entry.isFile()) {
        const mode = (await lstat(full)).mode;
        await chmod(full, mode & 0o100 ? 0o700 : 0o600);
      }
    }
  }
  for (const folder of folders.reverse()) await chmod(folder, 0o700);
}

/** Bytes of the regular files under `dir` (links not followed); 0 when it does not exist. */
async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop() ?? dir;
    const entries = await readdir(current, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) pending.push(full);
      else if (entry.isFile()) total += (await lstat(full).catch(() => undefined))?.size ?? 0;
    }
  }
  return total;
}
