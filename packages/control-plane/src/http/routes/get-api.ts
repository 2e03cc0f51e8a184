import { parseDuration } from "@axon/config";
import type { FastifyInstance } from "fastify";
import type { ApiDetail } from "../../contract/index.js";
import { engineFor } from "../../engines/engine-for.js";
import { DomainError, REQUEST_INVALID } from "../../errors.js";
import type { RouteContext } from "../context.js";

/**
 * `GET /v1/apis/:name[?since=1h][&traffic=15]`: `since` sets the start of the monitoring range;
 * `traffic` asks for that many minutes of load balancer traffic (a live view of an ECS API).
 */
export function registerGetApiRoute(app: FastifyInstance, context: RouteContext): void {
  app.get<{ Params: { name: string }; Querystring: { since?: string; traffic?: string } }>(
    "/v1/apis/:name",
    async (request): Promise<ApiDetail> => {
      const engine = engineFor(context, request);
      const now = new Date();
      const since = parseSince(request.query.since, now);
      const traffic = parseTraffic(request.query.traffic);
      return engine.describe(request.params.name, {
        now,
        ...(since === undefined ? {} : { since }),
        ...(traffic === undefined ? {} : { traffic }),
      });
    },
  );
}

/** The most minutes of traffic one look may ask for (api-metrics.ts's window). */
const MAX_TRAFFIC_MINUTES = 180;

function parseTraffic(value: string | undefined): { minutes: number } | undefined {
  if (value === undefined || value === "") return undefined;
  const minutes = Number(value);
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_TRAFFIC_MINUTES) {
    throw new DomainError(
      REQUEST_INVALID,
      `traffic must be a whole number of minutes from 1 to ${MAX_TRAFFIC_MINUTES} (got ${value})`,
    );
  }
  return { minutes };
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
