/**
 * Has what the model answers shifted? The population stability index (PSI) between a baseline
 * distribution of predictions and a recent one — over the classes for a classifier, over the
 * baseline's deciles for a regressor — and a verdict in words:
 * `stable (PSI 0.03)` or `shifted: setosa 12% → 41% (PSI 0.31)`.
 *
 * PSI = Σ (recent − baseline) × ln(recent / baseline) over the bins, each share floored at 0.01%
 * so an empty bin does not make it infinite. 0.1 is the usual "look at it", 0.2 (the default
 * threshold) the usual "it moved".
 */
import { QuantileSketch, type SketchData } from "../replica/quantile-sketch.js";

export const DEFAULT_DRIFT_THRESHOLD = 0.2;
const FLOOR = 1e-4;

export interface DriftVerdict {
  psi: number;
  shifted: boolean;
  /** `stable (PSI 0.03)`, or `shifted: …` naming what moved. */
  message: string;
}

/** PSI over classes; `other` (classes beyond the kept ones) is a class of its own. */
export function classificationDrift(
  baseline: Record<string, number>,
  recent: Record<string, number>,
  threshold = DEFAULT_DRIFT_THRESHOLD,
): DriftVerdict {
  const labels = [...new Set([...Object.keys(baseline), ...Object.keys(recent)])];
  const baseTotal = total(baseline);
  const recentTotal = total(recent);
  let psi = 0;
  let moved = { label: "", from: 0, to: 0, by: -1 };
  for (const label of labels) {
    const p = (baseline[label] ?? 0) / baseTotal;
    const q = (recent[label] ?? 0) / recentTotal;
    psi += term(p, q);
    if (Math.abs(q - p) > moved.by) moved = { label, from: p, to: q, by: Math.abs(q - p) };
  }
  const shifted = psi >= threshold;
  return {
    psi: round2(psi),
    shifted,
    message: shifted
      ? `shifted: ${moved.label} ${percent(moved.from)} → ${percent(moved.to)} (PSI ${round2(psi)})`
      : `stable (PSI ${round2(psi)})`,
  };
}

/** PSI over the baseline's deciles, read from both sketches. */
export function regressionDrift(
  baseline: SketchData,
  recent: SketchData,
  threshold = DEFAULT_DRIFT_THRESHOLD,
): DriftVerdict {
  const base = QuantileSketch.from(baseline);
  const now = QuantileSketch.from(recent);
  const edges: number[] = [];
  for (let decile = 1; decile < 10; decile++) {
    const edge = base.quantile(decile / 10);
    if (edge !== null && (edges.length === 0 || edge > (edges.at(-1) ?? 0))) edges.push(edge);
  }
  let psi = 0;
  let previousBase = 0;
  let previousNow = 0;
  for (const edge of [...edges, Infinity]) {
    const baseCdf = edge === Infinity ? 1 : base.cdf(edge);
    const nowCdf = edge === Infinity ? 1 : now.cdf(edge);
    psi += term(baseCdf - previousBase, nowCdf - previousNow);
    previousBase = baseCdf;
    previousNow = nowCdf;
  }
  const shifted = psi >= threshold;
  const from = base.quantile(0.5);
  const to = now.quantile(0.5);
  return {
    psi: round2(psi),
    shifted,
    message: shifted
      ? `shifted: median ${formatNumber(from)} → ${formatNumber(to)} (PSI ${round2(psi)})`
      : `stable (PSI ${round2(psi)})`,
  };
}

function term(p: number, q: number): number {
  const a = Math.max(p, FLOOR);
  const b = Math.max(q, FLOOR);
  return (b - a) * Math.log(b / a);
}

function total(counts: Record<string, number>): number {
  let sum = 0;
  for (const count of Object.values(counts)) sum += count;
  return Math.max(sum, 1);
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function formatNumber(n: number | null): string {
  if (n === null) return "-";
  return Math.abs(n) >= 100 ? n.toFixed(0) : String(Number(n.toPrecision(3)));
}
