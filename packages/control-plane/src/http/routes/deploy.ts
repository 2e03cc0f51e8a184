import type { FastifyInstance } from "fastify";
import type { ServerResponse } from "node:http";
import type { DeployRequest, DeployResponse, DeployStreamLine } from "../../contract/index.js";
import { planDeploy } from "../../services/deploy-plan.js";
import { engineFor } from "../../engines/engine-for.js";
import { toErrorBody } from "../../errors.js";
import type { RouteContext } from "../context.js";
import { reportServerError } from "../failures.js";

/**
 * POST /v1/deploy. Plain JSON by default; with `Accept: application/x-ndjson` the response streams
 * progress lines (environment builds take a while) and ends with the result or the error.
 * A client that goes away before the answer (Ctrl-C of `axon deploy`) cancels the deploy.
 */
export function registerDeployRoute(app: FastifyInstance, context: RouteContext): void {
  app.post<{ Body: DeployRequest }>(
    "/v1/deploy",
    async (request, reply): Promise<DeployResponse | undefined> => {
      const body = request.body ?? ({} as DeployRequest);
      const raw = reply.raw;
      const signal = abortedWhenClientLeaves(raw);
      const engine = engineFor(context, request);
      // Planned once (parse, validate, collisions, --force), then applied by the target's engine.
      const run = async (onProgress?: (message: string) => void): Promise<DeployResponse> =>
        engine.deploy(await planDeploy(context, engine, body), {
          signal,
          ...(onProgress === undefined ? {} : { onProgress }),
        });
      // The bundle is not collected while this deploy builds its environment (bundle-store.ts).
      const release = context.bundles.hold(String(body.bundle));
      raw.once("close", release);
      if (!(request.headers.accept ?? "").includes("application/x-ndjson"))
        return run().finally(release);

      reply.hijack();
      raw.writeHead(200, { "Content-Type": "application/x-ndjson", "Cache-Control": "no-cache" });
      const send = (line: DeployStreamLine): void => {
        if (!raw.destroyed) raw.write(`${JSON.stringify(line)}\n`);
      };
      try {
        const result = await run((message) => send({ type: "progress", message }));
        send({ type: "result", result });
      } catch (error) {
        const { status, body: errorBody } = toErrorBody(error);
        reportServerError(context.events, request, status, errorBody, error);
        send({ type: "error", status, error: errorBody });
      } finally {
        release();
      }
      if (!raw.destroyed) raw.end();
      return undefined;
    },
  );
}

/** A signal aborted when the connection closes before the response was fully sent. */
function abortedWhenClientLeaves(response: ServerResponse): AbortSignal {
  const controller = new AbortController();
  response.once("close", () => {
    if (!response.writableFinished)
      controller.abort(new Error("the client disconnected before the deploy finished"));
  });
  return controller.signal;
}
