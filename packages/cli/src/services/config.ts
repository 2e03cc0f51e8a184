/**
 * Finding and checking an API config on the user's machine. Validation is the same `@axon/config`
 * code the daemon runs, with the predictor paths checked against the files `axon deploy` would
 * upload (the daemon sees nothing else), so a config that passes here only fails there for reasons
 * that need the daemon (an endpoint another API already uses).
 */
import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import {
  ConfigError,
  decodeConfigBytes,
  findConfigFile,
  parseApiConfig,
  type ApiSpec,
  type ParsedApiConfig,
} from "@axon/config";
import { MAX_REQUEST_BYTES, type Diagnostic } from "@axon/control-plane/api";
import { UserError } from "../errors.js";
import { formatBytes } from "../output.js";
import { explainExclusion, listProjectFiles, loadIgnoreRules, type BundleFile } from "./bundle.js";
import { checkProjectPythonSyntax, type PythonSyntaxResult } from "./python-syntax.js";

/** A config file and the project folder it describes (the folder that holds it). */
export interface LocatedConfig {
  /** Absolute path of the config file. */
  file: string;
  /** Absolute path of the project root. */
  dir: string;
  /** The file's name, as diagnostics and the daemon show it (e.g. `axon.yaml`). */
  fileName: string;
}

/** A config that passed validation. */
export interface ValidatedConfig extends LocatedConfig {
  /** The YAML text as the user wrote it (what `POST /v1/deploy` sends). */
  text: string;
  apis: ApiSpec[];
  /** The config's TrafficSplitter names, in file order. */
  splitters: string[];
  /** The config's BatchAPI names, in file order. */
  batchApis: string[];
  /** Old Cortex spellings that were mapped, to show as warnings. */
  deprecations: Diagnostic[];
  /** The project files `axon deploy` uploads (what the paths were checked against). */
  files: BundleFile[];
  /** Whether the project's Python files compiled (a syntax error throws instead), or why not checked. */
  pythonSyntax: PythonSyntaxResult;
}

/**
 * Resolves `[config-or-dir]`: a file is used as is; a folder (or the working directory when no
 * argument is given) is searched for axon.yaml, axon.yml, cortex.yaml, cortex.yml.
 */
export function locateConfig(argument: string | undefined, cwd: string): LocatedConfig {
  const target = path.resolve(cwd, argument ?? ".");
  if (!existsSync(target)) {
    throw new UserError(`${argument ?? target} does not exist`, {
      hint: "pass the path of an axon.yaml (or cortex.yaml), or of the folder that holds it",
    });
  }
  if (statSync(target).isDirectory()) {
    const found = findConfigFile(target);
    if (found === undefined) {
      throw new UserError(`no axon.yaml or cortex.yaml in ${target}`, {
        hint: "run the command in your project folder, or pass the path of its config file",
      });
    }
    const file = path.resolve(target, found);
    return { file, dir: path.dirname(file), fileName: path.basename(file) };
  }
  return { file: target, dir: path.dirname(target), fileName: path.basename(target) };
}

/** What validation needs to know beyond the config: what `axon deploy` would upload. */
export interface ValidateConfigOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** Folders never uploaded even inside the project (Axon's state folder). */
  skipDirs?: string[];
}

/**
 * Reads and validates a config, checking that every `predictor.path` (a file) and
 * `predictor.python_path` (a folder) exists in the project *as it will be uploaded*: a file left
 * out by `.axonignore` is as missing to the daemon as one that was never written.
 *
 * @throws UserError listing every diagnostic when the config is invalid, or when the project
 *   cannot be deployed at all (the home folder, unreadable files).
 */
