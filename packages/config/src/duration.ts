/**
 * Go `time.Duration` text (`60s`, `1m30s`, `500ms`, `1h2m3.5s`, `0`) as Cortex used it for the
 * autoscaling windows, and Go's `Duration.String()` rendering (`1m0s`) for showing resolved specs.
 * Values cross this module as milliseconds; formatting works on whole nanoseconds like Go does.
 */

const NANOS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  "\u00b5s": 1e3, // µ MICRO SIGN, the spelling Go prints
  "\u03bcs": 1e3, // μ GREEK SMALL LETTER MU, also accepted by Go
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const DURATION_PATTERN = /^[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+$/;
const COMPONENT_PATTERN = /(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/g;

/**
 * Parses a Go duration string into milliseconds (`1m30s` → 90000, `500ms` → 500, `0` → 0).
 *
 * @throws Error naming the text and showing valid examples when it is not a Go duration.
 */
export function parseDuration(text: string): number {
  if (text === "0" || text === "+0" || text === "-0") return 0;
  if (!DURATION_PATTERN.test(text)) {
    throw new Error(
      `${text}: invalid duration, some valid examples are 60s, 1m, 1m30s, 500ms (a unit is required: ns, us, ms, s, m, h)`,
    );
  }
  let nanos = 0;
  for (const [, value, unit] of text.matchAll(COMPONENT_PATTERN)) {
    nanos += Number(value) * (NANOS_PER_UNIT[unit ?? ""] ?? 0);
  }
  const millis = nanos / 1e6;
  return text.startsWith("-") ? -millis : millis;
}

/**
 * Formats milliseconds the way Go's `Duration.String()` does: `0s`, `500ms`, `1.5s`, `1m0s`,
 * `5m0s`, `1h0m0s`, `1h2m3.5s`. Sub-nanosecond fractions are rounded away.
 */
export function formatDuration(ms: number): string {
  const nanos = Math.round(ms * 1e6);
  if (nanos === 0) return "0s";
  const sign = nanos < 0 ? "-" : "";
  const abs = Math.abs(nanos);
  if (abs < 1e3) return `${sign}${abs}ns`;
  if (abs < 1e6) return `${sign}${withFraction(abs, 3)}\u00b5s`;
  if (abs < 1e9) return `${sign}${withFraction(abs, 6)}ms`;

  const totalSeconds = Math.floor(abs / 1e9);
  const secondsText = withFraction((totalSeconds % 60) * 1e9 + (abs % 1e9), 9);
  const totalMinutes = Math.floor(totalSeconds / 60);
  if (totalMinutes === 0) return `${sign}${secondsText}s`;
  const hours = Math.floor(totalMinutes / 60);
  const minutes = totalMinutes % 60;
  return hours === 0
    ? `${sign}${minutes}m${secondsText}s`
    : `${sign}${hours}h${minutes}m${secondsText}s`;
}

/** `value / 10^digits` printed with the fraction's trailing zeros dropped, like Go's fmtFrac. */
function withFraction(value: number, digits: number): string {
  const scale = 10 ** digits;
  const whole = Math.floor(value / scale);
  const fraction = String(value % scale)
    .padStart(digits, "0")
    .replace(/0+$/, "");
  return fraction === "" ? String(whole) : `${whole}.${fraction}`;
}
