/**
 * The account's default VPC and its default subnets (one per availability zone), for a cluster
 * with `networking.vpc: default`. The load balancer needs subnets in two AZs at least.
 *
 * Only zones where Fargate runs tasks are used: "Amazon ECS Linux containers on AWS Fargate are
 * supported in the following AWS Regions. The supported Availability Zone IDs are noted when
 * applicable" (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AWS_Fargate-Regions.html).
 * Zone IDs, not names: names map to different zones in each account.
 */
import { DomainError } from "../../errors.js";
import type { DefaultVpcNetwork } from "./cluster-template.js";
import { callAws, type AwsCallDeps } from "./cluster-stack.js";
import type { Ec2Port } from "./sdk.js";

/** The region has no default VPC to put the cluster in (409). */
export const AWS_NO_DEFAULT_VPC = "provider.aws.no_default_vpc";
/** The default VPC has default subnets in fewer than two Fargate zones (409). */
export const AWS_DEFAULT_VPC_TOO_SMALL = "provider.aws.default_vpc_too_small";

/**
 * The regions where that page limits Fargate to some zones, by zone ID (as it read in 2026-12:
 * "us-west-1 (usw1-az1 & usw1-az3 only)", "ap-northeast-1 (apne1-az1, apne1-az2, & apne1-az4
 * only)"). Elsewhere every zone is used.
 */
export const FARGATE_ZONE_IDS: Readonly<Record<string, readonly string[]>> = {
  "us-west-1": ["usw1-az1", "usw1-az3"],
  "ap-northeast-1": ["apne1-az1", "apne1-az2", "apne1-az4"],
};

/** Finds the default VPC and its default-for-AZ subnets in Fargate's zones, sorted by AZ. */
export async function findDefaultVpc(
  deps: AwsCallDeps & { ec2: Ec2Port },
): Promise<DefaultVpcNetwork> {
  const vpcs = await callAws(deps, "ec2:DescribeVpcs", () =>
    deps.ec2.describeVpcs({ Filters: [{ Name: "isDefault", Values: ["true"] }] }),
  );
  const vpcId = vpcs.Vpcs?.[0]?.VpcId;
  if (vpcId === undefined) {
    throw new DomainError(AWS_NO_DEFAULT_VPC, `region ${deps.target.region} has no default VPC`, {
      status: 409,
      hint: "set networking.vpc: new in the cluster config (Axon then creates a VPC for the cluster), or create a default VPC with aws ec2 create-default-vpc",
    });
  }
  const subnets = await callAws(deps, "ec2:DescribeSubnets", () =>
    deps.ec2.describeSubnets({
      Filters: [
        { Name: "vpc-id", Values: [vpcId] },
        { Name: "default-for-az", Values: ["true"] },
      ],
    }),
  );
  const fargateZones = FARGATE_ZONE_IDS[deps.target.region];
  const byZone = new Map<string, string>();
  const skipped: string[] = [];
  for (const subnet of subnets.Subnets ?? []) {
    if (subnet.AvailabilityZone === undefined || subnet.SubnetId === undefined) continue;
    const zoneId = subnet.AvailabilityZoneId;
    if (fargateZones !== undefined && zoneId !== undefined && !fargateZones.includes(zoneId)) {
      skipped.push(`${subnet.AvailabilityZone} (${zoneId})`);
      continue;
    }
    byZone.set(subnet.AvailabilityZone, subnet.SubnetId);
  }
  const subnetIds = [...byZone.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, id]) => id);
  if (subnetIds.length < 2) {
    throw new DomainError(
      AWS_DEFAULT_VPC_TOO_SMALL,
      `the default VPC ${vpcId} in ${deps.target.region} has default subnets in ${subnetIds.length} availability zone(s) where Fargate runs tasks${skipped.length > 0 ? ` (Fargate is not offered in ${skipped.join(", ")})` : ""}; a load balancer needs two`,
      { status: 409, hint: "set networking.vpc: new in the cluster config" },
    );
  }
  return { vpcId, subnetIds };
}
