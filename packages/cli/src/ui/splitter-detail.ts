/**
 * `axon get <traffic splitter>`: one splitter's detail — its endpoint, then one row per API with
 * its weight, the requests it got, its share of them and its error rate, and what those counts
 * cover (the engine's `window`: since the control plane started locally, the load balancer's last
 * hour on ECS). Pure: data and the current time in, text out.
 */
import type { TrafficSplitterSummary } from "@axon/control-plane/api";
import { formatAge, renderTable } from "../output.js";

export function renderSplitterDetail(splitter: TrafficSplitterSummary, now: Date): string {
  const percent = (value: number | undefined): string =>
    value === undefined ? "-" : `${(value * 100).toFixed(1)}%`;
  const header = [
    `traffic splitter ${splitter.name}`,
    `endpoint: ${splitter.endpoint}`,
    ...(splitter.lastUpdated === ""
      ? []
      : [`last update: ${formatAge(new Date(splitter.lastUpdated), now)} ago`]),
  ].join("\n");
  const table = renderTable(
    ["api", "weight", "requests", "share", "error rate"],
    splitter.apis.map((api) => [
      api.name,
      `${api.weight}%`,
      api.requests === undefined ? "-" : String(api.requests),
      percent(api.share),
      percent(api.errorRate),
    ]),
  );
  const counted = `counted over: ${splitter.window ?? "the splitter's requests since the control plane started"}`;
  return `${header}\n\n${table}\n\n${counted}`;
}
