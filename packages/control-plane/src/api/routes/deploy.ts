import type { FastifyInstance } from "fastify";
import { toErrorBody } from "../../errors.js";
import { deployApis, type DeployDeps } from "../../services/deploy.js";
import type { RouteContext } from "../context.js";
import type { DeployRequest, DeployResponse, DeployStreamLine } from "../public.js";

/**
 * POST /v1/deploy. Plain JSON by default; with `Accept: application/x-ndjson` the response streams
 * progress lines (environment builds take a while) and ends with the result or the error.
 */
export function registerDeployRoute(app: FastifyInstance, context: RouteContext): void {
  const deps = (onProgress?: (message: string) => void): DeployDeps => ({
    store: context.store,
    bundles: context.bundles,
    secrets: context.secrets,
    environments: context.environments,
    gatewayUrl: context.gatewayUrl,
    enqueue: (name) => context.enqueue(name),
    ...(onProgress === undefined ? {} : { onProgress }),
  });
  app.post<{ Body: DeployRequest }>(
    "/v1/deploy",
    async (request, reply): Promise<DeployResponse | undefined> => {
      const body = request.body ?? ({} as DeployRequest);
      if (!(request.headers.accept ?? "").includes("application/x-ndjson"))
        return deployApis(deps(), body);

      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, { "Content-Type": "application/x-ndjson", "Cache-Control": "no-cache" });
      const send = (line: DeployStreamLine): void => {
        raw.write(`${JSON.stringify(line)}\n`);
      };
      try {
        const result = await deployApis(
          deps((message) => send({ type: "progress", message })),
          body,
        );
        send({ type: "result", result });
      } catch (error) {
        const { status, body: errorBody } = toErrorBody(error);
        send({ type: "error", status, error: errorBody });
      }
      raw.end();
      return undefined;
    },
  );
}
