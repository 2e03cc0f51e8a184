/**
 * For tests of APIs on ECS: a real cluster stack created on a moto server from the template
 * `cluster up --provider aws` generates (the same template, default-VPC lookup and stack calls),
 * returned as the refs an API's resources are built from, with the ports (and every AWS call they
 * made, by service and command).
 */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseClusterConfig } from "@axon/config";
import { clusterRefs, type AwsClusterRefs } from "../api-names.js";
import { createClusterStack, describeClusterStack, type StackDeps } from "../cluster-stack.js";
import { clusterStackName, generateClusterTemplate } from "../cluster-template.js";
import { findDefaultVpc } from "../default-vpc.js";
import { connectAws, type AwsPorts } from "../sdk.js";
import type { MotoServer } from "./moto-server.js";

export const MOTO_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0";

export interface MotoCluster {
  refs: AwsClusterRefs;
  ports: AwsPorts;
  /** `service:Command` of every call made through `ports` since the cluster was created. */
  calls: string[];
  /** An empty home directory for the test (remove it to test a lost `$AXON_HOME`). */
  home: string;
}

/** Creates cluster `demo` (env `prod`) on `moto` and returns its refs and call-counting ports. */
export async function createMotoCluster(
  moto: MotoServer,
  clusterName = "demo",
): Promise<MotoCluster> {
  const settings = moto.awsEnv();
  const home = mkdtempSync(path.join(os.tmpdir(), "axon-moto-cluster-"));
  const calls: string[] = [];
  const ports = await connectAws("us-east-1", settings, {
    onCall: (service, command) => calls.push(`${service}:${command}`),
  });
  const config = parseClusterConfig(
    `cluster_name: ${clusterName}\nregion: us-east-1\nimage: ${MOTO_IMAGE}\n`,
    "cluster.yaml",
  );
  const deps: StackDeps = {
    cloudFormation: ports.cloudFormation,
    target: ports.target,
    signal: new AbortController().signal,
    pollMs: 20,
    onResource: () => {},
  };
  const defaultVpc = await findDefaultVpc({ ...deps, ec2: ports.ec2 });
  const stackName = clusterStackName(clusterName);
  await createClusterStack(deps, {
    stackName,
    templateBody: JSON.stringify(generateClusterTemplate({ config, envName: "prod", defaultVpc })),
    tags: { "axon:cluster": clusterName, "axon:env": "prod" },
  });
  const stack = await describeClusterStack(deps, stackName);
  if (stack === undefined) throw new Error(`moto has no stack ${stackName} after creating it`);
  calls.length = 0;
  return { refs: clusterRefs("prod", "us-east-1", stackName, stack.outputs), ports, calls, home };
}
