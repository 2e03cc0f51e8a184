/**
 * The AWS prices behind `cluster up`'s cost table: assumptions to print beside the estimate, kept
 * in this one data file with their date and region so they are updated in one place. Source: the
 * public on-demand list prices for us-east-1 as published in 2026 (shared/reference/aws-prices.md).
 * Other regions are typically 10–30% higher.
 */
export const AWS_PRICES = {
  asOf: "2026",
  region: "us-east-1",
  note: "us-east-1 on-demand list prices, 2026; verify for your region (others are typically 10–30% higher)",
  hoursPerMonth: 730,
  fargateVcpuHour: 0.04048,
  fargateGbHour: 0.004445,
  fargateSpotDiscount: "up to ~70% below on-demand",
  /**
   * What `get` prices a Spot task at, as a fraction of on-demand: the reference's "up to ~70%
   * below" taken at its bound, said beside every figure (Spot prices move; this is the assumption).
   */
  fargateSpotFraction: 0.3,
  albHour: 0.0225,
  albLcuHour: 0.008,
  natGatewayHour: 0.045,
  natGatewayPerGb: 0.045,
  publicIpv4Hour: 0.005,
  logsIngestedPerGb: 0.5,
  logsStoredPerGbMonth: 0.03,
  s3PerGbMonth: 0.023,
  /**
   * Route 53: $0.50 per hosted zone-month (first 25 zones), $0.40 per million standard queries, and
   * queries to an alias record of an Elastic Load Balancer are free:
   * https://aws.amazon.com/route53/pricing/
   */
  route53HostedZoneMonth: 0.5,
  route53PerMillionQueries: 0.4,
  /** "Public SSL/TLS certificates provisioned through AWS Certificate Manager are free": https://aws.amazon.com/certificate-manager/pricing/ */
  acmPublicCertificate: 0,
} as const;