export async function validateConfig(
  located: LocatedConfig,
  options: ValidateConfigOptions,
): Promise<ValidatedConfig> {
  const text = await readConfigText(located);
  assertDeployableRoot(located.dir, options.env);
  const exclude = [located.fileName];
  const files = await listProjectFiles(located.dir, exclude, options.skipDirs ?? []);
  const rules = await loadIgnoreRules(located.dir);
  const uploaded = new Set(files.map((file) => file.path));
  // Paths the config names that exist on disk but are not uploaded, and why.
  const leftOut = new Map<string, string>();
  const fileExists = (relative: string): boolean => {
    if (!projectHas(located.dir, relative)) return false;
    const isFolder = relative.endsWith("/");
    const inBundle = isFolder
      ? files.some((file) => file.path.startsWith(relative))
      : uploaded.has(relative);
    if (!inBundle) {
      leftOut.set(
        relative,
        explainExclusion(relative, rules, exclude) ??
          (isFolder
            ? "empty once the ignore rules are applied, so it is not uploaded"
            : "not among the files that would be uploaded"),
      );
    }
    // Reported below with the reason, instead of the spec's "does not exist".
    return true;
  };

  let parsed: ParsedApiConfig | undefined;
  let configError: ConfigError | undefined;
  try {
    parsed = parseApiConfig(text, located.fileName, {
      fileExists,
      projectFiles: files.map((file) => file.path),
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    configError = error;
  }
  const exclusions = describeLeftOut(located.fileName, leftOut, parsed?.apis);
  if (parsed !== undefined && exclusions.length === 0) {
    // Only a config that holds is worth compiling against: its predictor paths are known.
    const pythonSyntax = await checkProjectPythonSyntax({
      dir: located.dir,
      apis: parsed.apis,
      files,
      env: options.env,
    });
    const { apis, deprecations } = parsed;
    const splitters = parsed.splitters.map((splitter) => splitter.name);
    const batchApis = parsed.batchApis.map((api) => api.name);
    return { ...located, text, apis, splitters, batchApis, deprecations, files, pythonSyntax };
  }
  const all = [...(configError?.diagnostics ?? []), ...exclusions];
  const count = all.length;
  throw new UserError(
    `${located.fileName} is not a valid API configuration (${count} ${count === 1 ? "problem" : "problems"})`,
    {
      diagnostics: all,
      hint:
        exclusions.length > 0
          ? "the daemon only sees uploaded files: change .axonignore / .cortexignore so these are uploaded"
          : "fix the fields listed and run the command again",
      cause: configError,
    },
  );
}

/**
 * Room left in a deploy request besides the config text (the request's other fields, JSON
 * escaping of an ordinary config's quotes and newlines is measured exactly below).
 */
const DEPLOY_REQUEST_OVERHEAD_BYTES = 64 * 1024;

/**
 * The config's text, refused before reading when it cannot fit in a deploy request (the daemon
 * reads at most MAX_REQUEST_BYTES; the deploy would otherwise die mid-upload), and refused when
 * it is not UTF-8 (naming the line) instead of having characters silently replaced.
 */
async function readConfigText(located: LocatedConfig): Promise<string> {
  const limit = MAX_REQUEST_BYTES - DEPLOY_REQUEST_OVERHEAD_BYTES;
  const tooLarge = (bytes: number): UserError =>
    new UserError(
      `${located.fileName} is ${formatBytes(bytes)}; a config must fit in the control plane's ${formatBytes(MAX_REQUEST_BYTES)} request limit`,
      {
        hint: "keep data out of the config: put large values in a file of the project and read it in the predictor's __init__",
      },
    );
  const size = statSync(located.file, { throwIfNoEntry: false })?.size ?? 0;
  if (size > limit) throw tooLarge(size);
  let bytes: Buffer;
  try {
    bytes = await readFile(located.file);
  } catch (error) {
    throw new UserError(`cannot read ${located.file}`, { cause: error });
  }
  let text: string;
  try {
    text = decodeConfigBytes(bytes, located.fileName);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new UserError(`${located.fileName} is not UTF-8 text`, {
      diagnostics: error.diagnostics,
      hint: "save the file with UTF-8 encoding (most editors: File → Save with Encoding)",
      cause: error,
    });
  }
  // Escaped for JSON, a config full of quotes, backslashes or control characters grows.
  const encoded = Buffer.byteLength(JSON.stringify(text));
  if (encoded > limit) throw tooLarge(encoded);
  return text;
}

/**
 * One diagnostic per config path that exists but is not uploaded. With the parsed APIs it names
 * the field of each API that points there; without them (the config has other problems too) the
 * field is named without its API.
 */
function describeLeftOut(
  fileName: string,
  leftOut: Map<string, string>,
  apis: ApiSpec[] | undefined,
): Diagnostic[] {
  const describe = (relative: string, reason: string): string =>
    relative.endsWith("/")
      ? `folder ${relative.slice(0, -1)} is ${reason}`
      : `file ${relative} is ${reason}`;
  if (apis === undefined) {
    return [...leftOut].map(([relative, reason]) => ({
      file: fileName,
      path: relative.endsWith("/") ? "predictor.python_path" : "predictor.path",
      message: describe(relative, reason),
    }));
  }
  const diagnostics: Diagnostic[] = [];
  for (const api of apis) {
    const fields: [string, string | null][] = [
      ["path", api.predictor.path],
      ["python_path", api.predictor.python_path === null ? null : `${api.predictor.python_path}/`],
    ];
    for (const [field, relative] of fields) {
      const reason = relative === null ? undefined : leftOut.get(relative);
      if (relative === null || reason === undefined) continue;
      diagnostics.push({
        file: fileName,
        path: `${api.name}.predictor.${field}`,
        message: describe(relative, reason),
      });
    }
  }
  return diagnostics;
}

/**
 * Refuses project roots that would upload far more than a project: `/` and the home folder
 * (Cortex refused these too).
 */
export function assertDeployableRoot(
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
): void {
  const home = path.resolve(env["HOME"] ?? homedir());
  const resolved = path.resolve(dir);
  if (resolved === path.parse(resolved).root || resolved === home) {
    throw new UserError(
      `refusing to deploy ${resolved}: it is ${resolved === home ? "your home folder" : "the filesystem root"}, not a project folder`,
      {
        hint: "move the config and predictor into their own folder and deploy from there",
      },
    );
  }
}

/**
 * True when `relative` names an existing file inside `root` (never outside it); a path ending in
 * `/` asks for a folder, as the spec's `fileExists` contract says (`path.resolve` drops the slash,
 * so it is checked before resolving).
 */
export function projectHas(root: string, relative: string): boolean {
  const full = path.resolve(root, relative);
  if (full !== root && !full.startsWith(root + path.sep)) return false;
  const info = statSync(full, { throwIfNoEntry: false });
  return relative.endsWith("/") ? info?.isDirectory() === true : info?.isFile() === true;
}
