/**
 * Local parity with the cloud's limits (DESIGN decision 13): what `compute` says is enforced on
 * this machine, or said plainly when it cannot be — so a predictor that would die on Fargate dies
 * on the laptop first.
 *
 * - `compute.mem`: the replica's Python workers' resident memory (VmRSS) is measured every second;
 *   above the limit the replica is stopped and fails with "replica exceeded compute.mem 512Mi
 *   (peak 1.4 GiB)". Processes a worker starts itself are not counted. (cgroups would enforce it
 *   in the kernel; this machine, like most containers, gives the daemon no writable cgroup.)
 * - `compute.cpu`: not enforced (no CPU quota without cgroups); `axon get <api>` says so.
 * - `compute.gpu` / `compute.inf`: checked against the devices present; a deploy asking for
 *   accelerators this machine does not have is refused, naming the field.
 * - `networking.api_gateway: none` has no local meaning: the deploy says so.
 */
import { existsSync, readFileSync } from "node:fs";
import { parseQuantity, type ApiSpec } from "@axon/config";
import type { SpecCheck } from "../provider.js";

/** Where accelerators would show up; a test may point these elsewhere. */
export interface DeviceProbe {
  gpus: () => number;
  inferentia: () => number;
}

export const hostDevices: DeviceProbe = {
  gpus: () => countDevices("/dev/nvidia", 16),
  inferentia: () => countDevices("/dev/neuron", 16),
};

function countDevices(prefix: string, max: number): number {
  let count = 0;
  for (let i = 0; i < max; i++) if (existsSync(`${prefix}${i}`)) count++;
  return count;
}

export function checkLocalSpec(spec: ApiSpec, devices: DeviceProbe = hostDevices): SpecCheck {
  const check: SpecCheck = { errors: [], warnings: [], notes: [] };
  const name = spec.name;
  const { gpu, inf, cpu, mem } = spec.compute;
  if (gpu > 0 && devices.gpus() < gpu) {
    check.errors.push({
      path: `${name}.compute.gpu`,
      message: `asks for ${gpu} GPU${gpu === 1 ? "" : "s"}, but this machine has ${devices.gpus()} (no /dev/nvidia${devices.gpus()}); set gpu: 0 to run it here, or deploy it to an environment with GPUs`,
    });
  }
  if (inf > 0 && devices.inferentia() < inf) {
    check.errors.push({
      path: `${name}.compute.inf`,
      message: `asks for ${inf} Inferentia chip${inf === 1 ? "" : "s"}, but this machine has ${devices.inferentia()}; set inf: 0 to run it here`,
    });
  }
  if (spec.networking.api_gateway === "none") {
    check.warnings.push({
      path: `${name}.networking.api_gateway`,
      message:
        "none has no local meaning: the local gateway serves every API on its endpoint (on AWS it keeps the API off the public load balancer)",
    });
  }
  if (spec.update_strategy.canary !== undefined) {
    check.warnings.push({
      path: `${name}.update_strategy.canary`,
      message:
        "has no local meaning: this machine rolls out replica by replica with max_surge/max_unavailable (on AWS, ECS sends the canary its share of traffic and rolls back on 5xx)",
    });
  }
  check.notes.push(
    `compute.cpu ${cpu} is not enforced on this machine: replicas may use every CPU (no CPU quota without cgroups)`,
  );
  if (mem !== null) {
    check.notes.push(
      `compute.mem ${mem} is enforced by measuring each replica's resident memory every second; a replica above it is stopped (processes a worker starts itself are not counted)`,
    );
  }
  return check;
}

/** The memory limit of a spec in bytes (undefined: none). */
export function memoryLimitBytes(spec: ApiSpec): number | undefined {
  return spec.compute.mem === null ? undefined : parseQuantity(spec.compute.mem);
}

/** Resident memory of a process in bytes (0 when it is gone). */
export function residentBytes(pid: number): number {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return 0;
  }
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match === null ? 0 : Number(match[1]) * 1024;
}

/** `1.4 GiB`, `512 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}
