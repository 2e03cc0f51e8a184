import { describe, expect, test } from "vitest";
import { apiSpec } from "../../testing/specs.js";
import {
  checkLocalSpec,
  cpuQuotaApplies,
  cpuQuotaPolicy,
  formatBytes,
  memoryLimitBytes,
  residentBytes,
  treeResidentBytes,
} from "./compute-limits.js";

const NO_DEVICES = { gpus: () => 0, inferentia: () => 0 };

describe("checkLocalSpec", () => {
  test("accelerators the machine lacks are errors naming the field; api_gateway none is a warning", () => {
    const spec = apiSpec(
      "vision",
      "  compute:\n    gpu: 1\n    cpu: 2\n    mem: 1Gi\n  networking:\n    api_gateway: none\n",
    );
    const check = checkLocalSpec(spec, NO_DEVICES);
    expect(check.errors).toEqual([
      {
        path: "vision.compute.gpu",
        message:
          "asks for 1 GPU, but this machine has 0 (no /dev/nvidia0); set gpu: 0 to run it here, or deploy it to an environment with GPUs",
      },
    ]);
    expect(check.warnings.map((w) => w.path)).toEqual(["vision.networking.api_gateway"]);
    expect(check.notes).toEqual([
      "compute.cpu 2 is not enforced on this machine: replicas may use every CPU (no CPU quota without cgroups)",
      "compute.mem 1Gi is enforced by measuring each replica's resident memory every second and before it is ready; a replica above it is stopped",
    ]);
  });

  test("where the kernel enforces the limits (writable cgroups), the notes say so and cpu is not called unenforced", () => {
    const spec = apiSpec("vision", "  compute:\n    cpu: 2\n    mem: 1Gi\n");
    const check = checkLocalSpec(spec, NO_DEVICES, { memory: true, cpu: true }, true);
    expect(check.notes).toEqual([
      "compute.mem 1Gi is enforced by the kernel (a cgroup per replica): a replica above it is killed, during start-up too",
    ]);
  });

  test("with a writable cpu cgroup, the quota holds where the config wrote compute.cpu; the default and AXON_CPU_QUOTA=0 say why it does not", () => {
    // Given a machine whose cpu cgroup is writable
    const spec = apiSpec("vision");
    const cpuNotes = (cpuQuota: "written" | "always" | "off", written: boolean): string[] =>
      checkLocalSpec(spec, NO_DEVICES, { memory: true, cpu: true, cpuQuota }, written).notes;

    // When compute.cpu was written, or AXON_CPU_QUOTA=1 asks for every replica: no note
    expect(cpuNotes("written", true)).toEqual([]);
    expect(cpuNotes("always", false)).toEqual([]);
    expect(cpuQuotaApplies({ memory: false, cpu: true }, true)).toBe(true);
    expect(cpuQuotaApplies({ memory: false, cpu: false, cpuQuota: "always" }, true)).toBe(false);

    // When it is the default, or the quota is turned off: the note says which
    expect(cpuNotes("written", false)).toEqual([
      "compute.cpu 200m is the default (the config does not set it) and is not enforced: replicas may use every CPU; set compute.cpu for the kernel to hold each replica to it with a CPU quota",
    ]);
    expect(cpuNotes("off", true)).toEqual([
      "compute.cpu 200m is not enforced: AXON_CPU_QUOTA=0 turns the CPU quota off, so replicas may use every CPU",
    ]);
  });

  test("AXON_CPU_QUOTA=1 and =0 override the default, which is the written fields", () => {
    expect(cpuQuotaPolicy({})).toBe("written");
    expect(cpuQuotaPolicy({ AXON_CPU_QUOTA: "1" })).toBe("always");
    expect(cpuQuotaPolicy({ AXON_CPU_QUOTA: "0" })).toBe("off");
    expect(cpuQuotaPolicy({ AXON_CPU_QUOTA: "yes" })).toBe("written");
  });

  test("a canary rollout (ECS only) is a warning naming the field, not silently ignored", () => {
    const spec = apiSpec("iris", "  update_strategy:\n    canary:\n      traffic_percent: 10\n");
    const check = checkLocalSpec(spec, NO_DEVICES);
    expect(check.warnings).toEqual([
      {
        path: "iris.update_strategy.canary",
        message:
          "has no local meaning: this machine rolls out replica by replica with max_surge/max_unavailable (on AWS, ECS sends the canary its share of traffic and rolls back on 5xx)",
      },
    ]);
  });

  test("a GPU the machine has is fine", () => {
    const spec = apiSpec("vision", "  compute:\n    gpu: 1\n");
    expect(checkLocalSpec(spec, { gpus: () => 1, inferentia: () => 0 }).errors).toEqual([]);
  });
});

describe("memory", () => {
  test("limits in bytes, this process's resident memory, and sizes in words", () => {
    expect(memoryLimitBytes(apiSpec("a", "  compute:\n    mem: 512Mi\n"))).toBe(512 * 1024 * 1024);
    expect(memoryLimitBytes(apiSpec("a"))).toBeUndefined();
    expect(residentBytes(process.pid)).toBeGreaterThan(10 * 1024 * 1024);
    expect(residentBytes(2 ** 30)).toBe(0);
    expect(treeResidentBytes(process.pid)).toBeGreaterThan(10 * 1024 * 1024);
    expect(treeResidentBytes(2 ** 30)).toBe(0);
    expect(formatBytes(1.4 * 1024 ** 3)).toBe("1.4 GiB");
    expect(formatBytes(512 * 1024 * 1024)).toBe("512 MiB");
  });
});
