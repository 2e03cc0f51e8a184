/** Reads for `axon get <api>`: summary, resolved spec, versions and events. */
import { specToYaml, type ApiSpec } from "@axon/config";
import type { RouteContext } from "../api/context.js";
import type { ApiDetail, ApiEnvironment } from "../contract/index.js";
import { shortPythonVersion } from "../environments/index.js";
import { DomainError } from "../errors.js";
import { summarizeApi } from "../reconcile/status.js";
import type { ApiRecord } from "../state/store.js";

export function requireApi(context: Pick<RouteContext, "store">, name: string): ApiRecord {
  const api = context.store.getApi(name);
  if (api === undefined) {
    const known = context.store.listApis().map((a) => a.name);
    throw new DomainError("api.not_found", `api ${name} is not deployed`, {
      status: 404,
      hint:
        known.length > 0
          ? `deployed apis: ${known.join(", ")}`
          : "no apis are deployed; run `axon deploy`",
    });
  }
  return api;
}

export function describeApi(context: RouteContext, name: string): ApiDetail {
  const api = requireApi(context, name);
  const summary = summarizeApi(api, context.provider, context.gatewayUrl);
  const spec = api.currentVersion.spec as unknown as ApiSpec;
  const detail: ApiDetail = {
    ...summary,
    spec: api.currentVersion.spec,
    specYaml: specToYaml(spec),
    exampleCurl: `curl ${summary.endpoint} -X POST -H "Content-Type: application/json" -d @sample.json`,
    environment: describeEnvironment(context, api.currentVersion.envKey),
    versions: context.store.listVersions(api.name).map((v) => ({
      id: v.id,
      createdAt: v.createdAt,
      specHash: v.specHash,
      bundle: v.bundle,
    })),
    events: context.store.listEvents(api.name),
  };
  if (api.currentVersion.projectPath !== null) detail.projectPath = api.currentVersion.projectPath;
  return detail;
}

function describeEnvironment(context: RouteContext, envKey: string | null): ApiEnvironment {
  const { path: basePython, version } = context.environments.base();
  const base = {
    basePython,
    baseVersion: version === null ? null : shortPythonVersion(version),
    isolated: context.environments.isolated,
  };
  const record = envKey === null ? undefined : context.environments.describe(envKey);
  if (record === undefined) {
    return { key: envKey, python: basePython, ...base, packages: 0, distributions: [] };
  }
  return {
    key: record.key,
    python: record.python,
    basePython: record.basePython,
    baseVersion: shortPythonVersion(record.baseVersion),
    isolated: record.isolated,
    packages: record.distributions.length,
    distributions: record.distributions,
  };
}
