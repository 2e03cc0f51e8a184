import type { FastifyInstance } from "fastify";
import { requireApi } from "../../services/describe-api.js";
import type { RouteContext } from "../context.js";
import type { DeleteResponse } from "../public.js";

export function registerDeleteApiRoute(app: FastifyInstance, context: RouteContext): void {
  app.delete<{ Params: { name: string } }>(
    "/v1/apis/:name",
    async (request): Promise<DeleteResponse> => {
      const name = requireApi(context, request.params.name).name;
      context.store.deleteApi(name);
      context.secrets.delete(name);
      await context.reconcileNow(name);
      context.logs.appendSystemLine(name, `api ${name} deleted`);
      return { message: `deleting ${name}` };
    },
  );
}
