/**
 * The end of every `--help`: examples a person can copy, each with what it does. Kept beside the
 * command that owns them (`withExamples(new Command(...), [...])`), so help and code change together.
 */
import type { Command } from "commander";

/** One example: the command line, and what it does. */
export type Example = readonly [commandLine: string, what: string];

/** Appends an `Examples:` block to `command`'s help and returns the command. */
export function withExamples<T extends Command>(command: T, examples: readonly Example[]): T {
  return command.addHelpText("after", `\n${renderExamples(examples)}`);
}

/** `Examples:` then, for each, `  $ command` and what it does under it (fits 80 columns). */
export function renderExamples(examples: readonly Example[]): string {
  const lines = examples.map(([line, what]) => `  $ ${line}\n      ${what}`);
  return `Examples:\n${lines.join("\n")}`;
}
