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
 * [avg request | p99 | 2XX | 4XX | 5XX] | endpoint`, sorted by name; `stale` and `failed` appear
 * only when some API has a non-zero count, the request columns when the control plane reports
 * metrics (`4XX`/`5XX` only when some API has any, as Cortex did).
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
  const anyMetrics = apis.some((api) => api.metrics !== undefined);
  const any4xx = apis.some((api) => (api.metrics?.requests["4XX"] ?? 0) > 0);
  const any5xx = apis.some((api) => (api.metrics?.requests["5XX"] ?? 0) > 0);
  const columns: (StatusColumn | false)[] = [
    { header: "status", cell: (api) => api.status },
    { header: "up-to-date", cell: (api) => String(api.replicas.upToDate) },
    anyStale && { header: "stale", cell: (api) => String(api.replicas.stale) },
    { header: "requested", cell: (api) => String(api.replicas.requested) },
    anyFailed && { header: "failed", cell: (api) => String(api.replicas.failed) },
    { header: "last update", cell: (api, now) => formatAge(new Date(api.lastUpdated), now) },
    anyMetrics && {
      header: "avg request",
      cell: (api) => formatLatency(api.metrics?.avgLatencyMs),
    },
    anyMetrics && { header: "p99", cell: (api) => formatLatency(api.metrics?.p99LatencyMs) },
    anyMetrics && { header: "2XX", cell: (api) => formatCount(api.metrics?.requests["2XX"]) },
    any4xx && { header: "4XX", cell: (api) => formatCount(api.metrics?.requests["4XX"]) },
    any5xx && { header: "5XX", cell: (api) => formatCount(api.metrics?.requests["5XX"]) },
  ];
  return columns.filter((column): column is StatusColumn => column !== false);
}

/** `2.31 ms`, `1.5 s`; `-` before the first request (Cortex's `avg request` style). */
function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "-";
  if (ms < 1000) return `${Number(ms.toPrecision(3))} ms`;
  return `${Number((ms / 1000).toPrecision(3))} s`;
}

/** A request count, `-` when zero. */
function formatCount(count: number | undefined): string {
  return count === undefined || count === 0 ? "-" : String(count);
}
