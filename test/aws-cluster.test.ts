/**
 * AWS environments end to end (issue 18): the built CLI and a real daemon against a real moto
 * server on 127.0.0.1, reached only through AWS_ENDPOINT_URL and the standard AWS variables, as a
 * user with an emulator would. `cluster up --provider aws` creates the stack (checked with the SDK),
 * `cluster info --env` describes it, `cluster down --env` leaves nothing of any type, and a second
 * `down` is a no-op that says so.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DescribeClustersCommand, ECSClient } from "@aws-sdk/client-ecs";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { afterEach, describe, expect, test } from "vitest";
import {
  clientConfig,
  leftovers,
  NOTHING,
} from "../packages/control-plane/src/providers/aws/testing/leftovers.js";
import {
  motoAvailable,
  startMoto,
  type MotoServer,
} from "../packages/control-plane/src/providers/aws/testing/moto-server.js";
import { copyExample, makeTestCluster } from "./helpers.js";

const HAS_MOTO = motoAvailable();
const IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function moto(): Promise<MotoServer> {
  const server = await startMoto();
  cleanups.push(() => server.stop());
  // The test's own SDK clients (to check what was created) use the same variables.
  Object.assign(process.env, server.awsEnv());
  return server;
}

/** Writes lines to a log stream, as the awslogs driver of a replica's task would. */
async function putReplicaLog(group: string, stream: string, lines: string[]): Promise<void> {
  const logs = new CloudWatchLogsClient(clientConfig);
  await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }));
  const now = Date.now();
  await logs.send(
    new PutLogEventsCommand({
      logGroupName: group,
      logStreamName: stream,
      logEvents: lines.map((message, index) => ({ timestamp: now + index, message })),
    }),
  );
}

function clusterYaml(text: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "axon-cluster-yaml-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "cluster.yaml");
  writeFileSync(file, text);
  return file;
}

