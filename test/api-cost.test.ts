/**
 * Cost per API in `get` on an AWS environment (issue 30), end to end with the built CLI, a real
 * daemon and moto on 127.0.0.1: `get --env` lists $/hour per API, and `get <api> --env` shows the
 * cost section whose JSON carries units, the price table's date and region, and the task size.
 * Moto runs no container and reports a service's running count as 0, so here the hour is the
 * load balancer's share alone; the Fargate and Spot arithmetic is checked in api-costs.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, onTestFinished, test } from "vitest";
import type { ApiDetail, ApiListResponse, DeployPreviewResponse } from "@axon/control-plane/api";
import {
  motoAvailable,
  startMoto,
} from "../packages/control-plane/src/providers/aws/testing/moto-server.js";
import { copyExample, makeTestCluster } from "./helpers.js";

const IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0";
const API = "iris-classifier";

describe.skipIf(!motoAvailable())("cost per API on ECS (moto; skipped without it)", () => {
  test("get and get <api> show $/hour with units, the price date and the Spot share", async () => {
    // Given an AWS environment on moto whose tasks go 1:1 to FARGATE and FARGATE_SPOT, running iris
    const moto = await startMoto();
    onTestFinished(() => moto.stop());
    const cluster = await makeTestCluster();
    const aws = { env: moto.awsEnv() };
    const dir = mkdtempSync(path.join(os.tmpdir(), "axon-cost-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const clusterYaml = path.join(dir, "cluster.yaml");
    writeFileSync(
      clusterYaml,
      `cluster_name: demo\nregion: us-east-1\nimage: ${IMAGE}\ncapacity:\n  fargate_weight: 1\n  fargate_spot_weight: 1\n`,
    );
    const up = await cluster.axon(
      ["cluster", "up", "--provider", "aws", "--config", clusterYaml, "--yes", "-o", "json"],
      aws,
    );
    expect(up.code, up.stderr).toBe(0);
    const project = copyExample("iris-sklearn");
    onTestFinished(() => rmSync(project, { recursive: true, force: true }));
    writeFileSync(
      path.join(project, "axon.yaml"),
      `- name: ${API}\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n  compute:\n    cpu: 1\n    mem: 2G\n  autoscaling:\n    init_replicas: 2\n    min_replicas: 2\n`,
    );
    const deployed = await cluster.axon(["deploy", project, "--env", "demo", "--no-wait"], aws);
    expect(deployed.code, deployed.stderr).toBe(0);

    // When the APIs are listed
    const list = await cluster.axon(["get", "--env", "demo", "-o", "json"], aws);
    expect(list.code, list.stderr).toBe(0);
    const [summary] = (JSON.parse(list.stdout) as ApiListResponse).apis;

    // Then each has its dollars per hour, with the unit
    expect(summary?.costPerHour).toMatchObject({ unit: "USD/hour" });
    expect(summary?.costPerHour?.usd).toBeGreaterThan(0);

    // When one API is shown
    const one = await cluster.axon(["get", API, "--env", "demo", "-o", "json"], aws);
    expect(one.code, one.stderr).toBe(0);
    const detail = JSON.parse(one.stdout) as ApiDetail;

    // Then its cost has the task size, the Spot share by the strategy, the dated prices, and the
    // same $/hour as the list
    const cost = detail.cost?.engine === "ecs" ? detail.cost : undefined;
    expect(cost).toMatchObject({
      engine: "ecs",
      perHour: { unit: "USD/hour" },
      tasks: { vcpu: 1, memoryGb: 2 },
      prices: { region: "us-east-1", asOf: "2026" },
    });
    const running = detail.replicas.upToDate + detail.replicas.stale;
    expect((cost?.tasks.onDemand ?? 0) + (cost?.tasks.spot ?? 0)).toBe(running);
    expect(cost?.tasks.spot).toBe(Math.round(running / 2));
    // One API on the load balancer: its whole idle floor ($0.0225/h + one LCU-hour at $0.008)
    expect(cost?.breakdown.loadBalancerShare.usd).toBeCloseTo(0.0305, 6);
    expect(cost?.perHour.usd).toBe(summary?.costPerHour?.usd);
    expect(cost?.requestsLastHour).toBe(0);

    // And the human view says it in words
    const human = await cluster.axon(["get", API, "--env", "demo"], aws);
    expect(human.stdout).toMatch(/cost: \$[0-9.]+\/hour \(us-east-1 prices, 2026\)/);
    expect(human.stdout).toMatch(/load balancer +\$0\.0305 +this API's share/);
    expect(human.stdout).toContain("us-east-1 on-demand list prices, 2026");

    // When a bigger task size is planned (with --force: on moto no task ever runs, so the service
    // stays "updating" and the plan, like the deploy, refuses a change without it)
    writeFileSync(
      path.join(project, "axon.yaml"),
      `- name: ${API}\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n  compute:\n    cpu: 2\n    mem: 4G\n  autoscaling:\n    init_replicas: 2\n    min_replicas: 2\n`,
    );
    const planned = await cluster.axon(
      ["deploy", project, "--env", "demo", "--plan", "--force", "-o", "json"],
      aws,
    );

    // Then the plan exits 3 and says the cost per hour before and after, with the price basis
    expect(planned.code, planned.stderr).toBe(3);
    const [preview] = (JSON.parse(planned.stdout) as DeployPreviewResponse).apis;
    expect(preview?.changedFields.map((f) => f.field)).toEqual(["compute.cpu", "compute.mem"]);
    expect(preview?.costPerHour?.before).toEqual(cost?.perHour);
    // After: 2 tasks (min_replicas) of 2 vCPU / 4 GB plus the whole load balancer floor. Moto's
    // DescribeClusters returns no defaultCapacityProviderStrategy (`get` shows no providers), so
    // both are priced on demand here; the Spot split is api-costs.test.ts's
    const taskHour = 2 * 0.04048 + 4 * 0.004445;
    expect(preview?.costPerHour?.after).toEqual({
      usd: expect.closeTo(2 * taskHour + 0.0305, 6),
      unit: "USD/hour",
    });
    expect(preview?.costPerHour?.prices).toContain("us-east-1 on-demand list prices, 2026");
    await cluster.axon(["cluster", "down", "--env", "demo", "--yes"], aws);
  }, 300_000);
});
