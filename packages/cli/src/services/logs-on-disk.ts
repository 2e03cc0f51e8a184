/**
 * `axon logs` while the local cluster is down: the API's log file under `$AXON_HOME/logs/` read
 * directly, in the same shape as the daemon's log stream, so filters and rendering are unchanged.
 * Workers write that file themselves, so it holds everything up to the moment the cluster stopped.
 */
import { open } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../errors.js";

/** The most of a log file read from its end (the daemon's tail reads no more either). */
const MAX_READ_BYTES = 64 * 1024 * 1024;
/** API names (DNS-1035, as the config schema says): nothing that could leave the logs folder. */
const API_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Where the local provider keeps an API's log (providers/local/api-logs.ts in the control plane). */
export function apiLogFile(home: string, name: string): string {
  if (!API_NAME.test(name)) {
    throw new UserError(`${name} is not an API name`, {
      hint: "API names are lower-case letters, digits and dashes, starting with a letter",
    });
  }
  return path.join(home, "logs", `${name}.log`);
}

/** A log source reading `$AXON_HOME/logs/<api>.log`; `follow` ends with the file (nothing writes it). */
export function logFileSource(home: string): {
  streamLogs(
    name: string,
    options: { follow: boolean; tail: number },
    onText: (text: string) => void,
  ): Promise<void>;
} {
  return {
    async streamLogs(name, options, onText) {
      const file = apiLogFile(home, name);
      let handle;
      try {
        handle = await open(file, "r");
      } catch (error) {
        throw new UserError(`the local cluster is not running, and ${name} has no log file`, {
          hint: `no ${file}: check the API's name (\`axon get\` once the cluster runs: \`axon cluster up\`)`,
          cause: error,
        });
      }
      try {
        const { size } = await handle.stat();
        const length = Math.min(size, MAX_READ_BYTES);
        const buffer = Buffer.alloc(length);
        await handle.read(buffer, 0, length, size - length);
        let text = buffer.toString("utf8");
        // A read that starts mid-file starts mid-line: drop that partial line.
        if (length < size) text = text.slice(text.indexOf("\n") + 1);
        onText(lastLines(text, options.tail));
      } finally {
        await handle.close();
      }
    },
  };
}

/** The last `count` lines of `text` (each with its newline). */
function lastLines(text: string, count: number): string {
  if (count <= 0) return "";
  let at = text.endsWith("\n") ? text.length - 1 : text.length;
  for (let i = 0; i < count; i++) {
    const before = text.lastIndexOf("\n", at - 1);
    if (before < 0) return text;
    at = before;
  }
  return text.slice(at + 1);
}
