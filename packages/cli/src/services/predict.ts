/**
 * `axon predict`: send one JSON payload to an API's endpoint, the way a client of the API would.
 * The payload is checked locally first so a typo in the file is reported with its position.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import type { ApiClient } from "../client/api-client.js";
import { describeHttpError, sendHttp, type HttpResponse } from "../client/http.js";
import { InterruptedError, UserError } from "../errors.js";

/** The API's answer. */
export interface PredictResponse {
  status: number;
  contentType: string | null;
  body: string;
}

/** Where the payload comes from: a file, or stdin (`-`). */
export type PayloadSource = { file: string } | { stdin: Readable };

/** Reads the payload and checks that it is JSON; returns its text unchanged. */
export async function readJsonPayload(source: PayloadSource, cwd: string): Promise<string> {
  let text: string;
  let name: string;
  if ("file" in source) {
    name = source.file;
    try {
      text = await readFile(path.resolve(cwd, source.file), "utf8");
    } catch (error) {
      throw new UserError(`cannot read ${source.file}`, {
        hint: "pass the path of a JSON file, or - for stdin",
        cause: error,
      });
    }
  } else {
    name = "stdin";
    const chunks: Buffer[] = [];
    for await (const chunk of source.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
    text = Buffer.concat(chunks).toString("utf8");
  }
  try {
    JSON.parse(text);
  } catch (error) {
    throw new UserError(`${name} is not valid JSON: ${(error as Error).message}`, {
      hint: "axon predict sends application/json; for other payloads use curl against the endpoint",
      cause: error,
    });
  }
  return text;
}

/** Where the API key `axon predict` sends came from: named in errors, never the key itself. */
export type ApiKeySource = "--key" | "AXON_API_KEY";

/** The key to send, when one was given: `--key` wins over the `AXON_API_KEY` environment variable. */
export interface PredictKey {
  key: string;
  from: ApiKeySource;
}

/**
 * The key given to `axon predict`, or undefined: the flag's when there is one, else the
 * environment's (an empty variable counts as unset, as `AXON_API_KEY= axon predict` means none).
 */
export function chooseApiKey(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): PredictKey | undefined {
  if (flag !== undefined) return { key: flag, from: "--key" };
  const fromEnv = env["AXON_API_KEY"];
  return fromEnv === undefined || fromEnv === ""
    ? undefined
    : { key: fromEnv, from: "AXON_API_KEY" };
}

/**
 * POSTs `payload` to the API's endpoint, with `Authorization: Bearer <key>` when a key is given
 * (the header the replica front reads first; docs/security.md).
 *
 * @throws UserError when the endpoint cannot be reached or answers non-2xx (with the body); a
 *   401 says how to make and pass a key. The key itself is in no error: a terminal's scrollback
 *   and a CI log are where errors end up.
 */
export async function predict(
  client: ApiClient,
  apiName: string,
  payload: string,
  signal: AbortSignal,
  key?: PredictKey,
): Promise<PredictResponse> {
  const api = await client.getApi(apiName);
  let response: HttpResponse;
  try {
    response = await sendHttp({
      method: "POST",
      url: api.endpoint,
      headers: {
        "content-type": "application/json",
        ...(key === undefined ? {} : { authorization: `Bearer ${key.key}` }),
      },
      body: payload,
      signal,
    });
  } catch (error) {
    if (signal.aborted) throw new InterruptedError();
    throw new UserError(`cannot reach ${api.endpoint} (${describeHttpError(error)})`, {
      hint: `check the api with \`axon get ${apiName}\``,
      cause: error,
    });
  }
  // The front never echoes a key, but a predictor's own error body might: it is redacted anyway.
  const body = redact(await response.text(), key);
  if (!response.ok) {
    throw new UserError(`${apiName} answered ${response.status} ${response.statusText}`.trimEnd(), {
      ...(body.trim() === "" ? {} : { details: body.trimEnd() }),
      hint:
        response.status === 401
          ? unauthorizedHint(apiName, key)
          : `see the api's logs with \`axon logs ${apiName}\``,
    });
  }
  return { status: response.status, contentType: response.headers["content-type"] ?? null, body };
}

/** What to do about a 401: make and pass a key when none was sent, else check the one sent. */
function unauthorizedHint(apiName: string, key: PredictKey | undefined): string {
  if (key === undefined) {
    return `${apiName} requires an API key: make one with \`axon keys create ${apiName}\`, then pass it with --key KEY or the AXON_API_KEY environment variable`;
  }
  return `the key from ${key.from} was refused (revoked, expired or mistyped): see ${apiName}'s keys with \`axon keys list ${apiName}\`, or make one with \`axon keys create ${apiName}\``;
}

function redact(text: string, key: PredictKey | undefined): string {
  return key === undefined || key.key === "" ? text : text.replaceAll(key.key, "<key>");
}
