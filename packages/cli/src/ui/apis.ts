/**
 * Text for `axon get`: the Cortex-style list table and the single-API detail view. Pure: data and
 * the current time in, text out.
 */
import type { ApiDetail, ApiListResponse, ApiSummary } from "@axon/control-plane/api";
import { formatAge, indent, renderTable } from "../output.js";

/** How many recent events the detail view shows. */
export const DETAIL_EVENT_COUNT = 5;

/**
 * The list view: `api | status | up-to-date | [stale] | requested | [failed] | last update |
 * endpoint`, sorted by name; `stale` and `failed` appear only when some API has a non-zero count.
 */
export function renderApiList(list: ApiListResponse, now: Date): string {
  if (list.apis.length === 0) return "no apis are deployed";
  const apis = [...list.apis].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const columns = statusColumns(apis);
  const headers = ["api", ...columns.map((column) => column.header), "endpoint"];
  const rows = apis.map((api) => [
    api.name,
    ...columns.map((column) => column.cell(api, now)),
    api.endpoint,
  ]);
  return renderTable(headers, rows);
}

/** The detail view: status table, endpoint, example curl, resolved configuration, recent events. */
export function renderApiDetail(api: ApiDetail, now: Date): string {
  const columns = statusColumns([api]);
  const sections = [
    renderTable(
      columns.map((column) => column.header),
      [columns.map((column) => column.cell(api, now))],
    ),
  ];
  if (api.statusMessage !== undefined && api.statusMessage !== "") {
    sections.push(`${api.status === "error" ? "error" : "status"}: ${api.statusMessage}`);
  }
  sections.push(`endpoint: ${api.endpoint}\nexample curl: ${api.exampleCurl}`);
  sections.push(renderEnvironment(api.environment));
  sections.push(`configuration:\n${indent(api.specYaml.trimEnd())}`);
  const events = api.events.slice(-DETAIL_EVENT_COUNT);
  if (events.length > 0) {
    const rows = events.map((event) => [
      `${formatAge(new Date(event.time), now)} ago`,
      event.type,
      event.message,
    ]);
    sections.push(`events:\n${indent(renderTable(["when", "type", "message"], rows))}`);
  }
  return sections.join("\n\n");
}

/** Which interpreter the replicas run, and from which built environment. */
function renderEnvironment(env: ApiDetail["environment"]): string {
  const base = `${env.basePython}${env.baseVersion === null ? "" : ` (Python ${env.baseVersion})`}`;
  if (env.key === null) return `python environment: base interpreter ${base}`;
  const sees = env.isolated ? "isolated" : "sees the base packages";
  return `python environment: ${env.key.slice(0, 12)} (${env.packages} packages, ${sees}; base ${base})`;
}

interface StatusColumn {
  header: string;
  cell: (api: ApiSummary, now: Date) => string;
}

function statusColumns(apis: readonly ApiSummary[]): StatusColumn[] {
  const anyStale = apis.some((api) => api.replicas.stale > 0);
  const anyFailed = apis.some((api) => api.replicas.failed > 0);
  const columns: (StatusColumn | false)[] = [
    { header: "status", cell: (api) => api.status },
    { header: "up-to-date", cell: (api) => String(api.replicas.upToDate) },
    anyStale && { header: "stale", cell: (api) => String(api.replicas.stale) },
    { header: "requested", cell: (api) => String(api.replicas.requested) },
    anyFailed && { header: "failed", cell: (api) => String(api.replicas.failed) },
    { header: "last update", cell: (api, now) => formatAge(new Date(api.lastUpdated), now) },
  ];
  return columns.filter((column): column is StatusColumn => column !== false);
}
