import type { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { BundleStore } from "../../bundles/bundle-store.js";
import { BUNDLE_INVALID } from "../../bundles/archive-check.js";
import { DomainError } from "../../errors.js";
import type { RouteContext } from "../context.js";
import type { BundleResponse } from "../../contract/index.js";

interface ShaParams {
  sha256: string;
}

export function registerBundleRoutes(app: FastifyInstance, context: RouteContext): void {
  app.head<{ Params: ShaParams }>("/v1/bundles/:sha256", async (request, reply) => {
    BundleStore.assertSha(request.params.sha256);
    return reply.code(context.bundles.has(request.params.sha256) ? 200 : 404).send();
  });
  app.put<{ Params: ShaParams }>(
    "/v1/bundles/:sha256",
    async (request): Promise<BundleResponse> => {
      if (typeof (request.body as Readable | undefined)?.pipe !== "function") {
        throw new DomainError(
          BUNDLE_INVALID,
          "send the bundle as the body with Content-Type: application/gzip",
          {
            status: 415,
          },
        );
      }
      return context.bundles.receive(request.params.sha256, request.body as Readable);
    },
  );
}
