/**
 * After the stack is gone, make sure its ECS cluster is too. CloudFormation deletes it with the
 * stack on AWS; an emulator (moto 5.2) or a cluster re-created by hand can leave it ACTIVE, and
 * `cluster down` promises that nothing is left. The cluster is empty by then (its APIs were
 * deleted first), so DeleteCluster is safe.
 */
import { callAws, type AwsCallDeps } from "./cluster-stack.js";
import type { EcsPort } from "./sdk.js";

/** Deletes `clusterName` if it is still ACTIVE; true when it had to. */
export async function sweepCluster(
  deps: AwsCallDeps & { ecs: EcsPort },
  clusterName: string,
): Promise<boolean> {
  const described = await callAws(deps, "ecs:DescribeClusters", () =>
    deps.ecs.describeClusters({ clusters: [clusterName] }),
  );
  const active = (described.clusters ?? []).some((cluster) => cluster.status === "ACTIVE");
  if (!active) return false;
  await callAws(deps, "ecs:DeleteCluster", () => deps.ecs.deleteCluster({ cluster: clusterName }));
  return true;
}
