/**
 * What a cluster costs before any API runs on it: each billable resource the stack creates, per
 * hour and per month (730 h), from `aws-prices.ts`. Replicas are billed on top, per vCPU-hour and
 * GB-hour; traffic-based charges (LCUs beyond one, NAT data, log ingestion) are named, not guessed.
 */
import type { ClusterConfig } from "@axon/config";
import type { ClusterCostEstimate, ClusterCostLine } from "../../contract/index.js";
import { AWS_PRICES } from "./aws-prices.js";

/** The cost table `cluster up` shows before it creates anything. */
export function estimateClusterCost(config: ClusterConfig): ClusterCostEstimate {
  const prices = AWS_PRICES;
  const lines: ClusterCostLine[] = [];
  const add = (
    item: string,
    count: number,
    hourly: number,
    note: string,
    pricing: ClusterCostLine["pricing"] = "hourly",
  ): void => {
    const perHour = round(count * hourly, 4);
    const perMonth = round(perHour * prices.hoursPerMonth, 2);
    lines.push({ item, count, pricing, perHour, perMonth, note });
  };
  add(
    "Application Load Balancer",
    1,
    prices.albHour + prices.albLcuHour,
    `$${prices.albHour}/h + one LCU-hour ($${prices.albLcuHour}) as the idle floor; more LCUs with traffic`,
  );
  if (config.loadBalancer.scheme === "internet-facing") {
    add(
      "Public IPv4 addresses (load balancer)",
      2,
      prices.publicIpv4Hour,
      "one per availability zone",
    );
  }
  const nats =
    config.networking.vpc === "new"
      ? { none: 0, single: 1, highly_available: 2 }[config.networking.natGateway]
      : 0;
  if (nats > 0) {
    add(
      "NAT gateways",
      nats,
      prices.natGatewayHour,
      `plus $${prices.natGatewayPerGb} per GB processed`,
    );
    add("Public IPv4 addresses (NAT)", nats, prices.publicIpv4Hour, "one per NAT gateway");
  }
  add(
    "CloudWatch Logs",
    1,
    0,
    `$${prices.logsIngestedPerGb.toFixed(2)} per GB ingested, $${prices.logsStoredPerGbMonth} per GB-month kept (${config.logRetentionDays} days)`,
    "usage",
  );
  add("S3 bundle bucket", 1, 0, `$${prices.s3PerGbMonth} per GB-month; bundles are small`, "usage");
  const certificates = config.loadBalancer.certificateArns?.length ?? 0;
  if (certificates > 0) {
    add(
      "HTTPS listener and ACM certificates",
      certificates,
      prices.acmPublicCertificate,
      "public ACM certificates are free (imported or private-CA ones are billed by ACM); TLS handshakes count toward the ALB's LCUs",
      "free",
    );
  }
  if (config.loadBalancer.domain !== undefined) {
    add(
      `Route 53 alias record (${config.loadBalancer.domain.name})`,
      1,
      0,
      `queries to an alias of the ALB are free; your hosted zone itself is $${prices.route53HostedZoneMonth}/month (it exists already: not created or counted here), other queries $${prices.route53PerMillionQueries} per million`,
      "usage",
    );
  }
  add("ECS cluster, VPC, roles, security groups", 1, 0, "no charge", "free");
  const perHour = round(
    lines.reduce((sum, line) => sum + line.perHour, 0),
    4,
  );
  const publicTasks =
    config.networking.vpc === "default" || config.networking.natGateway === "none";
  const replicaNote =
    `Replicas are billed on top while they run: $${prices.fargateVcpuHour} per vCPU-hour and $${prices.fargateGbHour} per GB-hour on Fargate ` +
    `(a 1 vCPU / 2 GB replica ≈ $${round((prices.fargateVcpuHour + 2 * prices.fargateGbHour) * prices.hoursPerMonth, 0)}/month)` +
    (config.capacity.fargateSpotWeight > 0
      ? `; Fargate Spot is ${prices.fargateSpotDiscount}`
      : "") +
    (publicTasks
      ? `; each replica also has a public IPv4 address ($${prices.publicIpv4Hour}/h)`
      : "") +
    ".";
  return {
    lines,
    perHour,
    perMonth: round(perHour * prices.hoursPerMonth, 2),
    replicaNote,
    assumptions: prices.note,
  };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
