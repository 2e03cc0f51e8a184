/** Text for `axon cluster up` / `axon cluster info`: where the local cluster listens and what runs. */
import type { ClusterInfo } from "@axon/control-plane/api";
import { formatBytes } from "../output.js";

/** A key/value block describing a running local cluster. */
export function renderClusterInfo(info: ClusterInfo): string {
  const python = `${info.python.path} (${info.python.version ?? "version unknown"}, from ${describePythonSource(info.python.source)})`;
  const rows: [string, string][] = [
    ["provider", info.provider],
    ["version", info.version],
    ["control plane", info.apiUrl],
    ["gateway", info.gatewayUrl],
    ...(info.gatewayCertificate === undefined
      ? []
      : ([
          [
            "certificate",
            `${info.gatewayCertificate.subject}, SHA-256 ${info.gatewayCertificate.fingerprint256}, ${info.gatewayCertificate.expired ? "EXPIRED since" : "valid to"} ${info.gatewayCertificate.validTo} (${info.gatewayCertificate.file}; SIGHUP reloads it)`,
          ],
        ] satisfies [string, string][])),
    [
      "pid",
      info.supervisorPid === undefined
        ? String(info.pid)
        : `${info.pid} (supervisor ${info.supervisorPid} restarts it after a crash)`,
    ],
    ["home", info.home],
    ["started", info.startedAt],
    ["python", python],
    ["apis", String(info.apis)],
    ["replicas", String(info.replicas)],
    ["worker pids", info.workerPids.length === 0 ? "-" : info.workerPids.join(", ")],
  ];
  if (info.sandbox !== undefined) {
    rows.push(["sandbox", info.sandbox.summary]);
    rows.push([
      "limits",
      info.sandbox.limits === "cgroup"
        ? "compute.mem enforced by the kernel (a cgroup per replica)"
        : "compute.mem measured every second and before ready (no writable cgroup)",
    ]);
  }
  if (info.disk !== undefined) {
    const { bundles, bundleBytes, projects, projectBytes } = info.disk;
    rows.push([
      "disk",
      `${formatBytes(bundleBytes + projectBytes)} (${bundles} ${bundles === 1 ? "bundle" : "bundles"} ${formatBytes(bundleBytes)}, ${projects} unpacked ${formatBytes(projectBytes)})`,
    ]);
  }
  return rows.map(([key, value]) => `${key}: ${value}`).join("\n");
}

function describePythonSource(source: ClusterInfo["python"]["source"]): string {
  switch (source) {
    case "env":
      return "AXON_PYTHON";
    case "flag":
      return "--python";
    case "default":
      return "default";
  }
}
