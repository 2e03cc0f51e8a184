/**
 * The account's default VPC and its default subnets (one per availability zone), for a cluster
 * with `networking.vpc: default`. The load balancer needs subnets in two AZs at least.
 */
import { DomainError } from "../../errors.js";
import type { DefaultVpcNetwork } from "./cluster-template.js";
import { callAws, type AwsCallDeps } from "./cluster-stack.js";
import type { Ec2Port } from "./sdk.js";

/** Finds the default VPC and its default-for-AZ subnets, sorted by AZ. */
export async function findDefaultVpc(
  deps: AwsCallDeps & { ec2: Ec2Port },
): Promise<DefaultVpcNetwork> {
  const vpcs = await callAws(deps, "ec2:DescribeVpcs", () =>
    deps.ec2.describeVpcs({ Filters: [{ Name: "isDefault", Values: ["true"] }] }),
  );
  const vpcId = vpcs.Vpcs?.[0]?.VpcId;
  if (vpcId === undefined) {
    throw new DomainError(
      "provider.aws.no_default_vpc",
      `region ${deps.target.region} has no default VPC`,
      {
        status: 409,
        hint: "set networking.vpc: new in the cluster config (Axon then creates a VPC for the cluster), or create a default VPC with aws ec2 create-default-vpc",
      },
    );
  }
  const subnets = await callAws(deps, "ec2:DescribeSubnets", () =>
    deps.ec2.describeSubnets({
      Filters: [
        { Name: "vpc-id", Values: [vpcId] },
        { Name: "default-for-az", Values: ["true"] },
      ],
    }),
  );
  const byZone = new Map<string, string>();
  for (const subnet of subnets.Subnets ?? []) {
    if (subnet.AvailabilityZone !== undefined && subnet.SubnetId !== undefined)
      byZone.set(subnet.AvailabilityZone, subnet.SubnetId);
  }
  const subnetIds = [...byZone.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, id]) => id);
  if (subnetIds.length < 2) {
    throw new DomainError(
      "provider.aws.default_vpc_too_small",
      `the default VPC ${vpcId} in ${deps.target.region} has default subnets in ${subnetIds.length} availability zone(s); a load balancer needs two`,
      { status: 409, hint: "set networking.vpc: new in the cluster config" },
    );
  }
  return { vpcId, subnetIds };
}
