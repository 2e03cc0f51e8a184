/**
 * The control-plane HTTP API (fastify): bearer-token auth on every route but /v1/health, one
 * error mapper, one file per route under ./routes. See ./public.ts and ../../openapi.yaml.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyInstance } from "fastify";
import { MAX_REQUEST_BYTES } from "../contract/index.js";
import { DomainError, REQUEST_INVALID, toErrorBody } from "../errors.js";
import type { RouteContext } from "./context.js";
import { reportServerError } from "./failures.js";
import { registerBundleRoutes } from "./routes/bundles.js";
import { registerDeleteApiRoute } from "./routes/delete-api.js";
import { registerDeployRoute } from "./routes/deploy.js";
import { registerDeployPlanRoute } from "./routes/deploy-plan.js";
import { registerEventsRoute } from "./routes/events.js";
import { registerMonitorBaselineRoute } from "./routes/monitor-baseline.js";
import { registerRollbackRoute } from "./routes/rollback.js";
import { registerKeysCreateRoute } from "./routes/keys-create.js";
import { registerKeysListRoute } from "./routes/keys-list.js";
import { registerKeysRevokeRoute } from "./routes/keys-revoke.js";
import { registerJobsGetRoute } from "./routes/jobs-get.js";
import { registerJobsListRoute } from "./routes/jobs-list.js";
import { registerJobsLogsRoute } from "./routes/jobs-logs.js";
import { registerJobsStopRoute } from "./routes/jobs-stop.js";
import { registerJobsSubmitRoute } from "./routes/jobs-submit.js";
import { registerGetApiRoute } from "./routes/get-api.js";
import { registerHealthRoute } from "./routes/health.js";
import { registerInfoRoute } from "./routes/info.js";
import { registerListApisRoute } from "./routes/list-apis.js";
import { registerLogsRoute } from "./routes/logs.js";
import { registerMetricsRoute } from "./routes/metrics.js";
import { registerShutdownRoute } from "./routes/shutdown.js";
import { registerAddEnvironmentRoute } from "./routes/add-environment.js";
import { registerClusterDownEnvRoute } from "./routes/cluster-down-env.js";
import { registerClusterInfoEnvRoute } from "./routes/cluster-info-env.js";
import { registerClusterUpRoute } from "./routes/cluster-up.js";
import { registerListEnvironmentsRoute } from "./routes/list-environments.js";
import { registerPlanClusterRoute } from "./routes/plan-cluster.js";
import { registerRemoveEnvironmentRoute } from "./routes/remove-environment.js";
import { registerUseEnvironmentRoute } from "./routes/use-environment.js";

/** A missing or wrong bearer token (401). */
export const AUTH_INVALID_TOKEN = "auth.invalid_token";

/** No route for that method and path (404). */
export const ROUTE_NOT_FOUND = "route.not_found";

export function buildApiServer(context: RouteContext, token: string): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: MAX_REQUEST_BYTES,
    // Ids unique across restarts, so one named in a 500 finds one line in daemon.log.
    genReqId: () => randomBytes(4).toString("hex"),
  });
  const expected = Buffer.from(`Bearer ${token}`);

  app.addHook("onRequest", async (request, reply) => {
    if (request.url === "/v1/health") return;
    const given = Buffer.from(request.headers.authorization ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      await reply.code(401).send({
        code: AUTH_INVALID_TOKEN,
        message: "missing or wrong bearer token",
        hint: "the token is in $AXON_HOME/token; the axon CLI sends it for you",
      });
    }
  });

  // Bundles are streamed to disk by the route itself, not buffered by fastify.
  app.addContentTypeParser(
    ["application/gzip", "application/x-gzip", "application/octet-stream", "application/x-tar"],
    (_request, payload, done) => done(null, payload),
  );

  app.setErrorHandler(async (error: unknown, request, reply) => {
    // Fastify's own 4xx errors (bad JSON, wrong content type) carry a statusCode and an FST_ code.
    const fastifyStatus = (error as { statusCode?: number }).statusCode;
    if (!(error instanceof DomainError) && fastifyStatus !== undefined && fastifyStatus < 500) {
      return reply.code(fastifyStatus).send({
        code: REQUEST_INVALID,
        message: error instanceof Error ? error.message : String(error),
      });
    }
    const { status, body } = toErrorBody(error);
    reportServerError(context.events, request, status, body, error);
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler(async (request, reply) =>
    reply
      .code(404)
      .send({ code: ROUTE_NOT_FOUND, message: `no route ${request.method} ${request.url}` }),
  );

  registerHealthRoute(app, context);
  registerInfoRoute(app, context);
  registerBundleRoutes(app, context);
  registerDeployRoute(app, context);
  registerDeployPlanRoute(app, context);
  registerListApisRoute(app, context);
  registerGetApiRoute(app, context);
  registerDeleteApiRoute(app, context);
  registerRollbackRoute(app, context);
  registerMonitorBaselineRoute(app, context);
  registerKeysCreateRoute(app, context);
  registerKeysListRoute(app, context);
  registerKeysRevokeRoute(app, context);
  registerJobsSubmitRoute(app, context);
  registerJobsListRoute(app, context);
  registerJobsGetRoute(app, context);
  registerJobsStopRoute(app, context);
  registerJobsLogsRoute(app, context);
  registerLogsRoute(app, context);
  registerEventsRoute(app, context);
  registerMetricsRoute(app, context);
  registerShutdownRoute(app, context);
  registerListEnvironmentsRoute(app, context);
  registerAddEnvironmentRoute(app, context);
  registerUseEnvironmentRoute(app, context);
  registerRemoveEnvironmentRoute(app, context);
  registerPlanClusterRoute(app, context);
  registerClusterUpRoute(app, context);
  registerClusterInfoEnvRoute(app, context);
  registerClusterDownEnvRoute(app, context);
  return app;
}
