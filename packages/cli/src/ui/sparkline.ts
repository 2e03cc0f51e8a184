/** Tiny inline charts for live views: `▁▂▃▅▇` scaled to the largest value shown. Pure. */

const BARS = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"] as const;

/**
 * The last `width` values as bars, oldest first (the line grows to `width`, then scrolls);
 * `null` (nothing measured) is a space. Bars are scaled from zero (`from: "zero"`, for rates:
 * all zeros draw the lowest bar) or from the smallest value shown (`"min"`, for latencies, whose
 * changes matter more than their size: a flat line draws middle bars).
 */
export function sparkline(
  values: readonly (number | null)[],
  width: number,
  from: "zero" | "min" = "zero",
): string {
  if (width <= 0) return "";
  const shown = values.slice(-width);
  const measured = shown.filter((value): value is number => value !== null);
  const max = Math.max(0, ...measured);
  const min = from === "min" && measured.length > 0 ? Math.min(...measured) : 0;
  const bars = shown.map((value) => {
    if (value === null) return " ";
    if (max === min) return from === "min" ? BARS[3] : BARS[0];
    const index = Math.round(((value - min) / (max - min)) * (BARS.length - 1));
    return BARS[Math.min(BARS.length - 1, index)] ?? BARS[0];
  });
  return bars.join("");
}
