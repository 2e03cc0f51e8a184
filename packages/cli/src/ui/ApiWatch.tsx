/**
 * The `axon get --watch` screen: every API as a row (status, replicas by state, requests per
 * second, latencies, responses by class and a sparkline of requests per second), or one API in
 * detail with sparklines of requests per second and p99 and its recent events. An API whose
 * engine reports `traffic` (ECS: the load balancer's per-minute numbers) draws those minutes
 * instead of the trends of consecutive looks. Props in, view out: `use-api-watch.ts` does the
 * polling, `live-watch.tsx` mounts it.
 */
import type {
  ApiDetail,
  ApiStatus,
  ApiSummary,
  ApiTraffic,
  EventLevel,
} from "@axon/control-plane/api";
import { Box, Text } from "ink";
import type { ReactNode } from "react";
import { formatAge } from "../output.js";
import {
  currentRate,
  TREND_SAMPLES,
  type ApiTrends,
  type WatchSnapshot,
} from "../services/watch.js";
import { renderAutoscalingSection } from "./api-history.js";
import { formatCount, formatLatency } from "./apis.js";
import { renderBatchApiList } from "./jobs.js";
import { sparkline } from "./sparkline.js";
import { Tint } from "./Tint.js";

/** An event line as the view shows it (from the API's stored events or the live stream). */
export interface WatchEvent {
  time: string;
  level: EventLevel;
  message: string;
}

export interface ApiWatchProps {
  /** Undefined until the first look answers. */
  snapshot: WatchSnapshot | undefined;
  trends: ApiTrends;
  /** Recent events of the watched API, oldest first (one API only). */
  events: readonly WatchEvent[];
  now: Date;
  /** Terminal columns. */
  width: number;
  intervalMs: number;
}

/** How many events the one-API screen shows. */
export const WATCH_EVENT_COUNT = 8;

/** The whole screen. */
export function ApiWatch(props: ApiWatchProps): ReactNode {
  const { snapshot } = props;
  // An engine whose numbers cost calls says how often to look (use-api-watch.ts follows it).
  const intervalMs = snapshot?.redrawMs ?? props.intervalMs;
  const seconds = `${Math.round(intervalMs / 100) / 10}s`;
  const header = (
    <Text>
      <Tint bold>axon get --watch</Tint>
      <Tint dim>{`  ${clock(props.now)} · every ${seconds} · Ctrl-C to stop`}</Tint>
    </Text>
  );
  if (snapshot === undefined) {
    return (
      <Box flexDirection="column">
        {header}
        <Text>looking at the cluster...</Text>
      </Box>
    );
  }
  return (
    <Box flexDirection="column">
      {header}
      <Text> </Text>
      {snapshot.detail === undefined ? (
        <Box flexDirection="column">
          {snapshot.apis.length > 0 || snapshot.batchApis === undefined ? (
            <ApiRows
              apis={snapshot.apis}
              trends={props.trends}
              now={props.now}
              width={props.width}
            />
          ) : null}
          {snapshot.batchApis === undefined ? null : (
            <Box flexDirection="column" marginTop={snapshot.apis.length > 0 ? 1 : 0}>
              <Text>{renderBatchApiList(snapshot.batchApis, props.now)}</Text>
            </Box>
          )}
        </Box>
      ) : (
        <OneApi
          api={snapshot.detail}
          trends={props.trends}
          events={props.events}
          now={props.now}
          width={props.width}
        />
      )}
    </Box>
  );
}

interface Column {
  header: string;
  cell: (api: ApiSummary) => string;
  tint?: (api: ApiSummary) => "green" | "yellow" | "red" | undefined;
}

/** Between columns (narrower than the plain list's three spaces, to leave room for the chart). */
const GAP = "  ";

