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

/**
 * POSTs `payload` to the API's endpoint.
 *
 * @throws UserError when the endpoint cannot be reached or answers non-2xx (with the body).
 */
export async function predict(
  client: ApiClient,
  apiName: string,
  payload: string,
  signal: AbortSignal,
): Promise<PredictResponse> {
  const api = await client.getApi(apiName);
  let response: HttpResponse;
  try {
    response = await sendHttp({
      method: "POST",
      url: api.endpoint,
      headers: { "content-type": "application/json" },
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
  const body = await response.text();
  if (!response.ok) {
    throw new UserError(`${apiName} answered ${response.status} ${response.statusText}`.trimEnd(), {
      ...(body.trim() === "" ? {} : { details: body.trimEnd() }),
      hint: `see the api's logs with \`axon logs ${apiName}\``,
    });
  }
  return { status: response.status, contentType: response.headers["content-type"] ?? null, body };
}
