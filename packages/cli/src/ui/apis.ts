/**
 * Text for `axon get`: the Cortex-style list table and the single-API detail view. Pure: data and
 * the current time in, text out.
 */
import type {
  ApiDetail,
  ApiListResponse,
  ApiSummary,
  LocalApiCost,
  LocalRuntime,
  TrafficSplitterSummary,
} from "@axon/control-plane/api";
import { formatAge, formatBytes, indent, renderTable } from "../output.js";
import { renderBatchApiList } from "./jobs.js";
import { renderKeysSection } from "./keys.js";
import {
  renderAutoscalingSection,
  renderMonitoringSection,
  renderNotesSection,
  renderVersionsSection,
} from "./api-history.js";

/** How many recent events the detail view shows. */
export const DETAIL_EVENT_COUNT = 5;

/**
 * The list view: `api | status | up-to-date | [stale] | requested | [failed] | last update |
 * [avg request | p99 | 2XX | 4XX | 5XX] | endpoint`, sorted by name; `stale` and `failed` appear
 * only when some API has a non-zero count, the request columns when the control plane reports
 * metrics (`4XX`/`5XX` only when some API has any, as Cortex did). Given the terminal's `width`,
 * a table wider than it loses its least telling columns (NARROW_DROP_ORDER) until it fits, and
 * below the width of name, status and endpoint becomes one block per API; piped output (no
 * width) is never cut.
 */
export function renderApiList(list: ApiListResponse, now: Date, width?: number): string {
  const splitters = list.trafficSplitters ?? [];
  const batchApis = list.batchApis ?? [];
  // Each kind in its own table (Cortex's layout); "no apis are deployed" only when none has any.
  const tables: string[] = [];
  if (list.apis.length > 0 || (splitters.length === 0 && batchApis.length === 0)) {
    tables.push(renderRealtimeApis(list, now, width));
  }
  if (batchApis.length > 0) tables.push(renderBatchApiList(batchApis, now));
  if (splitters.length > 0) tables.push(renderSplitterList(splitters, now));
  return tables.join("\n\n");
}

/**
 * The TrafficSplitters, Cortex's `traffic splitter | apis | last update` with one line per API
 * behind it: its weight, the share of the splitter's requests it got and its error rate (`-`
 * before the first request).
 */
export function renderSplitterList(
  splitters: readonly TrafficSplitterSummary[],
  now: Date,
): string {
  const percent = (value: number | undefined): string =>
    value === undefined ? "-" : `${(value * 100).toFixed(1)}%`;
  return renderTable(
    ["traffic splitter", "api", "weight", "share", "error rate", "last update", "endpoint"],
    splitters.flatMap((splitter) =>
      splitter.apis.map((api, index) => [
        index === 0 ? splitter.name : "",
        api.name,
        String(api.weight),
        percent(api.share),
        percent(api.errorRate),
        index === 0 ? formatAge(new Date(splitter.lastUpdated), now) : "",
        index === 0 ? splitter.endpoint : "",
      ]),
    ),
  );
}

function renderRealtimeApis(list: ApiListResponse, now: Date, width?: number): string {
  if (list.apis.length === 0) return "no apis are deployed";
  const apis = [...list.apis].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let columns = statusColumns(apis);
  const table = (): string =>
    renderTable(
      ["api", ...columns.map((column) => column.header), "endpoint"],
      apis.map((api) => [
        api.name,
        ...columns.map((column) => column.cell(api, now)),
        api.endpoint,
      ]),
    );
  let text = table();
  if (width === undefined || widest(text) <= width) return text;
  // Too wide for the terminal: leave out the columns that say least, one at a time.
  for (const header of NARROW_DROP_ORDER) {
    if (!columns.some((column) => column.header === header)) continue;
    columns = columns.filter((column) => column.header !== header);
    text = table();
    if (widest(text) <= width) return text;
  }
  // Not even name, status and endpoint fit on a line: one block per API, every column kept.
  return renderApiBlocks(apis, statusColumns(apis), now, width);
}

/**
 * The list's columns a narrow terminal loses first, in order: averages and ages before counts,
 * and the counts of trouble (4XX, 5XX, failed) last. `status` is never dropped.
 */
