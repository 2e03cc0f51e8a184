/**
 * `kind: BatchAPI` (Cortex 0.20, issue 32): the checks a batch API's map goes through and the
 * resolved `BatchApiSpec` it becomes. A batch API has its own schema definition (`batch_api`) and
 * shares the realtime rules that apply to its fields (compute bounds, env names and size, project
 * paths, endpoint), which read absent sections as nothing to check.
 */
import { posix } from "node:path";
import type { BatchApiSpec } from "./api-spec.js";
import { checkApiRules, type ApiFacts, type ApiRuleContext } from "./api-rules.js";
import { canonicalizeEndpoint } from "./endpoint.js";
import { getBatchApiValidator, validateApiSchema, type FieldIssue } from "./schema.js";

/**
 * Sections only a RealtimeAPI has, and why a batch API has none: said instead of the schema's bare
 * "key … is not supported".
 */
const REALTIME_ONLY_SECTIONS: Record<string, string> = {
  autoscaling:
    "a BatchAPI has no autoscaling: each job runs the `workers` its submission asks for, and no replica runs between jobs; remove this section (set `workers` when you submit a job)",
  update_strategy:
    "a BatchAPI has no update strategy: a deploy applies to the jobs submitted after it; remove this section",
  monitoring:
    "a BatchAPI has no prediction monitoring (its predict returns nothing to record); remove this section",
};

/** Checks one `kind: BatchAPI` map (defaults are filled into it) and returns its problems and facts. */
export function checkBatchApi(
  api: Record<string, unknown>,
  context: Omit<ApiRuleContext, "api" | "isSound" | "report">,
): { issues: FieldIssue[]; facts: ApiFacts } {
  const issues: FieldIssue[] = [];
  for (const [section, message] of Object.entries(REALTIME_ONLY_SECTIONS)) {
    if (!(section in api)) continue;
    issues.push({ path: [section], message, atKey: true });
    // Checked and said once; the schema would add "key … is not supported" for the same key.
    delete api[section];
  }
  // The schema fills leaf defaults only inside maps that exist, so absent sections start empty.
  for (const section of ["compute", "networking"]) {
    if (api[section] === undefined) api[section] = {};
  }
  issues.push(...validateApiSchema(api, getBatchApiValidator()));
  const schemaIssues = [...issues];
  const facts = checkApiRules({
    ...context,
    api,
    isSound: (path) =>
      !schemaIssues.some(
        (issue) =>
          issue.path.length <= path.length && issue.path.every((key, i) => path[i] === key),
      ),
    report: (path, message) => issues.push({ path, message, atKey: false }),
  });
  return { issues, facts };
}

/** The resolved spec of a batch API map that passed `checkBatchApi` without a problem. */
export function buildBatchApiSpec(api: Record<string, unknown>): BatchApiSpec {
  const raw = api as unknown as ValidatedBatchApi;
  const { predictor, compute, networking } = raw;
  const pythonPath = predictor.python_path;
  return {
    name: raw.name,
    kind: "BatchAPI",
    predictor: {
      type: "python",
      path: posix.normalize(predictor.path),
      processes_per_replica: 1,
      threads_per_process: 1,
      config: predictor.config ?? {},
      python_path:
        pythonPath === undefined || pythonPath === null || pythonPath === ""
          ? null
          : posix.normalize(pythonPath).replace(/\/+$/, "") || ".",
      image: predictor.image ?? null,
      env: predictor.env ?? {},
      server_side_batching: null,
    },
    compute: {
      cpu: String(compute.cpu),
      gpu: compute.gpu,
      inf: compute.inf,
      mem: compute.mem ?? null,
    },
    networking: {
      endpoint:
        networking.endpoint === undefined
          ? `/${raw.name}`
          : canonicalizeEndpoint(networking.endpoint),
      api_gateway: networking.api_gateway,
    },
  };
}

/** One batch API map as the schema guarantees it (after defaults). */
interface ValidatedBatchApi {
  name: string;
  predictor: {
    path: string;
    config: Record<string, unknown> | null;
    python_path?: string | null;
    image?: string | null;
    env?: Record<string, string> | null;
  };
  compute: { cpu: string | number; gpu: number; inf: number; mem: string | null };
  networking: { endpoint?: string; api_gateway: "public" | "none" };
}
