/**
 * The calling shell's AWS settings, sent by the CLI in `AWS_SETTINGS_HEADER` with the cluster
 * routes. Only the variables Axon forwards are kept; anything malformed is refused by name.
 */
import type { FastifyRequest } from "fastify";
import { isForwardedAwsVariable } from "@axon/config";
import { AWS_SETTINGS_HEADER } from "../contract/index.js";
import { DomainError } from "../errors.js";

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
