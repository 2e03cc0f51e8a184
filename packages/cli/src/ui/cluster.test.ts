import type { ClusterInfo } from "@axon/control-plane/api";
import { describe, expect, test } from "vitest";
import { renderClusterInfo } from "./cluster.js";

const info: ClusterInfo = {
  provider: "local",
  ready: true,
  gatewayUrl: "http://localhost:8888",
  python: { path: "/usr/bin/python3", version: "3.12.3", source: "default" },
  replicas: 1,
  workerPids: [4242],
  version: "0.1.0",
  pid: 4141,
  home: "/home/u/.axon",
  apiUrl: "http://127.0.0.1:40001",
  startedAt: "2026-12-03T17:00:00.000Z",
  apis: 1,
};

describe("renderClusterInfo", () => {
  test("shows the disk bundles and unpacked projects take", () => {
    // Given a daemon that counted 2 bundles and 1 unpacked project
    const disk = {
      bundles: 2,
      bundleBytes: 3 * 1024 * 1024,
      projects: 1,
      projectBytes: 1024 * 1024,
    };

    // When its info is rendered
    const text = renderClusterInfo({ ...info, disk });

    // Then the total and each part are shown
    expect(text.split("\n").at(-1)).toBe("disk: 4.0 MiB (2 bundles 3.0 MiB, 1 unpacked 1.0 MiB)");
  });

  test("shows the certificate the gateway serves over HTTPS, and whether it expired", () => {
    // Given a gateway serving HTTPS
    const gatewayCertificate = {
      file: "/etc/axon/tls/fullchain.pem",
      fingerprint256: "AB:CD",
      subject: "CN=api.example.com",
      validTo: "Mar  1 12:00:00 2027 GMT",
      expired: false,
    };
    // Then the line after the gateway names it
    expect(
      renderClusterInfo({ ...info, gatewayUrl: "https://api:8443", gatewayCertificate }),
    ).toContain(
      "gateway: https://api:8443\ncertificate: CN=api.example.com, SHA-256 AB:CD, valid to Mar  1 12:00:00 2027 GMT (/etc/axon/tls/fullchain.pem; SIGHUP reloads it)\n",
    );
    expect(
      renderClusterInfo({ ...info, gatewayCertificate: { ...gatewayCertificate, expired: true } }),
    ).toContain("EXPIRED since Mar  1");
    expect(renderClusterInfo(info)).not.toContain("certificate");
  });

  test("names the supervisor that restarts the daemon", () => {
    expect(renderClusterInfo({ ...info, supervisorPid: 4140 })).toContain(
      "pid: 4141 (supervisor 4140 restarts it after a crash)",
    );
    expect(renderClusterInfo(info)).toContain("pid: 4141\n");
  });

  test("says how predictors are isolated and how compute.mem is held, trusted code included", () => {
    // Given a daemon without a sandbox, measuring memory
    const sandbox = {
      isolation: "none" as const,
      summary: "none: predictors are trusted code — they run as the daemon's user",
      limits: "measured" as const,
    };

    // When its info is rendered, then both lines say so plainly
    const text = renderClusterInfo({ ...info, sandbox });
    expect(text).toContain(
      "\nsandbox: none: predictors are trusted code — they run as the daemon's user\n",
    );
    expect(text).toContain(
      "\nlimits: compute.mem measured every second and before ready (no writable cgroup)",
    );
    // And an older daemon that does not report it gets no invented line
    expect(renderClusterInfo(info)).not.toContain("sandbox:");
  });

  test("leaves the line out for a daemon that does not count disk use", () => {
    // Given info from an older daemon, when rendered, then no disk line is invented
    expect(renderClusterInfo(info)).not.toContain("disk:");
  });
});
