/**
 * The control plane's public HTTP contract: request and response shapes of every route, plus how a
 * client finds and authenticates to a running daemon. This is the only module the CLI may import
 * from the control plane (types only); `openapi.yaml` in this package describes the same routes.
 *
 * Routes (all JSON unless noted, all under `http://127.0.0.1:<port>`, all but `GET /v1/health`
 * need `Authorization: Bearer <token>`):
 *
 *   GET    /v1/health                  → HealthResponse (no auth; used to probe a daemon)
 *   GET    /v1/info                    → ClusterInfo
 *   HEAD   /v1/bundles/:sha256         → 200 if stored, 404 if not
 *   PUT    /v1/bundles/:sha256         ← body: gzip'd tar of the project (application/gzip) → BundleResponse
 *   POST   /v1/deploy                  ← DeployRequest → DeployResponse
 *   GET    /v1/apis                    → ApiListResponse
 *   GET    /v1/apis/:name              → ApiDetail
 *   DELETE /v1/apis/:name              → DeleteResponse
 *   GET    /v1/apis/:name/logs?follow=1&tail=N → text/plain; charset=utf-8, chunked: the API's log
 *                                        lines; with follow the stream stays open until the client
 *                                        disconnects or the API is deleted
 *   POST   /v1/shutdown                → ShutdownResponse; the daemon then stops every replica and exits
 *
 * Every non-2xx response has an ErrorBody.
 */
/** File names under `$AXON_HOME`. The token file is created 0600 by the daemon. */
export const DAEMON_RECORD_FILE = "daemon.json";
export const TOKEN_FILE = "token";
export const DAEMON_LOG_FILE = "daemon.log";
