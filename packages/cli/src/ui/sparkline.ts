/** Tiny inline charts for live views: `▁▂▃▅▇` scaled to the largest value shown. Pure. */

const BARS = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"] as const;

/**
 * The last `width` values as bars, oldest first (the line grows to `width`, then scrolls);
 * `null` (nothing measured) is a space. All zeros draw the lowest bar.
 */
export function sparkline(values: readonly (number | null)[], width: number): string {
  if (width <= 0) return "";
  const shown = values.slice(-width);
  const max = Math.max(0, ...shown.map((value) => value ?? 0));
  const bars = shown.map((value) => {
    if (value === null) return " ";
    if (max === 0) return BARS[0];
    const index = Math.min(BARS.length - 1, Math.round((value / max) * (BARS.length - 1)));
    return BARS[index] ?? BARS[0];
  });
  return bars.join("");
}
