/**
 * For tests of APIs on ECS: a real cluster stack created on a moto server through the same
 * `bringUpAwsCluster` a user's `cluster up --provider aws` runs, returned as the refs an API's
 * resources are built from, with the ports (and every AWS call they made, by service and command).
 */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { RecordingSink } from "../../../events/event-sink.js";
import { bringUpAwsCluster } from "../../../services/aws-cluster.js";
import { StateStore } from "../../../state/store.js";
import { clusterRefs, type AwsClusterRefs } from "../api-names.js";
import { connectAws, type AwsPorts } from "../sdk.js";
import type { MotoServer } from "./moto-server.js";

export const MOTO_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-replica:0.1.0";

export interface MotoCluster {
  refs: AwsClusterRefs;
  ports: AwsPorts;
  /** `service:Command` of every call made through `ports` since the cluster was created. */
  calls: string[];
  /** The home directory its state store lives in (remove it to test a lost `$AXON_HOME`). */
  home: string;
}

/** Creates cluster `demo` (env `prod`) on `moto` and returns its refs and call-counting ports. */
export async function createMotoCluster(
  moto: MotoServer,
  clusterName = "demo",
): Promise<MotoCluster> {
  const settings = moto.awsEnv();
  const home = mkdtempSync(path.join(os.tmpdir(), "axon-moto-cluster-"));
  const store = StateStore.open(path.join(home, "state.db"));
  try {
    const response = await bringUpAwsCluster(
      {
        store,
        events: new RecordingSink(),
        signal: new AbortController().signal,
        pollMs: 20,
        awsSettings: settings,
      },
      {
        config: `cluster_name: ${clusterName}\nregion: us-east-1\nimage: ${MOTO_IMAGE}\n`,
        configFileName: "cluster.yaml",
        env: "prod",
      },
    );
    const stackName = response.cluster.stackName;
    const calls: string[] = [];
    const ports = await connectAws("us-east-1", settings, {
      onCall: (service, command) => calls.push(`${service}:${command}`),
    });
    const stack = await ports.cloudFormation.describeStacks({ StackName: stackName });
    const outputs = Object.fromEntries(
      (stack.Stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]),
    );
    calls.length = 0;
    return { refs: clusterRefs("prod", "us-east-1", stackName, outputs), ports, calls, home };
  } finally {
    store.close();
  }
}
