/**
 * Synchronous, on-first-use loading of the two heavy parsers. Importing `ajv` and `yaml` costs
 * ~100 ms together; the CLI imports this package on every command (e.g. `axon get -o json`, which
 * must answer in < 150 ms) but only `deploy`/`validate` parse configs. Both are CommonJS, so
 * `require` loads them synchronously and keeps `parseApiConfig` synchronous; Node's module cache
 * makes later calls free.
 */

import { createRequire } from "node:module";

type AjvModule = typeof import("ajv");
type YamlModule = typeof import("yaml");

const requireFromHere = createRequire(import.meta.url);

/** The `ajv` module, loaded on first call. */
export function loadAjv(): AjvModule {
  return requireFromHere("ajv") as AjvModule;
}

/** The `yaml` module, loaded on first call. */
export function loadYaml(): YamlModule {
  return requireFromHere("yaml") as YamlModule;
}
