/**
 * Plain-text output primitives shared by every renderer: where text goes (`TextSink`), the one way
 * to print a JSON document, Cortex-style tables, and compact ages and sizes. All pure except
 * `printJson`, which only writes to the sink it is given.
 */

/** Somewhere text can be written: stdout (results) or stderr (progress and errors). */
export interface TextSink {
  write(text: string): void;
}

/** The values of `-o, --output`. */
export type OutputFormat = "pretty" | "json";

/** The `-o, --output` choices, in help order. */
export const OUTPUT_FORMATS: readonly OutputFormat[] = ["pretty", "json"];

/** Prints exactly one JSON document (and a newline) to `sink`; nothing else may share stdout. */
export function printJson(sink: TextSink, value: unknown): void {
  sink.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Renders rows as a Cortex-style table: left aligned, a header row, columns separated by three
 * spaces, no trailing spaces. Returns the text without a final newline.
 */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
      )
      .join("   ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/**
 * How long ago `since` was, Cortex style: seconds under a minute, minutes under an hour, hours
 * under 48 hours, then days (`27s`, `17m`, `19h`, `3d`). Future times count as `0s`.
 */
export function formatAge(since: Date, now: Date): string {
  const seconds = Math.max(0, Math.floor((now.getTime() - since.getTime()) / 1000));
  if (Number.isNaN(seconds)) return "-";
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

/** A byte count for humans: `512 B`, `3.2 KiB`, `40.0 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit] ?? "GiB"}`;
}

/** Indents every non-empty line of `text` by `spaces` spaces. */
export function indent(text: string, spaces = 2): string {
  const pad = " ".repeat(spaces);
  return text
    .split("\n")
    .map((line) => (line === "" ? line : pad + line))
    .join("\n");
}