const NARROW_DROP_ORDER = [
  "avg request",
  "last update",
  "2XX",
  "p99",
  "up-to-date",
  "stale",
  "4XX",
  "5XX",
  "failed",
  "requested",
] as const;

function widest(text: string): number {
  return Math.max(...text.split("\n").map((line) => line.length));
}

/**
 * The list for a terminal too narrow for any table: per API its name and status, then its
 * columns as `header value` pairs filling lines up to `width`, then its endpoint on a line of
 * its own (a URL is not cut, so it stays clickable).
 */
function renderApiBlocks(
  apis: readonly ApiSummary[],
  columns: readonly StatusColumn[],
  now: Date,
  width: number,
): string {
  return apis
    .map((api) => {
      const lines = [`${api.name}   ${api.status}`];
      let line = "";
      for (const column of columns) {
        if (column.header === "status") continue;
        const pair = `${column.header} ${column.cell(api, now)}`;
        if (line !== "" && 2 + line.length + 3 + pair.length > width) {
          lines.push(`  ${line}`);
          line = pair;
        } else line = line === "" ? pair : `${line} · ${pair}`;
      }
      if (line !== "") lines.push(`  ${line}`);
      lines.push(`  ${api.endpoint}`);
      return lines.join("\n");
    })
    .join("\n\n");
}

/**
 * The detail view: one section per concern, in this order, blank lines between. Each section is
 * its own function returning text (or undefined when it has nothing to say), so a new one (the
 * versions with their live times, the autoscaler's status) is one function and one line here.
 */
export function renderApiDetail(api: ApiDetail, now: Date): string {
  const sections = [
    renderStatusSection(api, now),
    renderStatusMessage(api),
    renderEndpointSection(api),
    renderKeysSection(api, now),
    renderRuntime(api.runtime),
    renderCostSection(api),
    renderMonitoringSection(api, now),
    renderNotesSection(api),
    renderAutoscalingSection(api, now),
    renderVersionsSection(api.versions, now, api.runtime.engine),
    renderConfigurationSection(api),
    renderEventsSection(api.events, now),
  ];
  return sections.filter((section): section is string => section !== undefined).join("\n\n");
}

/** The status table of one API: the list's columns without its name and endpoint. */
export function renderStatusSection(api: ApiSummary, now: Date): string {
  const columns = statusColumns([api]);
  return renderTable(
    columns.map((column) => column.header),
    [columns.map((column) => column.cell(api, now))],
  );
}

/** Why the API is not live (the last crash, a failed rollout), when the daemon says. */
export function renderStatusMessage(api: ApiSummary): string | undefined {
  if (api.statusMessage === undefined || api.statusMessage === "") return undefined;
  return `${api.status === "error" ? "error" : "status"}: ${api.statusMessage}`;
}

/** Where to call the API, and how. */
export function renderEndpointSection(api: ApiDetail): string {
  return `endpoint: ${api.endpoint}\nexample curl: ${api.exampleCurl}`;
}

/** The resolved configuration, indented. */
export function renderConfigurationSection(api: ApiDetail): string {
  return `configuration:\n${indent(api.specYaml.trimEnd())}`;
}

/** The last `DETAIL_EVENT_COUNT` events, oldest first; undefined when there are none. */
export function renderEventsSection(events: ApiDetail["events"], now: Date): string | undefined {
  const recent = events.slice(-DETAIL_EVENT_COUNT);
  if (recent.length === 0) return undefined;
  const rows = recent.map((event) => [
    `${formatAge(new Date(event.time), now)} ago`,
    event.type,
    event.message,
  ]);
  return `events:\n${indent(renderTable(["when", "type", "message"], rows))}`;
}

