/**
 * Project bundles, stored by the sha256 of their gzip'd tar bytes under `$AXON_HOME/bundles` and
 * unpacked once per hash under `$AXON_HOME/projects/<sha>`. Uploads are size-limited, verified
 * against the hash the client claims, and checked entry by entry before anything is unpacked: no
 * absolute paths, no `..`, no links that point outside the project, no device files.
 */
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, existsSync, statSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import { extract, list } from "tar";
import { DomainError } from "../errors.js";
import type { StateStore } from "../state/store.js";

/** Cortex v0.20 allowed 512 MiB projects; so do we. */
export const MAX_BUNDLE_BYTES = 512 * 1024 * 1024;
const SHA256_HEX = /^[0-9a-f]{64}$/;

export class BundleStore {
  readonly #bundlesDir: string;
  readonly #projectsDir: string;
  readonly #store: StateStore;
  readonly #unpacking = new Map<string, Promise<string>>();

  constructor(home: string, store: StateStore) {
    this.#bundlesDir = path.join(home, "bundles");
    this.#projectsDir = path.join(home, "projects");
    this.#store = store;
  }

  static assertSha(sha256: string): void {
    if (!SHA256_HEX.test(sha256)) {
      throw new DomainError("bundle.invalid_hash", `"${sha256}" is not a sha256 hex digest`);
    }
  }

  has(sha256: string): boolean {
    return this.#store.hasBundle(sha256) && existsSync(this.#archivePath(sha256));
  }

  #archivePath(sha256: string): string {
    return path.join(this.#bundlesDir, `${sha256}.tar.gz`);
  }

  /** Streams an upload to disk, verifies its hash and contents, then records it. */
  async receive(sha256: string, body: Readable): Promise<{ sha256: string; bytes: number }> {
    BundleStore.assertSha(sha256);
    await mkdir(this.#bundlesDir, { recursive: true });
    const temp = path.join(this.#bundlesDir, `.upload-${randomBytes(6).toString("hex")}`);
    const hash = createHash("sha256");
    let bytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        if (bytes > MAX_BUNDLE_BYTES) {
          callback(
            new DomainError("bundle.too_large", `the project bundle is larger than 512 MiB`, {
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
          "bundle.hash_mismatch",
          `the uploaded bundle hashes to ${actual}, not ${sha256}`,
          { hint: "the upload was corrupted or cut short; run the deploy again" },
        );
      }
      await assertSafeArchive(temp);
      await rename(temp, this.#archivePath(sha256));
      this.#store.addBundle(sha256, bytes);
      return { sha256, bytes };
    } finally {
      await rm(temp, { force: true });
    }
  }

  /** The unpacked project folder for a stored bundle (unpacking it atomically on first use). */
  unpack(sha256: string): Promise<string> {
    const existing = this.#unpacking.get(sha256);
    if (existing !== undefined) return existing;
    const promise = this.#unpackOnce(sha256).finally(() => this.#unpacking.delete(sha256));
    this.#unpacking.set(sha256, promise);
    return promise;
  }

  async #unpackOnce(sha256: string): Promise<string> {
    const target = path.join(this.#projectsDir, sha256);
    if (existsSync(target)) return target;
    if (!this.has(sha256)) {
      throw new DomainError("bundle.not_found", `bundle ${sha256} has not been uploaded`, {
        status: 404,
        hint: "PUT it to /v1/bundles/<sha256> first (the CLI does this for you)",
      });
    }
    await mkdir(this.#projectsDir, { recursive: true });
    const temp = path.join(this.#projectsDir, `.unpack-${randomBytes(6).toString("hex")}`);
    await mkdir(temp);
    try {
      await extract({
        file: this.#archivePath(sha256),
        cwd: temp,
        strict: true,
        preservePaths: false,
      });
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      if (existsSync(target)) return target;
      throw error;
    }
    return target;
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

/** Regular files and folders (and the pax/GNU headers that describe them) need no checks. */
const PLAIN_ENTRY_TYPES = new Set<string>(["File", "OldFile", "ContiguousFile", "Directory"]);

async function assertSafeArchive(file: string): Promise<void> {
  const problems: string[] = [];
  const root = path.resolve("/bundle-root");
  const inside = (p: string): boolean => p === root || p.startsWith(root + path.sep);
  try {
    await list({
      file,
      strict: true,
      onReadEntry: (entry) => {
        const name = entry.path;
        const resolved = path.resolve(root, name);
        if (path.isAbsolute(name) || name.split(/[\\/]/).includes("..") || !inside(resolved)) {
          problems.push(`${name}: paths must be relative and stay inside the project`);
          return;
        }
        const type = entry.type;
        if (PLAIN_ENTRY_TYPES.has(type)) return;
        if (type === "SymbolicLink") {
          const target = path.resolve(path.dirname(resolved), entry.linkpath ?? "");
          if (!inside(target)) problems.push(`${name}: symbolic link points outside the project`);
        } else if (type === "Link") {
          const target = path.resolve(root, entry.linkpath ?? "");
          if (!inside(target)) problems.push(`${name}: hard link points outside the project`);
        } else {
          problems.push(`${name}: entries of type ${type} are not allowed`);
        }
      },
    });
  } catch (error) {
    throw new DomainError(
      "bundle.invalid",
      "the project bundle is not a valid gzip'd tar archive",
      {
        cause: error,
        hint: "upload the output of `tar -czf` of the project folder (the CLI does this for you)",
      },
    );
  }
  if (problems.length > 0) {
    throw new DomainError(
      "bundle.unsafe",
      `the project bundle has unsafe entries: ${problems.slice(0, 5).join("; ")}`,
    );
  }
}
