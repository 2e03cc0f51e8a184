/**
 * Per-API secrets (the deploying user's forwarded cloud credentials), kept only in 0600 files
 * under `$AXON_HOME/secrets/` — never in the state database, API responses, events or logs.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";

export type SecretVars = Record<string, string>;

export class SecretStore {
  readonly #dir: string;

  constructor(home: string) {
    this.#dir = path.join(home, "secrets");
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    chmodSync(this.#dir, 0o700); // also when an older axon made it with the default mode
  }

  #file(apiName: string): string {
    return path.join(this.#dir, `${apiName}.json`);
  }

  get(apiName: string): SecretVars {
    const file = this.#file(apiName);
    if (!existsSync(file)) return {};
    try {
      return JSON.parse(readFileSync(file, "utf8")) as SecretVars;
    } catch {
      return {};
    }
  }

  /** True when `vars` differ from what is stored for the API. */
  differs(apiName: string, vars: SecretVars): boolean {
    return canonical(this.get(apiName)) !== canonical(vars);
  }

  put(apiName: string, vars: SecretVars): void {
    if (Object.keys(vars).length === 0) {
      this.delete(apiName);
      return;
    }
    const file = this.#file(apiName);
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, canonical(vars), { mode: 0o600 });
    renameSync(temp, file);
  }

  delete(apiName: string): void {
    rmSync(this.#file(apiName), { force: true });
  }
}

function canonical(vars: SecretVars): string {
  return JSON.stringify(
    Object.fromEntries(Object.entries(vars).sort(([a], [b]) => a.localeCompare(b))),
  );
}
