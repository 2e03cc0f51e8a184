/**
 * What the cluster routes hand the AWS cluster service: the store, the event sink, a signal, and
 * the calling shell's AWS settings, sent by the CLI in `AWS_SETTINGS_HEADER` (only the variables
 * Axon forwards are kept; a malformed header is refused by name).
 */
import type { FastifyRequest } from "fastify";
import { isForwardedAwsVariable } from "@axon/config";
import { AWS_SETTINGS_HEADER, type ClusterStreamLine } from "../contract/index.js";
import { DomainError } from "../errors.js";
import type { AwsApisDeps } from "../services/aws-apis.js";
import type { AwsClusterDeps } from "../services/aws-cluster.js";
import type { RouteContext } from "./context.js";

/** A plain request gets this long; streamed ones run until done or the client leaves. */
const PLAIN_REQUEST_MS = 60_000;

/**
 * The service's deps for `request`. With `send` (a streamed route), each stack resource's step and
 * each progress message become NDJSON lines.
 */
export function clusterDeps(
  context: RouteContext,
  request: FastifyRequest,
  stream?: { signal: AbortSignal; send: (line: ClusterStreamLine<never>) => void },
): AwsClusterDeps {
  const base = {
    store: context.store,
    events: context.events,
    awsSettings: awsSettingsOf(request),
  };
  if (stream === undefined) return { ...base, signal: AbortSignal.timeout(PLAIN_REQUEST_MS) };
  return {
    ...base,
    signal: stream.signal,
    onResource: (resource) => stream.send({ type: "resource", resource }),
    onProgress: (message) => stream.send({ type: "progress", message }),
  };
}

/** The AWS APIs service's deps for `request` (see `clusterDeps`), with the bundle store. */
export function awsApisDeps(
  context: RouteContext,
  request: FastifyRequest,
  options: { signal?: AbortSignal; onProgress?: (message: string) => void } = {},
): AwsApisDeps {
  return {
    bundles: context.bundles,
    awsSettings: awsSettingsOf(request),
    signal: options.signal ?? AbortSignal.timeout(PLAIN_REQUEST_MS),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  };
}

/** The settings in `request`'s header; empty when it has none. */
export function awsSettingsOf(request: FastifyRequest): Record<string, string> {
  const header = request.headers[AWS_SETTINGS_HEADER];
  if (typeof header !== "string" || header === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(header, "base64").toString("utf8"));
  } catch (error) {
    throw new DomainError(
      "request.invalid",
      `the ${AWS_SETTINGS_HEADER} header is not base64 JSON`,
      {
        cause: error,
      },
    );
  }
  const settings: Record<string, string> = {};
  if (typeof value !== "object" || value === null) return settings;
  for (const [name, setting] of Object.entries(value)) {
    if (typeof setting === "string" && isForwardedAwsVariable(name)) settings[name] = setting;
  }
  return settings;
}
