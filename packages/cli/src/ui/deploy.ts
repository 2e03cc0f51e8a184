/**
 * Text for `axon deploy`: the per-API messages the daemon wrote (Cortex wording) and the block of
 * follow-up commands under them.
 */
import type { DeployResponse, DeployResult } from "@axon/control-plane/api";
import { formatDiagnostic } from "../errors.js";

/** One message per API, e.g. `creating iris-classifier (RealtimeAPI)`. */
export function renderDeployResults(response: DeployResponse): string {
  return response.results.map((result) => result.message).join("\n");
}

/**
 * The Cortex-style hints: commands aligned in one column, what they do in the next; a curl with
 * the project's sample file when a single API was deployed and the project has one. Several APIs
 * get `<api_name>` placeholders, as Cortex did.
 */
export function renderDeployHints(response: DeployResponse): string {
  const [first, ...others] = response.results;
  if (first === undefined) return "";
  const name = others.length === 0 ? first.api : "<api_name>";
  // Deployed to another environment: the next commands name it.
  const env = response.env === undefined ? "" : ` --env ${response.env}`;
  const rows: [string, string][] = [
    [`axon get${env}`, "(show api statuses)"],
    [`axon get ${name}${env}`, "(show api info)"],
    [`axon logs ${name}${env}`, "(stream api logs)"],
  ];
  const width = Math.max(...rows.map(([command]) => command.length)) + 4;
  const lines = rows.map(([command, what]) => command.padEnd(width) + what);
  // The daemon suggests a curl only when the project has a sample payload file to send.
  if (others.length === 0 && first.exampleCurl !== undefined) lines.push(first.exampleCurl);
  for (const result of response.results) {
    if (result.kind === "BatchAPI") lines.push("", ...batchApiHints(result, env));
  }
  return lines.join("\n");
}

/**
 * What a deployed BatchAPI is and how to use it: it is deployed once recorded (nothing runs until a
 * job is submitted, so `--wait` has nothing to wait for), and a job goes in with `axon submit` or
 * with Cortex's `POST <endpoint>`.
 */
export function batchApiHints(result: DeployResult, env = ""): string[] {
  return [
    `${result.api} (BatchAPI) is deployed: it runs no replica; each job submitted starts its own workers`,
    `  axon submit ${result.api} job.json${env}    (submit a job: {"workers": 1, "item_list": {"items": [...], "batch_size": 10}})`,
    `  curl ${result.endpoint} -X POST -H "Content-Type: application/json" -d @job.json`,
    `  axon get ${result.api} <job_id> --watch${env}    (follow a job)`,
  ];
}

/** Deprecation notes, one per line, prefixed so they stand out on stderr. */
export function renderDeprecations(warnings: DeployResponse["warnings"]): string {
  return warnings.map((warning) => `warning: ${formatDiagnostic(warning)}`).join("\n");
}
