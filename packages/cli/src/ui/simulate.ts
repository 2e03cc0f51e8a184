/** Plain rendering of `axon autoscale simulate`: the timeline, then a one-line summary. */
import type { SimulationReport } from "../services/simulate.js";

export function renderSimulation(report: SimulationReport): string {
  const header = ["time", "req/s", "replicas", "ready", "in-flight/replica", "503s", "autoscaler"];
  const rows = report.ticks.map((t) => [
    formatClock(t.atSeconds),
    String(t.requestsPerSecond),
    String(t.requested),
    String(t.ready),
    t.inFlightPerReplica.toFixed(2),
    String(t.refused),
    t.note ?? "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join("\n")}\n\n${summarizeSimulation(report)}\n`;
}

/** `simulate: 1,234 requests, 56 estimated 503s (4.5%), 1–24 replicas; first scale-up after 190 s`. */
export function summarizeSimulation(report: SimulationReport): string {
  const share = report.requests === 0 ? 0 : (100 * report.refused) / report.requests;
  const firstUp =
    report.firstScaleUpAt === null
      ? "no scale-up"
      : `first scale-up after ${report.firstScaleUpAt} s`;
  return (
    `simulate ${report.api}: ${report.requests.toLocaleString("en-US")} requests, ` +
    `${report.refused.toLocaleString("en-US")} estimated 503s (${share.toFixed(1)}%), ` +
    `${report.minReplicas}–${report.maxReplicas} replicas; ${firstUp}`
  );
}

function formatClock(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${m}:${String(s).padStart(2, "0")}`;
}
