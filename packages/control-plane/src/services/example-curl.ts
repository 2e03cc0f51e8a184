/**
 * The example curl `axon deploy` and `axon get <api>` suggest: it sends the project's own sample
 * payload when the project folder has one (`-d @/path/to/project/sample.json`, so it works from
 * any folder), and otherwise says what to send instead of naming a file that does not exist.
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

/** A curl for `endpoint` with the sample file found in `projectPath`, or null when there is none. */
export function sampleCurl(
  endpoint: string,
  projectPath: string | null | undefined,
): string | null {
  const sample = projectPath == null ? null : findSampleFile(projectPath);
  if (sample === null) return null;
  return `curl ${endpoint} -X POST -H "Content-Type: application/json" -d @${shellWord(sample)}`;
}

/** The curl `axon get <api>` shows: with the sample file, or with a placeholder payload to replace. */
export function exampleCurl(endpoint: string, projectPath: string | null | undefined): string {
  return (
    sampleCurl(endpoint, projectPath) ??
    `curl ${endpoint} -X POST -H "Content-Type: application/json" -d '<your JSON payload>'`
  );
}

function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