describe.skipIf(!HAS_MOTO)("aws environments on moto (skipped when python3 has no moto)", () => {
  test("cluster up --provider aws, env list/use, cluster info, an API deployed, listed, logged, found again from tags and deleted, cluster down twice", async () => {
    // Given a moto server and a cluster config
    const server = await moto();
    const cluster = await makeTestCluster();
    const awsEnv = { env: server.awsEnv() };
    const config = clusterYaml(
      `cluster_name: demo\nregion: us-east-1\nimage: ${IMAGE}\nlog_retention_days: 7\n`,
    );

    // When cluster up runs without a terminal and without --yes
    const refused = await cluster.axon(
      ["cluster", "up", "--provider", "aws", "--config", config],
      awsEnv,
    );
    // Then it shows the cost table, refuses naming the flag, and creates nothing
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("Application Load Balancer");
    expect(refused.stderr).toMatch(/\$0\.0305 +\$22\.27/);
    expect(refused.stderr).toContain("Replicas are billed on top");
    expect(refused.stderr).toContain("hint: pass --yes to go ahead without a prompt");
    expect(await leftovers()).toEqual(NOTHING);

    // When it runs with --yes
    const up = await cluster.axon(
      ["cluster", "up", "--provider", "aws", "--config", config, "--yes", "-o", "json"],
      awsEnv,
    );
    // Then the stack and its resources exist
    expect(up.stderr).toContain("creating stack axon-demo in us-east-1");
    expect(up.code).toBe(0);
    const result = JSON.parse(up.stdout) as {
      outcome: string;
      cluster: { stackStatus: string; loadBalancerUrl: string; bucket: string };
    };
    expect(result.outcome).toBe("created");
    expect(result.cluster.stackStatus).toBe("CREATE_COMPLETE");
    const stacks = await new CloudFormationClient(clientConfig).send(
      new DescribeStacksCommand({ StackName: "axon-demo" }),
    );
    expect(stacks.Stacks?.[0]?.Tags).toEqual(
      expect.arrayContaining([
        { Key: "axon:cluster", Value: "demo" },
        { Key: "axon:env", Value: "demo" },
      ]),
    );
    const ecs = await new ECSClient(clientConfig).send(
      new DescribeClustersCommand({ clusters: ["axon-demo"] }),
    );
    expect(ecs.clusters?.[0]?.status).toBe("ACTIVE");
    const created = await leftovers();
    expect(created.loadBalancers).toEqual(["axon-demo"]);
    expect(created.buckets).toEqual([result.cluster.bucket]);
    expect(created.logGroups).toEqual(["/axon/demo"]);
    expect(created.roles).toHaveLength(3); // execution, task, and ECS infrastructure (canary traffic);
    expect(created.securityGroups).toHaveLength(2);

    // And the environment is registered next to local
    const list = await cluster.axon(["env", "list", "-o", "json"], awsEnv);
    expect(JSON.parse(list.stdout)).toMatchObject({
      defaultEnvironment: "local",
      environments: [
        { name: "local", provider: "local" },
        { name: "demo", provider: "aws", region: "us-east-1", stackName: "axon-demo" },
      ],
    });

    // When cluster info targets it
    const info = await cluster.axon(["cluster", "info", "--env", "demo"], awsEnv);
    expect(info.code).toBe(0);
    expect(info.stdout).toContain("axon-demo: CREATE_COMPLETE");
    expect(info.stdout).toContain(result.cluster.loadBalancerUrl);

    // When the iris example is deployed to it (issue 20), Then ECS gets its pieces and the
    // answer has the same shape as a local deploy, with the endpoint on the load balancer
    const project = copyExample("iris-sklearn");
    const deploy = await cluster.axon(
      ["deploy", project, "--env", "demo", "--no-wait", "-o", "json"],
      awsEnv,
    );
    expect(deploy.stderr).toContain("registered task definition axon-demo-iris-classifier:1");
    // The one warning: the example has no auth, on a public load balancer (issue 29)
    expect(deploy.stderr).not.toMatch(/error/i);
    expect(deploy.stderr.match(/warning: .*/g)).toEqual([
      expect.stringMatching(
        /^warning: axon\.yaml(:\d+:\d+)?: iris-classifier\.networking\.auth: is none on a public load balancer/,
      ),
    ]);
    expect(deploy.code).toBe(0);
    const deployed = JSON.parse(deploy.stdout) as {
      results: Array<{ api: string; outcome: string; endpoint: string }>;
    };
    expect(deployed.results).toEqual([
      expect.objectContaining({
        api: "iris-classifier",
        outcome: "created",
        endpoint: `${result.cluster.loadBalancerUrl}/iris-classifier`,
      }),
    ]);
    const withApi = await leftovers();
    expect(withApi.services).toHaveLength(1);
    // The API's group and the listener's default (empty) one (decision 0011).
    expect(withApi.targetGroups).toHaveLength(2);
    expect(withApi.taskDefinitions).toHaveLength(1);
    expect(withApi.scalableTargets).toEqual(["service/axon-demo/iris-classifier"]);
    expect(withApi.alarms).toHaveLength(2); // target tracking's high and low alarms

    // And cluster info counts it
    const info2 = await cluster.axon(["cluster", "info", "--env", "demo", "-o", "json"], awsEnv);
    expect(JSON.parse(info2.stdout)).toMatchObject({ apis: 1 });

    // And a deploy to it in text names the environment in its next steps
    const text = await cluster.axon(["deploy", project, "--env", "demo", "--no-wait"], awsEnv);
    expect(text.stdout, text.stderr).toContain(
      "iris-classifier (RealtimeAPI) is up to date on demo",
    );
    expect(text.stdout).toContain("axon logs iris-classifier --env demo");

    // When it is deployed again unchanged, Then nothing changes
    const again = await cluster.axon(
      ["deploy", project, "--env", "demo", "--no-wait", "-o", "json"],
      awsEnv,
    );
    expect(JSON.parse(again.stdout)).toMatchObject({ results: [{ outcome: "unchanged" }] });
    expect((await leftovers()).taskDefinitions).toEqual(withApi.taskDefinitions);

    // When get lists the environment, by flag or by default, Then the API is there; ECS on moto
    // never starts tasks, so it is still rolling out
    const get = await cluster.axon(["get", "--env", "demo", "-o", "json"], awsEnv);
    expect(get.code).toBe(0);
    expect(JSON.parse(get.stdout)).toMatchObject({
      apis: [{ name: "iris-classifier", status: "updating", replicas: { requested: 1 } }],
    });
    expect((await cluster.axon(["env", "use", "demo"], awsEnv)).code).toBe(0);
    const one = await cluster.axon(["get", "iris-classifier", "-o", "json"], awsEnv);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({
      name: "iris-classifier",
      spec: { name: "iris-classifier", predictor: { path: "predictor.py" } },
    });
    // And rollback acts on the default environment's ECS service: with one revision, there is
    // nothing to go back to (a rollback that happens: test/aws-verbs.test.ts)
    const rollback = await cluster.axon(["rollback", "iris-classifier"], awsEnv);
    expect(rollback.code).toBe(1);
    expect(rollback.stderr).toContain(
      "error: iris-classifier has no revision older than 1 to roll back to",
    );
    expect(rollback.stderr).toContain("hint: revisions of iris-classifier: 1 (current)");
    expect((await cluster.axon(["env", "use", "local"], awsEnv)).code).toBe(0);
    expect(JSON.parse((await cluster.axon(["get", "-o", "json"], awsEnv)).stdout)).toEqual({
      apis: [],
    });

    // When a replica's lines are in CloudWatch Logs, Then axon logs shows them
    await putReplicaLog("/axon/demo", "iris-classifier/replica/0123456789abcdef", [
      "axon-replica: serving iris-classifier on :8080",
    ]);
    const logs = await cluster.axon(["logs", "iris-classifier", "--env", "demo"], awsEnv);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain("axon-replica: serving iris-classifier on :8080");

    // When $AXON_HOME is lost, Then the API is found again from the account's tags
    cluster.cleanup(); // stops the daemon and removes its home
    const fresh = await makeTestCluster();
    expect(
      (
        await fresh.axon(
          ["env", "add", "demo", "--provider", "aws", "--region", "us-east-1"],
          awsEnv,
        )
      ).code,
    ).toBe(0);
    expect(
      JSON.parse((await fresh.axon(["get", "--env", "demo", "-o", "json"], awsEnv)).stdout),
    ).toMatchObject({ apis: [{ name: "iris-classifier" }] });

    // When it is deleted, Then none of its pieces is left, and the cluster's are
    const deleted = await fresh.axon(
      ["delete", "iris-classifier", "--env", "demo", "--yes"],
      awsEnv,
    );
    expect(deleted.stderr).toBe("");
    expect(deleted.code).toBe(0);
    const afterDelete = await leftovers();
    expect(afterDelete).toMatchObject({
      services: [],
      // Only the listener's default group, the cluster's.
      targetGroups: [expect.stringMatching(/^axon-dflt-/)],
      taskDefinitions: [],
      scalableTargets: [],
      alarms: [],
      loadBalancers: ["axon-demo"],
    });
    // And an API deployed again is deleted by cluster down before the stack
    expect((await fresh.axon(["deploy", project, "--env", "demo", "--no-wait"], awsEnv)).code).toBe(
      0,
    );

    // When cluster down targets it
    const down = await fresh.axon(["cluster", "down", "--env", "demo", "--yes"], awsEnv);
    // Then nothing of any type is left
    expect(down.code).toBe(0);
    expect(down.stdout).toContain("stack axon-demo deleted from us-east-1");
    expect(await leftovers()).toEqual(NOTHING);

    // When it runs again, Then it is a no-op that says so
    const downAgain = await fresh.axon(["cluster", "down", "--env", "demo", "--yes"], awsEnv);
    expect(downAgain.code).toBe(0);
    expect(downAgain.stdout).toMatch(
      /^stack axon-demo does not exist in us-east-1: nothing to delete/,
    );

    // And the environment can be forgotten
    const removed = await fresh.axon(["env", "remove", "demo"], awsEnv);
    expect(removed.stdout).toContain("environment demo removed");
  });

  test("prediction monitoring on ECS: get --env shows the class counts the replicas printed, not logs", async () => {
    // Given a cluster and the iris example with a Cortex 0.20 monitoring block, deployed to it
    const server = await moto();
    const cluster = await makeTestCluster();
    const awsEnv = { env: server.awsEnv() };
    const config = clusterYaml(`cluster_name: demo\nregion: us-east-1\nimage: ${IMAGE}\n`);
    expect(
      (
        await cluster.axon(
          ["cluster", "up", "--provider", "aws", "--config", config, "--yes"],
          awsEnv,
        )
      ).code,
    ).toBe(0);
    const project = copyExample("iris-sklearn");
    const yaml = path.join(project, "axon.yaml");
    writeFileSync(
      yaml,
      `${readFileSync(yaml, "utf8")}  monitoring:\n    model_type: classification\n`,
    );
    const deploy = await cluster.axon(["deploy", project, "--env", "demo", "--no-wait"], awsEnv);
    expect(deploy.code).toBe(0);

    // When a replica of revision 1 printed its tally (as replica/prediction-lines.ts does on ECS),
    // then a change was deployed (revision 2) and two of its replicas printed theirs mid-rollout
    const now = Date.now();
    const line = (task: string, revision: number, classes: Record<string, number>): string => {
      const count = Object.values(classes).reduce((sum, n) => sum + n, 0);
      return JSON.stringify({
        axon_predictions: 1,
        api: "iris-classifier",
        task,
        at: new Date(now).toISOString(),
        revision,
        tally: {
          modelType: "classification",
          count,
          missingKey: 0,
          invalid: 0,
          classes,
          other: 0,
          sum: 0,
          min: null,
          max: null,
          sketch: null,
        },
      });
    };
    await putReplicaLog("/axon/demo", "iris-classifier/replica/oldtask1", [
      line("oldtask1", 1, { setosa: 9, virginica: 1 }),
    ]);
    writeFileSync(
      yaml,
      `${readFileSync(yaml, "utf8")}  update_strategy:\n    max_surge: 1\n    max_unavailable: 0\n`,
    );
    // moto runs no task, so revision 1 is still rolling out: changing it needs --force (issue 25)
    const change = await cluster.axon(
      ["deploy", project, "--env", "demo", "--no-wait", "--force"],
      awsEnv,
    );
    expect(change.stderr).toContain("registered task definition axon-demo-iris-classifier:2");
    await putReplicaLog("/axon/demo", "iris-classifier/replica/aaaa1111", [
      line("aaaa1111", 2, { setosa: 3, virginica: 5 }),
      "axon-replica: an ordinary line",
    ]);
    await putReplicaLog("/axon/demo", "iris-classifier/replica/bbbb2222", [
      line("bbbb2222", 2, { setosa: 1, virginica: 1 }),
    ]);

    // Then get --env sums the new revision's into the monitoring table, the old one's beside it
    const get = await cluster.axon(
      ["get", "iris-classifier", "--env", "demo", "--since", "1h", "-o", "json"],
      awsEnv,
    );
    expect(get.code).toBe(0);
    expect(JSON.parse(get.stdout)).toMatchObject({
      monitoring: {
        modelType: "classification",
        current: {
          versionId: "revision 2",
          predictions: 10,
          classes: [
            { label: "virginica", count: 6, share: 0.6 },
            { label: "setosa", count: 4, share: 0.4 },
          ],
        },
        previous: { versionId: "revision 1", predictions: 10 },
        drift: { message: "collecting a baseline: 10 of 1000 predictions" },
      },
    });
    const text = await cluster.axon(
      ["get", "iris-classifier", "--env", "demo", "--since", "1h"],
      awsEnv,
    );
    expect(text.stdout).toMatch(/virginica +6 \(60%\)/);
    // And axon logs shows the ordinary line, not the tallies
    const logs = await cluster.axon(["logs", "iris-classifier", "--env", "demo"], awsEnv);
    expect(logs.stdout).toContain("axon-replica: an ordinary line");
    expect(logs.stdout).not.toContain("axon_predictions");
    expect((await cluster.axon(["cluster", "down", "--env", "demo", "--yes"], awsEnv)).code).toBe(
      0,
    );
  });

  test("env add/use/remove, and a bad cluster.yaml creates nothing and names file:line:col", async () => {
    const server = await moto();
    const cluster = await makeTestCluster();
    const awsEnv = { env: server.awsEnv() };

    // Given an environment added by hand
    const added = await cluster.axon(
      ["env", "add", "prod", "--provider", "aws", "--region", "eu-west-1", "-o", "json"],
      awsEnv,
    );
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ name: "prod", stackName: "axon-prod" });
    // When used, Then the list marks it the default
    expect((await cluster.axon(["env", "use", "prod"], awsEnv)).stdout).toBe(
      "prod is now the default environment\n",
    );
    const list = await cluster.axon(["env", "list"], awsEnv);
    expect(list.stdout).toMatch(
      /^ +env +provider +region +stack\n +local +local +- +-\n\* +prod +aws +eu-west-1 +axon-prod\n$/,
    );
    // When an unknown env is named, Then the known ones are listed
    const unknown = await cluster.axon(["logs", "x", "--env", "nope"], awsEnv);
    expect(unknown.stderr).toContain("there is no environment named nope");
    expect(unknown.stderr).toContain("environments: local, prod");
    // When removed, Then local is the default again
    expect((await cluster.axon(["env", "remove", "prod"], awsEnv)).code).toBe(0);
    expect(
      JSON.parse((await cluster.axon(["env", "list", "-o", "json"], awsEnv)).stdout),
    ).toMatchObject({
      defaultEnvironment: "local",
    });

    // Given a cluster.yaml with four mistakes
    const config = clusterYaml(
      [
        "cluster_name: demo",
        `image: ${IMAGE}`,
        "capacity: {fargate_weight: lots}",
        "log_retention_days: 8",
        "load_balancer:",
        "  allowed_cidrs: [300.0.0.0/8]",
        "  shceme: internal",
        "",
      ].join("\n"),
    );
    // When cluster up runs, Then each is named at file:line:col and nothing is created
    const bad = await cluster.axon(
      ["cluster", "up", "--provider", "aws", "--config", config, "--yes"],
      awsEnv,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      "error: cluster.yaml is not a valid cluster configuration (4 problems); nothing was created",
    );
    expect(bad.stderr).toContain(
      'cluster.yaml:3:28: capacity.fargate_weight: must be an integer (got "lots")',
    );
    expect(bad.stderr).toContain(
      "cluster.yaml:4:21: log_retention_days: must be a retention CloudWatch Logs accepts",
    );
    expect(bad.stderr).toContain(
      "cluster.yaml:6:19: load_balancer.allowed_cidrs.0: must be an IPv4 range",
    );
    expect(bad.stderr).toContain(
      "cluster.yaml:7:3: load_balancer.shceme: key shceme is not supported",
    );
    expect(await leftovers()).toEqual(NOTHING);
  });
});
