/**
 * The control plane's public HTTP contract: request and response shapes of every route, plus how a
 * client finds and authenticates to a running daemon. It is the bottom of the control plane: every
 * folder may import it, and it imports nothing of theirs (only types of `@axon/config`). It is also
 * the only module the CLI may import from the control plane (`@axon/control-plane/api`), types and
 * the constants below by value; `openapi.yaml` in this package describes the same routes.
 *
 * Routes (all JSON unless noted, all under `http://127.0.0.1:<port>`, all but `GET /v1/health`
 * need `Authorization: Bearer <token>`):
 *
 *   GET    /v1/health                  → HealthResponse (no auth; used to probe a daemon)
 *   GET    /v1/info                    → ClusterInfo
 *   HEAD   /v1/bundles/:sha256         → 200 if stored, 404 if not
 *   PUT    /v1/bundles/:sha256         ← body: gzip'd tar of the project (application/gzip) → BundleResponse
 *   POST   /v1/deploy                  ← DeployRequest → DeployResponse
 *   POST   /v1/deploy/plan             ← DeployRequest → DeployPreviewResponse (nothing changes)
 *   GET    /v1/apis                    → ApiListResponse
 *   GET    /v1/apis/:name?since=1h     → ApiDetail (since: start of the monitoring range)
 *   DELETE /v1/apis/:name              → DeleteResponse
 *   POST   /v1/apis/:name/rollback     ← RollbackRequest → RollbackResponse
 *   POST   /v1/apis/:name/keys         ← CreateApiKeyRequest → ApiKeyCreated (the key, shown once)
 *   GET    /v1/apis/:name/keys         → ApiKeyList (ids, names, dates; never a key)
 *   DELETE /v1/apis/:name/keys/:id     → ApiKeyRevoked
 *   GET    /v1/apis/:name/jobs         → BatchJobList (a BatchAPI's jobs; shapes in ./batch.ts)
 *   POST   /v1/apis/:name/jobs         ← BatchJobSubmission → BatchJobSpec
 *   GET    /v1/apis/:name/jobs/:id     → BatchJobResponse
 *   DELETE /v1/apis/:name/jobs/:id     → BatchJobStopped
 *   GET    /v1/apis/:name/jobs/:id/logs?follow=1 → text/plain, chunked: the job's workers' lines
 *   POST   /v1/apis/:name/monitor/baseline → BaselineResponse (pins the last hour as drift baseline)
 *   GET    /v1/apis/:name/logs?follow=1&tail=N → text/plain; charset=utf-8, chunked: the API's log
 *                                        lines; with follow the stream stays open until the client
 *                                        disconnects or the API is deleted
 *   GET    /v1/events?api=NAME         → application/x-ndjson, chunked: one EventLine per control-plane
 *                                        event from now on (only NAME's with `api`), until the client
 *                                        disconnects or the daemon stops
 *   POST   /v1/shutdown                → ShutdownResponse; the daemon then stops every replica and exits
 *
 * Environments and AWS clusters:
 *
 *   GET    /v1/environments                 → EnvironmentListResponse
 *   POST   /v1/environments                 ← AddEnvironmentRequest → EnvironmentInfo
 *   PUT    /v1/environments/default         ← UseEnvironmentRequest → EnvironmentInfo
 *   DELETE /v1/environments/:name           → RemoveEnvironmentResponse
 *   POST   /v1/clusters/plan                ← ClusterUpRequest → ClusterPlanResponse (nothing created)
 *   POST   /v1/clusters                     ← ClusterUpRequest → application/x-ndjson ClusterStreamLine
 *   GET    /v1/environments/:name/cluster   → AwsClusterInfo
 *   DELETE /v1/environments/:name/cluster   → application/x-ndjson ClusterStreamLine
 *
 * Routes about APIs (deploy, bundles, apis, logs, events) act on the environment named by the
 * `Axon-Env` request header, else on the default one, through that environment's engine.
 *
 * Every non-2xx response has an ErrorBody. The shapes live in one file per resource (daemon,
 * errors, deploy, apis, monitoring, environments, cluster); this module re-exports them all.
 */

export * from "./events.js";
export * from "./daemon.js";
export * from "./errors.js";
export * from "./deploy.js";
export * from "./apis.js";
export * from "./monitoring.js";
export * from "./environments.js";
export * from "./cluster.js";
export * from "./keys.js";
export * from "./batch.js";