/** Every API, one row each, sorted by name. */
function ApiRows(props: {
  apis: readonly ApiSummary[];
  trends: ApiTrends;
  now: Date;
  width: number;
}): ReactNode {
  if (props.apis.length === 0) return <Text>no apis are deployed</Text>;
  const apis = [...props.apis].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const columns: Column[] = [
    { header: "api", cell: (api) => api.name },
    { header: "status", cell: (api) => api.status, tint: (api) => statusColor(api.status) },
    { header: "replicas", cell: (api) => describeReplicas(api) },
    { header: "req/s", cell: (api) => formatRate(currentRate(props.trends.get(api.name))) },
    { header: "avg", cell: (api) => formatLatency(api.metrics?.avgLatencyMs) },
    { header: "p99", cell: (api) => formatLatency(api.metrics?.p99LatencyMs) },
    { header: "2XX", cell: (api) => formatCount(api.metrics?.requests["2XX"]) },
    {
      header: "4XX",
      cell: (api) => formatCount(api.metrics?.requests["4XX"]),
      tint: (api) => ((api.metrics?.requests["4XX"] ?? 0) > 0 ? "yellow" : undefined),
    },
    {
      header: "5XX",
      cell: (api) => formatCount(api.metrics?.requests["5XX"]),
      tint: (api) => ((api.metrics?.requests["5XX"] ?? 0) > 0 ? "red" : undefined),
    },
  ];
  const widths = columns.map((column) =>
    Math.max(column.header.length, ...apis.map((api) => column.cell(api).length)),
  );
  const used = widths.reduce((sum, width) => sum + width + GAP.length, 0);
  // The sparkline takes what is left of the line, within reason; on a narrow terminal, none.
  const chart = Math.max(0, Math.min(TREND_SAMPLES / 2, props.width - used - 1));
  const cell = (text: string, i: number): string =>
    i === columns.length - 1 && chart < 8 ? text : `${text.padEnd(widths[i] ?? 0)}${GAP}`;
  return (
    <Box flexDirection="column">
      <Text>
        <Tint dim>
          {columns.map((column, i) => cell(column.header, i)).join("")}
          {chart >= 8 ? "req/s, last 2m".slice(0, chart) : ""}
        </Tint>
      </Text>
      {apis.map((api) => (
        <Text key={api.name}>
          {columns.map((column, i) => {
            const text = cell(column.cell(api), i);
            const color = column.tint?.(api);
            return color === undefined ? (
              <Text key={column.header}>{text}</Text>
            ) : (
              <Tint key={column.header} color={color}>
                {text}
              </Tint>
            );
          })}
          {chart >= 8 ? (
            <Tint color="cyan">
              {sparkline(props.trends.get(api.name)?.requestsPerSecond ?? [], chart)}
            </Tint>
          ) : null}
        </Text>
      ))}
    </Box>
  );
}

/** One API: its numbers with sparklines, then its recent events. */
function OneApi(props: {
  api: ApiDetail;
  trends: ApiTrends;
  events: readonly WatchEvent[];
  now: Date;
  width: number;
}): ReactNode {
  const { api } = props;
  const trend = props.trends.get(api.name);
  const chart = Math.max(0, Math.min(TREND_SAMPLES, props.width - 24));
  const metrics = api.metrics;
  // The two sparklines start in one column: their values are padded to the wider of the two, and
  // both begin at the first look with a rate (the first look has a p99 but no rate yet, which
  // drew a blank at the start of the requests line only).
  const rateText = formatRate(currentRate(trend));
  const p99Text = formatLatency(metrics?.p99LatencyMs);
  const valueWidth = Math.max(9, rateText.length, p99Text.length);
  const firstRate = Math.max(
    0,
    (trend?.requestsPerSecond ?? []).findIndex((value) => value !== null),
  );
  const requestTrend = (trend?.requestsPerSecond ?? []).slice(firstRate);
  const p99Trend = (trend?.p99LatencyMs ?? []).slice(firstRate);
  const events = props.events.slice(-WATCH_EVENT_COUNT);
  // The autoscaler's last signal, a change held back and the last change, as `get <api>` says them.
  const autoscaling = (renderAutoscalingSection(api, props.now) ?? "")
    .split("\n")
    .slice(1)
    .map((line) => line.trim());
  return (
    <Box flexDirection="column">
      <Text>
        <Tint bold>{api.name}</Tint>
        {"   "}
        <Tint color={statusColor(api.status)}>{api.status}</Tint>
        {"   "}
        {api.endpoint}
      </Text>
      {api.statusMessage === undefined || api.statusMessage === "" ? null : (
        <Tint color={api.status === "error" ? "red" : "yellow"}>{api.statusMessage}</Tint>
      )}
      <Text> </Text>
      {api.traffic === undefined ? (
        <Box flexDirection="column">
          <Row label="replicas">{describeReplicaStates(api)}</Row>
          <Row label="requests">
            {`${rateText.padEnd(valueWidth)} `}
            <Tint color="cyan">{sparkline(requestTrend, chart)}</Tint>
          </Row>
          <Row label="p99">
            {`${p99Text.padEnd(valueWidth)} `}
            <Tint color="magenta">{sparkline(p99Trend, chart, "min")}</Tint>
          </Row>
          <Row label="avg">{formatLatency(metrics?.avgLatencyMs)}</Row>
          <Row label="responses">{describeResponses(metrics?.requests)}</Row>
          <Row label="in flight">{metrics === undefined ? "-" : String(metrics.inFlight)}</Row>
        </Box>
      ) : (
        <TrafficRows traffic={api.traffic} chart={chart} />
      )}
      {autoscaling.length === 0 ? null : (
        <Box flexDirection="column">
          <Text> </Text>
          <Tint dim>autoscaling</Tint>
          {autoscaling.map((line, index) => (
            <Text key={index} wrap="truncate-end">{`  ${line}`}</Text>
          ))}
        </Box>
      )}
      <Text> </Text>
      <Tint dim>events</Tint>
      {events.length === 0 ? <Text>{"  none yet"}</Text> : null}
      {events.map((event, index) => (
        <Text key={`${event.time}-${index}`} wrap="truncate-end">
          {"  "}
          <Tint dim>{`${formatAge(new Date(event.time), props.now)} ago`.padEnd(9)}</Tint>
          <Tint color={levelColor(event.level)}>{event.level.padEnd(8)}</Tint>
          {event.message}
        </Text>
      ))}
    </Box>
  );
}

