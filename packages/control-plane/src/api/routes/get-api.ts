import type { FastifyInstance } from "fastify";
import { describeApi } from "../../services/describe-api.js";
import type { RouteContext } from "../context.js";
import type { ApiDetail } from "../../contract/index.js";

export function registerGetApiRoute(app: FastifyInstance, context: RouteContext): void {
  app.get<{ Params: { name: string } }>("/v1/apis/:name", async (request): Promise<ApiDetail> =>
    describeApi(context, request.params.name),
  );
}
