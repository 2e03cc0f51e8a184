/**
 * The plain forms of `axon get`, recognised without commander: `get`, `get NAME`, `get NAME JOB`
 * (a batch job), each with at most one `-o/--output json|pretty`. They are the command scripts
 * poll, and commander's own start-up (~15 ms of CPU here: it loads child_process, util and its
 * 100 KB of parser) is what kept `axon get -o json` over DESIGN's 2.5x budget. Anything else on
 * the line — another flag, a third argument, `--help`, a root option, an unknown format — returns
 * undefined and commander parses the line as before, so help, errors, completion and the rest keep
 * commander's exact behaviour; both paths run the same `runGetOnce`.
 */
import type { GetOnceRequest } from "./commands/get-once.js";
import { type CliContext, resolveHomeOption } from "./context.js";
import { OUTPUT_FORMATS, type OutputFormat } from "./output.js";

/** The request `argv` makes when it is a plain `axon get`; undefined for anything else. */
export function parseFastGet(argv: readonly string[], ctx: CliContext): GetOnceRequest | undefined {
  if (argv[0] !== "get") return undefined;
  let name: string | undefined;
  let job: string | undefined;
  let output: OutputFormat | undefined;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    let format: string | undefined;
    if (arg === "-o" || arg === "--output") format = argv[++i];
    else if (arg.startsWith("--output=")) format = arg.slice("--output=".length);
    else if (arg.startsWith("-o") && arg.length > 2) format = arg.slice(2);
    else if (!arg.startsWith("-") && name === undefined) {
      name = arg;
      continue;
    } else if (!arg.startsWith("-") && job === undefined) {
      job = arg;
      continue;
    } else return undefined;
    if (output !== undefined || !isOutputFormat(format)) return undefined;
    output = format;
  }
  return {
    home: resolveHomeOption(ctx, undefined),
    ...(name === undefined ? {} : { name }),
    ...(job === undefined ? {} : { job }),
    output: output ?? "pretty",
  };
}

function isOutputFormat(value: string | undefined): value is OutputFormat {
  return OUTPUT_FORMATS.some((format) => format === value);
}
