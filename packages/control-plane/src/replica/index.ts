/**
 * A replica: its front (one HTTP entry point per replica, replica.ts) over a pool of Python
 * workers (worker-pool.ts). Used in-process by the local gateway and, later, as the ECS container
 * entrypoint; depends on nothing else in the control plane.
 */
export {
  Replica,
  ReplicaStartError,
  type ReplicaExitInfo,
  type ReplicaOptions,
  type ReplicaState,
} from "./replica.js";
export { WorkerPool, type WorkerPoolHooks, type WorkerPoolOptions } from "./worker-pool.js";
export { type Call, type WorkerLink, type WorkerReadyInfo } from "./worker-link.js";
export { resolveRuntimeDir } from "./runtime-dir.js";
export {
  type BodyAdmission,
  type BodyTicket,
  type FrontHandler,
  type FrontRequest,
  type FrontRequestHead,
  FrontServer,
  type FrontServerOptions,
  type Responder,
} from "./front-server.js";
