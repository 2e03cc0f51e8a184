/**
 * The replica front: one HTTP entry point per replica over Python workers. Used in-process by the
 * local gateway and, later, as the ECS container entrypoint; depends on nothing else in the
 * control plane.
 */
export {
  Replica,
  ReplicaStartError,
  type ReplicaExitInfo,
  type ReplicaOptions,
  type ReplicaState,
} from "./replica.js";
export { resolveRuntimeDir } from "./runtime-dir.js";
export {
  type FrontHandler,
  type FrontRequest,
  FrontServer,
  type FrontServerOptions,
  type Responder,
} from "./front-server.js";
