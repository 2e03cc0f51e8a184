import type { FastifyInstance } from "fastify";
import type { BaselineResponse } from "../../contract/index.js";
import { engineFor } from "../../engines/engine-for.js";
import type { RouteContext } from "../context.js";

/** `POST /v1/apis/:name/monitor/baseline`: the current version's last hour becomes the baseline. */
export function registerMonitorBaselineRoute(app: FastifyInstance, context: RouteContext): void {
  app.post<{ Params: { name: string } }>(
    "/v1/apis/:name/monitor/baseline",
    async (request): Promise<BaselineResponse> =>
      engineFor(context, request).pinBaseline(request.params.name),
  );
}
