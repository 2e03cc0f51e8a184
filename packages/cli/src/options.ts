/**
 * Flags and argument parsers shared by several commands, so `-o json` or a port means the same
 * thing everywhere. Parse failures throw commander's InvalidArgumentError, which exits 2 (usage).
 */
import { InvalidArgumentError, Option } from "commander";
import { UserError } from "./errors.js";
import { OUTPUT_FORMATS, type OutputFormat } from "./output.js";

/** `-o, --output <format>`: `pretty` (default) or `json` (exactly one document on stdout). */
export function outputOption(): Option {
  return new Option("-o, --output <format>", "output format")
    .choices(OUTPUT_FORMATS)
    .default("pretty");
}

/** The options object of a command that has `outputOption()`. */
export interface OutputOptions {
  output: OutputFormat;
}

/** Parses a TCP port flag value (1–65535). */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`"${value}" is not a TCP port (1-65535).`);
  }
  return port;
}

/** Parses a whole number ≥ 0 (line counts and the like). */
export function parseCount(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 0) {
    throw new InvalidArgumentError(`"${value}" is not a whole number.`);
  }
  return count;
}

/** The gateway port from `AXON_GATEWAY_PORT`, when set. */
export function gatewayPortFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): number | undefined {
  const value = env["AXON_GATEWAY_PORT"];
  if (value === undefined || value === "") return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UserError(`AXON_GATEWAY_PORT="${value}" is not a TCP port`, {
      hint: "set it to a number between 1 and 65535, or unset it to use 8888",
    });
  }
  return port;
}
