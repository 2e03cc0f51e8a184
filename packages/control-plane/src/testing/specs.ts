/** Real resolved specs for tests, from YAML through `@axon/config` (defaults filled in). */
import { parseApiConfig, type ApiSpec } from "@axon/config";

/** The spec of a python RealtimeAPI named `name`; `extra` is YAML indented under the API. */
export function apiSpec(name: string, extra = ""): ApiSpec {
  const yaml = `- name: ${name}\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n${extra}`;
  const [spec] = parseApiConfig(yaml, "axon.yaml").apis;
  if (spec === undefined) throw new Error(`no spec parsed from:\n${yaml}`);
  return spec;
}