/**
 * An API's traffic as its load balancer counted it, a minute per bar: requests/s, the 5xx share and
 * p99, each with the latest whole minute's value; then the task counts and autoscaling's bounds.
 */
function TrafficRows(props: { traffic: ApiTraffic; chart: number }): ReactNode {
  const { traffic, chart } = props;
  const last = traffic.minutes.at(-1);
  const rates = traffic.minutes.map((minute) => minute.requestsPerSecond);
  const errors = traffic.minutes.map((minute) => minute.errorRate);
  const p99s = traffic.minutes.map((minute) => minute.p99Ms);
  const rateText = last === undefined ? "-" : formatRate(last.requestsPerSecond);
  const errorText =
    last?.errorRate === null || last === undefined ? "-" : `${round1(last.errorRate * 100)}%`;
  const p99Text = formatLatency(last?.p99Ms);
  const valueWidth = Math.max(9, rateText.length, errorText.length, p99Text.length);
  const { desired, running, pending } = traffic.replicas;
  const scaling =
    traffic.scaling === undefined
      ? ""
      : ` · autoscaling ${traffic.scaling.min}–${traffic.scaling.max}`;
  const hasErrors = errors.some((rate) => rate !== null && rate > 0);
  return (
    <Box flexDirection="column">
      <Row label="replicas">{`${running} running of ${desired} desired · ${pending} pending${scaling}`}</Row>
      <Row label="requests">
        {`${rateText.padEnd(valueWidth)} `}
        <Tint color="cyan">{sparkline(rates, chart)}</Tint>
      </Row>
      <Row label="5xx">
        {`${errorText.padEnd(valueWidth)} `}
        <Tint color={hasErrors ? "red" : "cyan"}>{sparkline(errors, chart)}</Tint>
      </Row>
      <Row label="p99">
        {`${p99Text.padEnd(valueWidth)} `}
        <Tint color="magenta">{sparkline(p99s, chart, "min")}</Tint>
      </Row>
      {traffic.unavailable === undefined ? (
        <Tint
          dim
        >{`${" ".repeat(12)}per minute, last ${traffic.minutes.length}m, from the load balancer`}</Tint>
      ) : (
        <Text wrap="truncate-end">
          <Tint color="yellow">{`${" ".repeat(12)}no traffic numbers: ${traffic.unavailable}`}</Tint>
        </Text>
      )}
    </Box>
  );
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/**
 * Responses by class in words, the classes with none left out: `100 ok (2XX) · 2 server errors
 * (5XX)`; `none yet` before the first. (`4XX -` read as a dash, not as zero.)
 */
export function describeResponses(
  requests: { "2XX": number; "4XX": number; "5XX": number } | undefined,
): string {
  if (requests === undefined) return "none yet";
  const parts = [
    requests["2XX"] > 0 ? `${requests["2XX"]} ok (2XX)` : "",
    requests["4XX"] > 0 ? `${requests["4XX"]} client errors (4XX)` : "",
    requests["5XX"] > 0 ? `${requests["5XX"]} server errors (5XX)` : "",
  ].filter((part) => part !== "");
  return parts.length === 0 ? "none yet" : parts.join(" · ");
}

function Row(props: { label: string; children: ReactNode }): ReactNode {
  return (
    <Text>
      <Tint dim>{props.label.padEnd(12)}</Tint>
      {props.children}
    </Text>
  );
}

/** `2/2`, with what is not ready yet: `1/2 +1 starting`, `0/1 1 failed`. */
function describeReplicas(api: ApiSummary): string {
  const { upToDate, requested, initializing, failed, stale } = api.replicas;
  const extra = [
    initializing > 0 ? `+${initializing} starting` : "",
    stale > 0 ? `${stale} old` : "",
    failed > 0 ? `${failed} failed` : "",
  ].filter((part) => part !== "");
  return [`${upToDate}/${requested}`, ...extra].join(" ");
}

/** Every state with its count, for the one-API screen. */
function describeReplicaStates(api: ApiSummary): string {
  const { upToDate, requested, initializing, failed, stale } = api.replicas;
  return `${upToDate} ready of ${requested} requested · ${initializing} starting · ${stale} on the old version · ${failed} failed`;
}

function levelColor(level: EventLevel): "red" | "yellow" | undefined {
  return level === "error" ? "red" : level === "warning" ? "yellow" : undefined;
}

function statusColor(status: ApiStatus): "green" | "yellow" | "red" | undefined {
  switch (status) {
    case "live":
      return "green";
    case "updating":
      return "yellow";
    case "error":
      return "red";
    case "unknown":
      return undefined;
  }
}

/** `14.0/s`, `0.3/s`, `-` before two looks. */
function formatRate(rate: number | undefined): string {
  if (rate === undefined) return "-";
  return `${rate >= 100 ? Math.round(rate) : rate.toFixed(1)}/s`;
}

function clock(date: Date): string {
  return date.toTimeString().slice(0, 8);
}
