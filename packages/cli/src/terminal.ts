/**
 * What the terminal in front of `axon` can do, decided once in `main.ts` from the environment and
 * handed to commands through the context: whether to colour (`NO_COLOR`, `FORCE_COLOR`,
 * `TERM=dumb`, a TTY), and whether a live view may redraw the screen. Plus the few ANSI styles the
 * plain-text renderers use, so they need neither chalk nor ink (start-up stays light).
 */

/** The environment variables that decide colour, as `process.env` has them. */
export type TerminalEnv = Readonly<Record<string, string | undefined>>;

/**
 * Whether to print colours: `FORCE_COLOR` wins (`0`/`false` turn them off, anything else on), then
 * `NO_COLOR` (any non-empty value, https://no-color.org) and `TERM=dumb` turn them off; otherwise
 * colours follow whether stdout is a terminal.
 */
export function shouldColor(env: TerminalEnv, stdoutIsTTY: boolean): boolean {
  const force = env["FORCE_COLOR"];
  if (force !== undefined && force !== "") return force !== "0" && force !== "false";
  if (env["NO_COLOR"] !== undefined && env["NO_COLOR"] !== "") return false;
  if (env["TERM"] === "dumb") return false;
  return stdoutIsTTY;
}

/**
 * Whether a live view (ink, redrawn in place) may run: a person at a terminal that understands
 * cursor movement. `TERM=dumb` (Emacs shells, some CI) gets the plain rendering instead.
 */
export function canRedraw(env: TerminalEnv, interactive: boolean): boolean {
  return interactive && env["TERM"] !== "dumb";
}

/** The styles the plain renderers use. */
export type Style = "bold" | "dim" | "red" | "green" | "yellow" | "blue" | "magenta" | "cyan";

const SGR: Record<Style, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  magenta: [35, 39],
  cyan: [36, 39],
};

/** A function that styles text, or leaves it alone when colours are off. */
export type Painter = (style: Style, text: string) => string;

/** The painter for this invocation: ANSI SGR codes when `enabled`, identity otherwise. */
export function makePainter(enabled: boolean): Painter {
  if (!enabled) return (_style, text) => text;
  return (style, text) => {
    const [open, close] = SGR[style];
    return `\u001b[${open}m${text}\u001b[${close}m`;
  };
}

/**
 * Colours for things that need to be told apart (replicas in `axon logs`): the same name always
 * gets the same one, in every run, so a person learns "the magenta replica".
 */
export const DISTINCT_STYLES: readonly Style[] = ["cyan", "magenta", "yellow", "green", "blue"];

/** A stable pick from `DISTINCT_STYLES` for `name` (FNV-1a, so it does not change between runs). */
export function distinctStyle(name: string): Style {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i += 1) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return DISTINCT_STYLES[hash % DISTINCT_STYLES.length] ?? "cyan";
}
