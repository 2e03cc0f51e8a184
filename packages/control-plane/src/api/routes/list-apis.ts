import type { FastifyInstance } from "fastify";
import { summarizeApi } from "../../reconcile/status.js";
import { listAwsApis } from "../../services/aws-apis.js";
import { awsApisDeps } from "../cluster-deps.js";
import type { RouteContext } from "../context.js";
import { targetEnvironment } from "../environment-guard.js";
import type { ApiListResponse } from "../../contract/index.js";

export function registerListApisRoute(app: FastifyInstance, context: RouteContext): void {
  app.get("/v1/apis", async (request): Promise<ApiListResponse> => {
    const env = targetEnvironment(context, request);
    if (env.provider === "aws") return listAwsApis(awsApisDeps(context, request), env.record);
    return { apis: context.store.listApis().map((api) => summarizeApi(api, context.provider)) };
  });
}
