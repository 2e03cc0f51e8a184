import type { FastifyInstance } from "fastify";
import type { ServerResponse } from "node:http";
import { toErrorBody } from "../../errors.js";
import { summarizeApi } from "../../reconcile/status.js";
import { deployToAws } from "../../services/aws-apis.js";
import { deployApis, type DeployDeps } from "../../services/deploy.js";
import { awsApisDeps } from "../cluster-deps.js";
import type { RouteContext } from "../context.js";
import { targetEnvironment } from "../environment-guard.js";
import { reportServerError } from "../failures.js";
import type { DeployRequest, DeployResponse, DeployStreamLine } from "../../contract/index.js";

/**
 * POST /v1/deploy. Plain JSON by default; with `Accept: application/x-ndjson` the response streams
 * progress lines (environment builds take a while) and ends with the result or the error.
 * A client that goes away before the answer (Ctrl-C of `axon deploy`) cancels the deploy.
 */
export function registerDeployRoute(app: FastifyInstance, context: RouteContext): void {
  const deps = (signal: AbortSignal, onProgress?: (message: string) => void): DeployDeps => ({
    store: context.store,
    bundles: context.bundles,
    secrets: context.secrets,
    provider: context.provider,
    events: context.events,
    enqueue: (name) => context.enqueue(name),
    apiStatus: (api) => summarizeApi(api, context.provider).status,
    signal,
    ...(onProgress === undefined ? {} : { onProgress }),
  });
  app.post<{ Body: DeployRequest }>(
    "/v1/deploy",
    async (request, reply): Promise<DeployResponse | undefined> => {
      const body = request.body ?? ({} as DeployRequest);
      const raw = reply.raw;
      const signal = abortedWhenClientLeaves(raw);
      const env = targetEnvironment(context, request);
      // On an AWS environment the deploy is ECS's: the same request and stream, another service.
      const run = (onProgress?: (message: string) => void): Promise<DeployResponse> =>
        env.provider === "aws"
          ? deployToAws(
              awsApisDeps(context, request, {
                signal,
                ...(onProgress === undefined ? {} : { onProgress }),
              }),
              env.record,
              body,
            )
          : deployApis(deps(signal, onProgress), body);
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
