/**
 * Local parity with the cloud's limits (DESIGN decision 13): what `compute` says is enforced on
 * this machine, or said plainly when it cannot be — so a predictor that would die on Fargate dies
 * on the laptop first.
 *
 * - `compute.mem`: where a cgroup is writable (cgroups.ts), the kernel enforces it from the
 *   worker's first byte and a replica it kills fails with "killed: out of memory (compute.mem
 *   300Mi)". Elsewhere the replica's processes' resident memory (VmRSS, the whole process tree) is
 *   measured every second and once more before the replica is declared ready; above the limit the
 *   replica is stopped and fails with "replica exceeded compute.mem 512Mi (peak 1.4 GiB)".
 * - `compute.cpu`: a CFS quota (v1 `cpu.cfs_quota_us`, v2 `cpu.max`) where the cpu cgroup is
 *   writable and the config *wrote* `compute.cpu` (the version's artifact says so: deploy-plan.ts's
 *   `localArtifactFor`). The default `200m` is not enforced — it would hold every replica that
 *   never set it, and every serving benchmark, to a fifth of a CPU — and `axon get` says so.
 *   `AXON_CPU_QUOTA=1` holds every replica to its compute.cpu, written or not; `=0` none.
 *   Elsewhere not enforced, and `axon get` says so.
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

/**
 * When replicas get a CPU quota: `written` where the config wrote compute.cpu (the default),
 * `always` (AXON_CPU_QUOTA=1), `off` (AXON_CPU_QUOTA=0).
 */
export type CpuQuotaPolicy = "written" | "always" | "off";

/** The policy the daemon's environment asks for (AXON_CPU_QUOTA=0/1 override the default). */
export function cpuQuotaPolicy(env: NodeJS.ProcessEnv): CpuQuotaPolicy {
  const asked = env["AXON_CPU_QUOTA"];
  return asked === "1" ? "always" : asked === "0" ? "off" : "written";
}

/** Which limits the kernel can enforce here (writable cgroups); false: measured, or not at all. */
export interface LimitEnforcement {
  memory: boolean;
  /** A cpu cgroup is writable. */
  cpu: boolean;
  /** Default `written`. */
  cpuQuota?: CpuQuotaPolicy;
}

/** Whether a replica of a version is held to its compute.cpu by the kernel. */
export function cpuQuotaApplies(enforcement: LimitEnforcement, cpuWritten: boolean): boolean {
  if (!enforcement.cpu) return false;
  const policy = enforcement.cpuQuota ?? "written";
  return policy === "always" || (policy === "written" && cpuWritten);
}

const NO_CGROUPS: LimitEnforcement = { memory: false, cpu: false };

export function checkLocalSpec(
  spec: ApiSpec,
  devices: DeviceProbe = hostDevices,
  enforcement: LimitEnforcement = NO_CGROUPS,
  cpuWritten = false,
): SpecCheck {
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
  if (!enforcement.cpu) {
    check.notes.push(
      `compute.cpu ${cpu} is not enforced on this machine: replicas may use every CPU (no CPU quota without cgroups)`,
    );
  } else if (!cpuQuotaApplies(enforcement, cpuWritten)) {
    check.notes.push(
      enforcement.cpuQuota === "off"
        ? `compute.cpu ${cpu} is not enforced: AXON_CPU_QUOTA=0 turns the CPU quota off, so replicas may use every CPU`
        : `compute.cpu ${cpu} is the default (the config does not set it) and is not enforced: replicas may use every CPU; set compute.cpu for the kernel to hold each replica to it with a CPU quota`,
    );
  }
  if (mem !== null) {
    check.notes.push(
      enforcement.memory
        ? `compute.mem ${mem} is enforced by the kernel (a cgroup per replica): a replica above it is killed, during start-up too`
        : `compute.mem ${mem} is enforced by measuring each replica's resident memory every second and before it is ready; a replica above it is stopped`,
    );
  }
  return check;
}

/** The memory limit of a spec in bytes (undefined: none). */
export function memoryLimitBytes(spec: Pick<ApiSpec, "compute">): number | undefined {
  return spec.compute.mem === null ? undefined : parseQuantity(spec.compute.mem);
}

/** `compute.cpu` as a number of CPUs (`500m` → 0.5); undefined when it is not a positive number. */
export function cpuLimit(spec: Pick<ApiSpec, "compute">): number | undefined {
  let cpus: number;
  try {
    cpus = parseQuantity(String(spec.compute.cpu));
  } catch {
    return undefined; // validated before it gets here; nothing to enforce if it slipped through
  }
  return Number.isFinite(cpus) && cpus > 0 ? cpus : undefined;
}

/** Resident memory of a process and all its descendants, in bytes (0 when it is gone). */
export function treeResidentBytes(pid: number): number {
  let total = 0;
  const pending = [pid];
  // Bounded: a fork bomb's tree is not worth walking further than this.
  for (let seen = 0; pending.length > 0 && seen < 4096; seen++) {
    const next = pending.pop() as number;
    total += residentBytes(next);
    let children = "";
    try {
      children = readFileSync(`/proc/${next}/task/${next}/children`, "utf8");
    } catch {
      // gone, or a kernel without the children file: its own memory only
    }
    for (const child of children.split(" ")) if (child.trim() !== "") pending.push(Number(child));
  }
  return total;
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
