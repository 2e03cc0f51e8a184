/**
 * The example curl `axon deploy` and `axon get <api>` suggest: it sends the project's own sample
 * payload when the project folder has one (`-d @/path/to/project/sample.json`, so it works from
 * any folder), and otherwise says what to send instead of naming a file that does not exist.
 * For an API that requires keys it sends `Authorization: Bearer $AXON_API_KEY`: the variable, never
 * a key, because these lines are printed, logged and pasted (a key is shown once, by `keys create`).
 */
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";

/** Names a sample payload goes by, in the order they are looked for at the top of the project. */
const SAMPLE_NAMES = ["sample.json", "payload.json", "example.json", "input.json"];

/**
 * The project's sample payload file (absolute), or null: one of SAMPLE_NAMES, else the first
 * top-level `*.json` whose name starts with `sample` (`sample_request.json`, `samples.json`).
 */
export function findSampleFile(projectDir: string): string | null {
  for (const name of SAMPLE_NAMES) {
    const file = path.join(projectDir, name);
    if (existsSync(file)) return file;
  }
  try {
    const named = readdirSync(projectDir)
      .filter((name) => name.startsWith("sample") && name.endsWith(".json"))
      .sort();
    return named[0] === undefined ? null : path.join(projectDir, named[0]);
  } catch {
    return null; // the folder is gone or unreadable: no sample to suggest
  }
}

/** What the curl must carry besides the payload. */
export interface CurlOptions {
  /** The API has `networking.auth: api_key`: the curl sends the key from `$AXON_API_KEY`. */
  requiresKey?: boolean;
}

/** The header that carries the key, as a shell word that expands the variable (double quotes). */
const KEY_HEADER = `-H "Authorization: Bearer $AXON_API_KEY"`;

/** A curl for `endpoint` with the sample file found in `projectPath`, or null when there is none. */
export function sampleCurl(
  endpoint: string,
  projectPath: string | null | undefined,
  options: CurlOptions = {},
): string | null {
  const sample = projectPath == null ? null : findSampleFile(projectPath);
  if (sample === null) return null;
  return `${curlStart(endpoint, options)} -d @${shellWord(sample)}`;
}

/** The curl `axon get <api>` shows: with the sample file, or with a placeholder payload to replace. */
export function exampleCurl(
  endpoint: string,
  projectPath: string | null | undefined,
  options: CurlOptions = {},
): string {
  return (
    sampleCurl(endpoint, projectPath, options) ??
    `${curlStart(endpoint, options)} -d '<your JSON payload>'`
  );
}

function curlStart(endpoint: string, options: CurlOptions): string {
  const key = options.requiresKey === true ? ` ${KEY_HEADER}` : "";
  return `curl ${endpoint} -X POST -H "Content-Type: application/json"${key}`;
}

function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
