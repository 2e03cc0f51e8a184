import type { FastifyInstance } from "fastify";
import { deleteAwsApi } from "../../services/aws-apis.js";
import { requireApi } from "../../services/describe-api.js";
import { awsApisDeps } from "../cluster-deps.js";
import type { RouteContext } from "../context.js";
import { targetEnvironment } from "../environment-guard.js";
import type { DeleteResponse } from "../../contract/index.js";

export function registerDeleteApiRoute(app: FastifyInstance, context: RouteContext): void {
  app.delete<{ Params: { name: string } }>(
    "/v1/apis/:name",
    async (request): Promise<DeleteResponse> => {
      const env = targetEnvironment(context, request);
      if (env.provider === "aws") {
        // Scaling to 0 and removing the service, rule and target group take a few calls each.
        const deps = awsApisDeps(context, request, { signal: AbortSignal.timeout(300_000) });
        return deleteAwsApi(deps, env.record, request.params.name);
      }
      const name = requireApi(context, request.params.name).name;
      context.store.deleteApi(name);
      context.secrets.delete(name);
      context.events.emit({ kind: "api.deleted", api: name });
      // The provider stops its replicas and removes its route and logs.
      await context.reconcileNow(name);
      return { message: `deleting ${name}` };
    },
  );
}
