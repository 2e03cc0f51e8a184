import type { FastifyInstance } from "fastify";
import type { BaselineResponse } from "../../contract/index.js";
import { DomainError } from "../../errors.js";
import { monitoringOf } from "../../monitoring/monitoring-loop.js";
import { requireApi } from "../../services/describe-api.js";
import type { RouteContext } from "../context.js";

/** `POST /v1/apis/:name/monitor/baseline`: the current version's last hour becomes the baseline. */
export function registerMonitorBaselineRoute(app: FastifyInstance, context: RouteContext): void {
  app.post<{ Params: { name: string } }>(
    "/v1/apis/:name/monitor/baseline",
    async (request): Promise<BaselineResponse> => {
      const api = requireApi(context, request.params.name);
      const monitoring = context.monitoring;
      if (monitoring === undefined || monitoringOf(api) === undefined) {
        throw new DomainError(
          "monitoring.off",
          `${api.name} has no monitoring to pin a baseline for`,
          {
            hint: "add `monitoring: {model_type: classification}` (or regression, with `key` for a field of the response) to its config and deploy",
          },
        );
      }
      const now = new Date();
      const tally = monitoring.pinBaseline(api, now);
      if (tally.count === 0) {
        throw new DomainError(
          "monitoring.no_predictions",
          `${api.name} has made no prediction in the last hour to pin`,
          {
            hint: "send it some traffic, then pin the baseline",
          },
        );
      }
      return {
        message: `pinned ${tally.count} predictions of ${api.name} (the last hour of version ${api.currentVersion.id}) as its baseline`,
        predictions: tally.count,
      };
    },
  );
}