/** What runs the replicas, in the engine's terms: a Python environment, or Fargate tasks. */
function renderRuntime(runtime: ApiDetail["runtime"]): string {
  if (runtime.engine === "local") return renderPythonEnvironment(runtime.python);
  const size =
    runtime.fargate === undefined
      ? ""
      : ` of ${runtime.fargate.vcpu} vCPU and ${runtime.fargate.memoryGb} GB`;
  const placed =
    runtime.capacityProviders.length === 0 ? "" : ` on ${runtime.capacityProviders.join(", ")}`;
  const lines = [
    `runtime: ECS Fargate tasks${size}${placed}, task definition revision ${runtime.taskDefinitionRevision}`,
  ];
  if (runtime.image !== undefined) lines.push(`image: ${runtime.image}`);
  return lines.join("\n");
}

/** Which interpreter a local API's replicas run, and from which built environment. */
function renderPythonEnvironment(env: LocalRuntime["python"]): string {
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
    { header: "status", cell: (api) => (api.idle === undefined ? api.status : "idle") },
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
    apis.some((api) => api.costPerHour !== undefined) && {
      header: "$/hour",
      cell: (api) => (api.costPerHour === undefined ? "-" : formatUsd(api.costPerHour.usd)),
    },
  ];
  return columns.filter((column): column is StatusColumn => column !== false);
}

/**
 * What the API costs (ECS): $/hour with its parts, $/1k predictions at the last hour's traffic,
 * and what the figures rest on (the price table's region and date, the Spot assumption).
 */
export function renderCostSection(api: ApiDetail): string | undefined {
  const cost = api.cost;
  if (cost === undefined) return undefined;
  if (cost.engine === "local") return renderLocalCost(cost);
  const { breakdown, tasks } = cost;
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;
  const rows = [
    [
      "Fargate",
      formatUsd(breakdown.fargateOnDemand.usd),
      `${plural(tasks.onDemand, "task")} of ${tasks.vcpu} vCPU / ${tasks.memoryGb} GB`,
    ],
    ["Fargate Spot", formatUsd(breakdown.fargateSpot.usd), plural(tasks.spot, "task")],
    ["load balancer", formatUsd(breakdown.loadBalancerShare.usd), "this API's share"],
  ];
  const lines = [
    `cost: ${formatUsd(cost.perHour.usd)}/hour (${cost.prices.region} prices, ${cost.prices.asOf})`,
    indent(renderTable(["item", "$/hour", "for"], rows)),
  ];
  if (cost.perThousandPredictions !== undefined) {
    lines.push(
      `  ${formatUsd(cost.perThousandPredictions.usd)} per 1,000 predictions (${cost.requestsLastHour ?? 0} requests in the last hour)`,
    );
  } else if (cost.requestsLastHour !== undefined) {
    lines.push("  no request in the last hour: no price per prediction yet");
  }
  lines.push(`  ${cost.prices.note}`, `  ${cost.prices.spot}`, `  ${cost.prices.loadBalancer}`);
  return lines.join("\n");
}

/** Locally: CPU per 1,000 predictions and the peak memory a replica needs (to size `compute`). */
function renderLocalCost(cost: LocalApiCost): string {
  const perThousand =
    cost.cpuPerThousandPredictions === undefined
      ? "no prediction yet"
      : `${cost.cpuPerThousandPredictions.seconds} CPU-seconds per 1,000 predictions`;
  return [
    `usage: ${perThousand}; peak memory ${formatBytes(cost.peakMemoryPerReplica.bytes)} per replica`,
    `  ${cost.cpu.seconds} CPU-seconds for ${cost.predictions} predictions by ${cost.replicas} replica${cost.replicas === 1 ? "" : "s"}; ${cost.note}`,
  ].join("\n");
}

/** Dollars with 4 significant digits below a dollar (`$0.01234`), cents above (`$1.23`). */
export function formatUsd(usd: number): string {
  return usd >= 1 ? `$${usd.toFixed(2)}` : `$${Number(usd.toPrecision(4))}`;
}

/** `2.31 ms`, `1.5 s`; `-` before the first request (Cortex's `avg request` style). */
export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "-";
  if (ms < 1000) return `${Number(ms.toPrecision(3))} ms`;
  return `${Number((ms / 1000).toPrecision(3))} s`;
}

/** A request count, `-` when zero. */
export function formatCount(count: number | undefined): string {
  return count === undefined || count === 0 ? "-" : String(count);
}
