import type { FastifyInstance } from "fastify";
import type { ApiKeyList } from "../../contract/index.js";
import { engineFor } from "../../engines/engine-for.js";
import type { RouteContext } from "../context.js";

/** `GET /v1/apis/:name/keys`: the API's keys (ids, names, dates; never a key). */
export function registerKeysListRoute(app: FastifyInstance, context: RouteContext): void {
  app.get<{ Params: { name: string } }>(
    "/v1/apis/:name/keys",
    async (request): Promise<ApiKeyList> =>
      engineFor(context, request).listKeys(request.params.name),
  );
}
