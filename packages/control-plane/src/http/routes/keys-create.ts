import type { FastifyInstance } from "fastify";
import type { ApiKeyCreated, CreateApiKeyRequest } from "../../contract/index.js";
import { engineFor } from "../../engines/engine-for.js";
import { DomainError, REQUEST_INVALID } from "../../errors.js";
import type { RouteContext } from "../context.js";

/** `POST /v1/apis/:name/keys` `{name?, expires?, rate?}`: makes a key; the answer has it, once. */
export function registerKeysCreateRoute(app: FastifyInstance, context: RouteContext): void {
  app.post<{ Params: { name: string }; Body: CreateApiKeyRequest | undefined }>(
    "/v1/apis/:name/keys",
    async (request): Promise<ApiKeyCreated> => {
      const body = request.body ?? {};
      for (const field of ["name", "expires", "rate"] as const) {
        const value = body[field];
        if (value !== undefined && typeof value !== "string") {
          throw new DomainError(REQUEST_INVALID, `${field} must be a string`);
        }
      }
      return engineFor(context, request).createKey(request.params.name, body);
    },
  );
}
