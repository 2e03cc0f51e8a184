/**
 * The CLI's own version, from this package's package.json (one folder above `src/` and `dist/`).
 * A module of its own, importing nothing else, so `axon --version` reads it without loading the
 * command tree.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";

const PACKAGE_JSON = new URL("../package.json", import.meta.url);

/** The version in this package's package.json. */
export async function readCliVersion(): Promise<string> {
  const text = await readFile(PACKAGE_JSON, "utf8");
  return (JSON.parse(text) as { version: string }).version;
}

/** The same, read synchronously: commander needs it while the program is built (`axon --version`). */
export function readCliVersionSync(): string {
  const text = readFileSync(PACKAGE_JSON, "utf8");
  return (JSON.parse(text) as { version: string }).version;
}
