/**
 * Cortex 0.20's `kind: TrafficSplitter` (cortexlabs/cortex:v0.20.0 pkg/types/spec/validations.go):
 * the rules the schema cannot say — weights that total 100 (Cortex's own message), each API named
 * once — and the resolved `TrafficSplitterSpec`. Whether each named API exists is the deploy plan's
 * check: only the control plane knows what the environment runs.
 */
import type { TrafficSplitterSpec } from "./api-spec.js";
import { canonicalizeEndpoint } from "./endpoint.js";
import type { FieldPath } from "./schema.js";

/** Reports the splitter's cross-field problems; returns its spec when there were none. */
export function checkTrafficSplitter(
  splitter: Record<string, unknown>,
  report: (path: FieldPath, message: string) => void,
): TrafficSplitterSpec | undefined {
  const name = splitter["name"];
  const apis = splitter["apis"];
  if (typeof name !== "string" || !Array.isArray(apis)) return undefined;
  let sound = true;
  let endpoint = `/${name}`;
  const given = splitter["endpoint"];
  if (typeof given === "string") {
    try {
      endpoint = canonicalizeEndpoint(given);
    } catch (error) {
      report(["endpoint"], error instanceof Error ? error.message : String(error));
      sound = false;
    }
  }
  const backends: TrafficSplitterSpec["apis"] = [];
  const seen = new Set<string>();
  apis.forEach((entry: unknown, index) => {
    const api = entry as { name?: unknown; weight?: unknown };
    if (typeof api.name !== "string" || typeof api.weight !== "number") {
      sound = false;
      return;
    }
    if (api.name === name) {
      report(
        ["apis", String(index), "name"],
        `${name} cannot send its traffic to itself; name an API`,
      );
      sound = false;
    } else if (seen.has(api.name)) {
      report(["apis", String(index), "name"], `${api.name} is listed twice; list each API once`);
      sound = false;
    }
    seen.add(api.name);
    backends.push({ name: api.name, weight: api.weight });
  });
  if (!sound) return undefined;
  const total = backends.reduce((sum, backend) => sum + backend.weight, 0);
  if (total !== 100) {
    // Cortex's message, word for word.
    report(["apis"], `expected weights to sum to 100 but found ${total}`);
    return undefined;
  }
  return { name, kind: "TrafficSplitter", endpoint, apis: backends };
}
