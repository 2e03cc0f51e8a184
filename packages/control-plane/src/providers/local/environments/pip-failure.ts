/**
 * What made `pip install` fail, from its output: pip's own `ERROR:` lines, and when pip only says
 * a subprocess failed ("This error originates from a subprocess, and is likely not a problem with
 * pip", "See above for output"), the line of that subprocess's output that names the cause
 * (`fatal: unable to access '…': Could not resolve host: github.com`, `RuntimeError: needs nvcc`)
 * and the requirement pip was collecting — so the build error says why, not that pip could not.
 */

/** A line of a subprocess's output that states a cause rather than context. */
const CAUSE =
  /^(fatal|error|ERROR)\b|\b[A-Za-z_.]*(Error|Exception)\b:|Could not|No such file|not found|Permission denied/;
const GENERIC =
  /This error originates from a subprocess|This is an issue with the package mentioned above/;
const OUTPUT_START = /^\s*╰─> \[\d+ lines? of output\]\s*$/;
const OUTPUT_END = /^\s*\[end of output\]\s*$/;
const SUBPROCESS_FAILED = /^\s*error: subprocess-exited-with-error\s*$/;
const COLLECTING = /^(Collecting|Processing|Obtaining) (.+)$/;

/**
 * The message of a failed pip run, from the last lines of its output (interleaved stdout and
 * stderr): the cause when pip blames a subprocess, pip's `ERROR:` lines, or its last line.
 */
export function describePipFailure(tail: readonly string[]): string {
  const errors = tail.filter((line) => line.startsWith("ERROR:"));
  const cause = tail.some((line) => GENERIC.test(line)) ? subprocessCause(tail) : null;
  if (cause !== null) return [cause, ...errors].join("\n");
  return errors.length > 0 ? errors.join("\n") : (tail.at(-1) ?? "(no output)");
}

/** The cause in a failed subprocess's output, with the requirement being collected; null when none is found. */
function subprocessCause(tail: readonly string[]): string | null {
  // A captured block ("╰─> [6 lines of output]" … "[end of output]"): a build step's own output,
  // its start perhaps cut off the tail.
  const end = tail.findLastIndex((line) => OUTPUT_END.test(line));
  let lines: string[];
  let before: number;
  if (end >= 0) {
    const start = tail.slice(0, end).findLastIndex((line) => OUTPUT_START.test(line));
    lines = tail.slice(start + 1, end).map((line) => line.trim());
    before = Math.max(start, 0);
  } else {
    // "See above for output": the subprocess wrote straight into pip's output, before pip's
    // first "error: subprocess-exited-with-error".
    before = tail.findIndex((line) => SUBPROCESS_FAILED.test(line));
    if (before < 0) return null;
    const collecting = tail.slice(0, before).findLastIndex((line) => COLLECTING.test(line));
    lines = tail.slice(collecting + 1, before).map((line) => line.trim());
  }
  const found = lines.findLast((line) => CAUSE.test(line)) ?? lines.findLast((line) => line !== "");
  if (found === undefined) return null;
  const requirement = COLLECTING.exec(
    tail.slice(0, before).findLast((line) => COLLECTING.test(line)) ?? "",
  );
  return requirement === null
    ? found
    : `${found} (${requirement[1]?.toLowerCase() ?? ""} ${requirement[2] ?? ""})`;
}
