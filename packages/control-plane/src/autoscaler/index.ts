/**
 * `@axon/control-plane/autoscaler`: the autoscaler's pure parts — Cortex's algorithm and the
 * what-if simulator — which the CLI runs on its own (`axon autoscale simulate`) without a daemon.
 * They import nothing of the control plane but `@axon/config` (lint-enforced); the loop that runs
 * them in the daemon (autoscaler-loop.ts) is not exported.
 */
export {
  AUTOSCALER_TICK_MS,
  Autoscaler,
  autoscalingParams,
  averageInFlight,
  describeHeld,
  describeScaleToZero,
  describeScaling,
  describeWake,
  scaleToZeroAfterMs,
  scalingReason,
  type AutoscalingParams,
  type ScalingDecision,
  type ScalingLimit,
} from "./autoscaler.js";
export {
  parseTrace,
  simulate,
  TraceError,
  type SimulationOptions,
  type SimulationResult,
  type SimulationTick,
  type TracePoint,
} from "./simulate.js";
