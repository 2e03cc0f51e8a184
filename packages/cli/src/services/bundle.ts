/**
 * Packing a project folder into the gzip'd tar the daemon stores by content hash. The archive is
 * deterministic (sorted entries, fixed mtime, no owner, modes normalised to 0644/0755) so its
 * sha256 depends only on file names and contents: deploying an unchanged project uploads nothing.
 *
 * What is left out, as Cortex did: the config file itself (it travels in the deploy request, so
 * editing it alone does not change the code bundle), hidden files and folders except `.env`,
 * compiled Python (`*.pyc`, `*.pyo`, `*.pyd`, `__pycache__`), `node_modules`, and whatever
 * `.axonignore` / `.cortexignore` list (gitignore syntax). Axon's own state folder is left out too
 * when it lies inside the project (`AXON_HOME=./state`): it holds every earlier bundle, so packing
 * it would make each deploy larger than the last.
 */
import { createHash } from "node:crypto";
import { constants, existsSync, type Dirent, type Stats } from "node:fs";
import { access, readdir, readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import ignore, { type Ignore } from "ignore";
import { create } from "tar";
import { UserError } from "../errors.js";
import { formatBytes } from "../output.js";

/** Cortex v0.20 allowed 512 MiB projects, and so does the daemon. */
export const MAX_PROJECT_BYTES = 512 * 1024 * 1024;

/** Ignore files read from the project root, in this order. */
export const IGNORE_FILES = [".axonignore", ".cortexignore"] as const;

/** One file that goes into the bundle. */
export interface BundleFile {
  /** POSIX path relative to the project root. */
  path: string;
  bytes: number;
}

/** A packed project. */
export interface ProjectBundle {
  sha256: string;
  /** The gzip'd tar. */
  data: Buffer;
  files: BundleFile[];
  /** Sum of the files' sizes before compression. */
  contentBytes: number;
}

/** What to pack. */
export interface PackOptions {
  /** Project root. */
  dir: string;
  /** Project-relative paths left out on top of the ignore rules (the config file). */
  exclude?: string[];
  /** Folders (absolute paths) never packed even when inside the project: Axon's state folder. */
  skipDirs?: string[];
  maxBytes?: number;
}

/** Lists, checks and packs the project (or packs `options.files`, a listing made earlier). */
export async function packProject(
  options: PackOptions & { files?: BundleFile[] },
): Promise<ProjectBundle> {
  const files =
    options.files ??
    (await listProjectFiles(options.dir, options.exclude ?? [], options.skipDirs ?? []));
  const contentBytes = files.reduce((sum, file) => sum + file.bytes, 0);
  const maxBytes = options.maxBytes ?? MAX_PROJECT_BYTES;
  if (contentBytes > maxBytes) {
    const largest = [...files].sort((a, b) => b.bytes - a.bytes).slice(0, 5);
    throw new UserError(
      `the project in ${options.dir} is ${formatBytes(contentBytes)}, more than the ${formatBytes(maxBytes)} limit`,
      {
        hint: "list data and model files in .axonignore and download them in your predictor's __init__",
        nextSteps: largest.map((file) => `${file.path} (${formatBytes(file.bytes)})`),
      },
    );
  }
  const data = await createArchive(
    options.dir,
    files.map((file) => file.path),
  );
  return { sha256: createHash("sha256").update(data).digest("hex"), data, files, contentBytes };
}

/**
 * The files that would be packed, sorted by path, with the ignore rules applied.
 *
 * @throws UserError naming every file or folder that cannot be read (a permission problem is the
 *   user's to fix, or to list in .axonignore), and any symbolic link to a folder that holds the
 *   project (`ln -s / root` would pack the whole filesystem).
 */
export async function listProjectFiles(
  dir: string,
  exclude: string[] = [],
  skipDirs: string[] = [],
): Promise<BundleFile[]> {
  const rules = await loadIgnoreRules(dir);
  const excluded = new Set(exclude.map(toPosix));
  const files: BundleFile[] = [];
  const unreadable: { path: string; reason: string }[] = [];
  const root = await realpath(dir);
  // Real paths of folders already walked or never to walk: a folder counts as visited, so the
  // skipped ones are left out under any name a symbolic link gives them.
  const visited = new Set<string>([root]);
  for (const skipped of skipDirs) {
    const real = await realpath(skipped).catch(() => undefined);
    if (real !== undefined) visited.add(real);
  }

  const walk = async (relativeDir: string): Promise<void> => {
    const absoluteDir = path.join(dir, relativeDir);
    let entries: Dirent[];
    try {
      entries = await readdir(absoluteDir, { withFileTypes: true });
    } catch (error) {
      unreadable.push({ path: `${relativeDir}/`, reason: describeFsError(error) });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const relative = relativeDir === "" ? entry.name : `${relativeDir}/${entry.name}`;
      const absolute = path.join(absoluteDir, entry.name);
      // Symbolic links are followed: a linked model file is uploaded like any other file. A link
      // that leads nowhere (or in a loop) is left out, as before; one that cannot be read is not.
      let info: Stats | undefined;
      if (entry.isSymbolicLink()) {
        try {
          info = await stat(absolute);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code !== "ENOENT" && code !== "ELOOP" && code !== "ENOTDIR") {
            unreadable.push({ path: relative, reason: describeFsError(error) });
          }
          continue;
        }
      }
      const isDirectory = info?.isDirectory() ?? entry.isDirectory();
      const isFile = info?.isFile() ?? entry.isFile();
      if (!isDirectory && !isFile) continue;
      if (isBuiltInExcluded(entry.name, isDirectory)) continue;
      if (rules.ignores(isDirectory ? `${relative}/` : relative)) continue;
      if (isDirectory) {
        let real: string;
        try {
          real = await realpath(absolute);
        } catch (error) {
          unreadable.push({ path: `${relative}/`, reason: describeFsError(error) });
          continue;
        }
        if (visited.has(real)) continue;
        if (root.startsWith(real === path.sep ? real : real + path.sep)) {
          throw new UserError(
            `${relative} links to ${real}, a folder that holds the project: deploying would pack everything in it`,
            {
              hint: `remove the link, point it at a folder of its own, or list ${relative} in .axonignore`,
            },
          );
        }
        visited.add(real);
        await walk(relative);
        continue;
      }
      if (excluded.has(relative)) continue;
      try {
        await access(absolute, constants.R_OK);
        files.push({ path: relative, bytes: (info ?? (await stat(absolute))).size });
      } catch (error) {
        unreadable.push({ path: relative, reason: describeFsError(error) });
      }
    }
  };
  await walk("");
  if (unreadable.length > 0) throw unreadableError(dir, unreadable);
  return files;
}

