import { parseDuration } from "@axon/config";
import type { FastifyInstance } from "fastify";
import type { ApiDetail } from "../../contract/index.js";
import { engineFor } from "../../engines/engine-for.js";
import { DomainError, REQUEST_INVALID } from "../../errors.js";
import type { RouteContext } from "../context.js";

/** `GET /v1/apis/:name[?since=1h]`: `since` sets the start of the monitoring range. */
export function registerGetApiRoute(app: FastifyInstance, context: RouteContext): void {
  app.get<{ Params: { name: string }; Querystring: { since?: string } }>(
    "/v1/apis/:name",
    async (request): Promise<ApiDetail> => {
      const engine = engineFor(context, request);
      const now = new Date();
      const since = parseSince(request.query.since, now);
      return engine.describe(request.params.name, {
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
      REQUEST_INVALID,
      `since must be a duration like 1h or 30m (got ${value})`,
    );
  }
}
