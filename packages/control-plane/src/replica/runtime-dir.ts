/** Where the Python runtime (`axon_runtime/`) lives, for both the built and the source layout. */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Resolves the directory that contains the `axon_runtime` package: `override`, else
 * `$AXON_RUNTIME_DIR`, else `packages/runtime-python` found relative to this module (the same
 * relative path works from `src/replica/` under vitest and from `dist/replica/` when built).
 */
export function resolveRuntimeDir(override?: string): string {
  const dir = path.resolve(
    override ??
      process.env["AXON_RUNTIME_DIR"] ??
      fileURLToPath(new URL("../../../runtime-python/", import.meta.url)),
  );
  if (!existsSync(path.join(dir, "axon_runtime", "worker.py"))) {
    throw new Error(
      `the Axon Python runtime is not in ${dir} (no axon_runtime/worker.py); ` +
        "set AXON_RUNTIME_DIR to the directory that contains axon_runtime/",
    );
  }
  return dir;
}
