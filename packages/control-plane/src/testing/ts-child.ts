/**
 * For tests that run control-plane TypeScript sources in a child Node process (to SIGKILL it):
 * a module prelude that lets Node's type stripping resolve the sources' `./x.js` imports to
 * `./x.ts`. Prepend it to an `--input-type=module -e` script.
 */
export const TS_SOURCES_PRELUDE = `
  import { registerHooks } from "node:module";
  registerHooks({
    resolve(specifier, context, next) {
      try { return next(specifier, context); }
      catch (error) {
        if (specifier.startsWith(".") && specifier.endsWith(".js")) return next(specifier.slice(0, -3) + ".ts", context);
        throw error;
      }
    },
  });
`;
