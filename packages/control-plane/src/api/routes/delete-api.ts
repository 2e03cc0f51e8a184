import type { FastifyInstance } from "fastify";
import { requireApi } from "../../services/describe-api.js";
import type { RouteContext } from "../context.js";
import type { DeleteResponse } from "../../contract/index.js";

export function registerDeleteApiRoute(app: FastifyInstance, context: RouteContext): void {
  app.delete<{ Params: { name: string } }>(
    "/v1/apis/:name",
    async (request): Promise<DeleteResponse> => {
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