/**
 * Why a project path (a file, or a folder when it ends in `/`) is left out of the upload, in a
 * phrase that completes "predictor.py is ..."; undefined when no rule leaves it out.
 */
export function explainExclusion(
  relative: string,
  rules: Ignore,
  exclude: string[] = [],
): string | undefined {
  const isDirectory = relative.endsWith("/");
  const segments = relative.replace(/\/+$/, "").split("/");
  for (const [index, name] of segments.entries()) {
    const folder = index < segments.length - 1 || isDirectory;
    if (!isBuiltInExcluded(name, folder)) continue;
    if (name.startsWith("."))
      return `left out: hidden files and folders (${name}) are not uploaded`;
    return `left out: ${folder ? `${name} folders are` : "compiled Python files are"} not uploaded`;
  }
  if (!isDirectory && exclude.map(toPosix).includes(relative)) {
    return "the config file itself, which is not uploaded";
  }
  const result = rules.test(relative);
  if (result.rule !== undefined) {
    return `excluded by ${result.rule.mark ?? "an ignore file"} (rule "${result.rule.pattern}")`;
  }
  return undefined;
}

function isBuiltInExcluded(name: string, isDirectory: boolean): boolean {
  if (name.startsWith(".") && name !== ".env") return true;
  if (isDirectory) return name === "__pycache__" || name === "node_modules";
  return /\.py[cod]$/.test(name);
}

/** The project's ignore rules; each remembers its file (`rule.mark`) so messages can name it. */
export async function loadIgnoreRules(dir: string): Promise<Ignore> {
  const rules = ignore();
  for (const name of IGNORE_FILES) {
    const file = path.join(dir, name);
    if (!existsSync(file)) continue;
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      throw new UserError(`cannot read ${file}: ${describeFsError(error)}`, {
        hint: `make it readable (\`chmod u+r ${name}\`) or remove it`,
        cause: error,
      });
    }
    rules.add(text.split(/\r?\n/).map((pattern) => ({ pattern, mark: name })));
  }
  return rules;
}

async function createArchive(dir: string, files: string[]): Promise<Buffer> {
  if (files.length === 0) {
    throw new UserError(`there are no files to deploy in ${dir}`, {
      hint: "check .axonignore / .cortexignore: they may exclude the predictor",
    });
  }
  const stream = create(
    {
      cwd: dir,
      gzip: true,
      portable: true,
      follow: true,
      noDirRecurse: true,
      strict: true,
      mtime: new Date(0),
      onWriteEntry: (entry) => {
        // Only "is it executable" survives, so a chmod g+w or a different umask does not change the hash.
        if (entry.stat !== undefined) {
          const executable = (entry.stat.mode & 0o111) !== 0;
          entry.stat.mode = (entry.stat.mode & ~0o7777) | (executable ? 0o755 : 0o644);
        }
      },
    },
    files,
  );
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  } catch (error) {
    // A file listed a moment ago and unreadable now (changed while packing): still the user's.
    const failed = (error as NodeJS.ErrnoException).path;
    if (typeof failed !== "string") throw error;
    throw unreadableError(dir, [
      { path: toPosix(path.relative(dir, failed)), reason: describeFsError(error) },
    ]);
  }
  return Buffer.concat(chunks);
}

function unreadableError(dir: string, paths: { path: string; reason: string }[]): UserError {
  const [first] = paths;
  const message =
    paths.length === 1 && first !== undefined
      ? `cannot read ${first.path} in the project ${dir} (${first.reason})`
      : `cannot read ${paths.length} files or folders in the project ${dir}`;
  return new UserError(message, {
    hint: "make them readable (e.g. `chmod -R u+rX <path>`), or list them in .axonignore so they are not uploaded",
    ...(paths.length === 1
      ? {}
      : { nextSteps: paths.map((entry) => `${entry.path} (${entry.reason})`) }),
  });
}

/** `permission denied` for EACCES and the like; the message otherwise. */
function describeFsError(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "ELOOP") return "too many levels of symbolic links";
  return code ?? message;
}

function toPosix(p: string): string {
  return p.split(path.sep).join("/");
}
