import { parseDuration } from "@axon/config";
import type { FastifyInstance } from "fastify";
import type { ApiDetail } from "../../contract/index.js";
import { DomainError } from "../../errors.js";
import { describeAwsApi } from "../../services/aws-apis.js";
import { describeApi } from "../../services/describe-api.js";
import { awsApisDeps } from "../cluster-deps.js";
import type { RouteContext } from "../context.js";
import { targetEnvironment } from "../environment-guard.js";

/** `GET /v1/apis/:name[?since=1h]`: `since` sets the start of the monitoring range. */
export function registerGetApiRoute(app: FastifyInstance, context: RouteContext): void {
  app.get<{ Params: { name: string }; Querystring: { since?: string } }>(
    "/v1/apis/:name",
    async (request): Promise<ApiDetail> => {
      const env = targetEnvironment(context, request);
      const now = new Date();
      const since = parseSince(request.query.since, now);
      if (env.provider === "aws")
        return describeAwsApi(awsApisDeps(context, request), env.record, request.params.name, {
          now,
          ...(since === undefined ? {} : { since }),
        });
      return describeApi(context, request.params.name, {
        now,
        ...(since === undefined ? {} : { since }),
      });
    },
  );
}

function parseSince(value: string | undefined, now: Date): Date | undefined {
  if (value === undefined || value === "") return undefined;
  try {
    return new Date(now.getTime() - parseDuration(value));
  } catch {
    throw new DomainError(
      "request.invalid",
      `since must be a duration like 1h or 30m (got ${value})`,
    );
  }
}
