/**
 * `axon submit`'s job file: read, parsed as JSON and checked to be an object, with a mistake
 * reported as `file:line:column` so it is found in an editor. The fields and their bounds are
 * checked by the control plane (one rule for the CLI and for a `POST <endpoint>` from any
 * client), which names the field it refuses.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import type { BatchJobSubmission } from "@axon/control-plane/api";
import { UserError } from "../errors.js";

/** Where the job spec comes from: a file, or stdin (`-`). */
export type JobFileSource = { file: string } | { stdin: Readable };

const JOB_SPEC_HINT =
  'a job spec is a JSON object such as {"workers": 2, "item_list": {"items": [...], "batch_size": 100}} (docs/batch.md)';

/** Reads and parses the job spec; throws a `UserError` naming the file (and line) otherwise. */
export async function readJobFile(source: JobFileSource, cwd: string): Promise<BatchJobSubmission> {
  let text: string;
  let name: string;
  if ("file" in source) {
    name = source.file;
    try {
      text = await readFile(path.resolve(cwd, source.file), "utf8");
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
      throw new UserError(
        missing ? `there is no file ${source.file}` : `cannot read ${source.file}`,
        { hint: "pass the path of a JSON job spec, or - to read it from stdin", cause: error },
      );
    }
  } else {
    name = "stdin";
    const chunks: Buffer[] = [];
    for await (const chunk of source.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
    text = Buffer.concat(chunks).toString("utf8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const { line, column } = positionOf(text, message);
    throw new UserError(`${name} is not valid JSON`, {
      diagnostics: [
        { file: name, line, column, path: "", message: message.replace(/ in JSON at .*$/, "") },
      ],
      hint: JOB_SPEC_HINT,
      cause: error,
    });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const got = Array.isArray(value) ? "a list" : value === null ? "null" : `a ${typeof value}`;
    throw new UserError(`${name} is ${got}, not a job spec`, { hint: JOB_SPEC_HINT });
  }
  return value as BatchJobSubmission;
}

/**
 * The 1-based line and column of a `JSON.parse` error: from the `position N` V8 puts in its
 * message, else (the text ended early) the end of the text.
 */
export function positionOf(text: string, message: string): { line: number; column: number } {
  const match = /at position (\d+)/.exec(message);
  const offset = match === null ? text.length : Math.min(Number(match[1]), text.length);
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - (before.lastIndexOf("\n") + 1) + 1;
  return { line, column };
}
