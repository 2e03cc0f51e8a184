/**
 * `cluster.yaml`: the AWS cluster a user brings up with `axon cluster up --provider aws`. Parsed
 * like `axon.yaml` (YAML with positions → JSON Schema with defaults → cross-field rules), every
 * problem reported at once as a `Diagnostic` pinned to file:line:column and a field path such as
 * `load_balancer.allowed_cidrs.0`. The result is a resolved, defaults-filled `ClusterConfig`.
 */

import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { ValidateFunction } from "ajv";
import { compileClusterValidator, validateClusterSchema } from "./cluster-schema.js";
import { ConfigError, type Diagnostic } from "./diagnostics.js";
import { describeValue, type FieldIssue } from "./schema.js";
import { readYamlDocument, type YamlSource } from "./yaml-document.js";
import { decodeConfigBytes } from "./yaml-limits.js";
import { locateInDocument } from "./yaml-positions.js";

/** The networking of a cluster: the account's default VPC, or a VPC the stack creates. */
export type ClusterNetworking =
  | { vpc: "default" }
  | { vpc: "new"; vpcCidr: string; natGateway: "none" | "single" | "highly_available" };

/** A validated, defaults-filled `cluster.yaml`. */
export interface ClusterConfig {
  clusterName: string;
  /** Absent: the region of the standard AWS chain. */
  region?: string;
  image: string;
  networking: ClusterNetworking;
  capacity: { fargateWeight: number; fargateSpotWeight: number; fargateBase: number };
  loadBalancer: {
    scheme: "internet-facing" | "internal";
    allowedCidrs: string[];
    /** ACM certificates for an HTTPS listener (the first is its default); absent: HTTP only. */
    certificateArns?: string[];
    /** A Route 53 alias record to the load balancer; endpoints then use this name. */
    domain?: { name: string; hostedZoneId: string };
  };
  logRetentionDays: number;
  tags: Record<string, string>;
}

/** Options for `parseClusterConfig`. */
export interface ParseClusterConfigOptions {
  /** A compiled validator to reuse (the daemon keeps one); compiled on the spot when absent. */
  validator?: ValidateFunction;
}

/**
 * Parses and validates the text of a cluster config file.
 *
 * @param fileName shown in every diagnostic (e.g. `cluster.yaml`)
 * @throws ConfigError carrying every problem found, each with file, line, column and field path
 */
export function parseClusterConfig(
  text: string,
  fileName: string,
  options: ParseClusterConfigOptions = {},
): ClusterConfig {
  let source: YamlSource;
  try {
    source = readYamlDocument(text, fileName);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // The YAML reader's messages can quote the source over several lines; one line reads better.
    throw new ConfigError(
      error.diagnostics.map((diagnostic) => ({
        ...diagnostic,
        message: firstLine(diagnostic.message),
      })),
    );
  }
  const { doc, lineCounter } = source;
  const at = (path: readonly string[], atKey: boolean): Pick<Diagnostic, "line" | "column"> => {
    const position = locateInDocument(doc, lineCounter, path, atKey);
    return position === undefined ? {} : { line: position.line, column: position.column };
  };
  const root: unknown = doc.toJS({ maxAliasCount: 100 });
  if (root === null || typeof root !== "object" || Array.isArray(root)) {
    throw new ConfigError([
      {
        file: fileName,
        ...at([], false),
        path: "",
        message: `must be a map describing one cluster, e.g. "cluster_name: prod" (the stack is then axon-prod) (got ${describeValue(root ?? "an empty file")})`,
      },
    ]);
  }
  const config = root as Record<string, unknown>;
  // The schema fills leaf defaults only inside maps that exist, so absent sections start empty.
  for (const section of ["networking", "capacity", "load_balancer"]) {
    if (config[section] === undefined) config[section] = {};
  }
  const written = structuredClone(config);
  const issues = validateClusterSchema(options.validator ?? compileClusterValidator(), config);
  if (issues.length === 0) issues.push(...checkClusterRules(config, written));
  if (issues.length > 0) {
    const diagnostics = issues.map((issue): Diagnostic => ({
      file: fileName,
      ...at(issue.path, issue.atKey),
      path: issue.path.join("."),
      message: issue.message,
    }));
    diagnostics.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
    throw new ConfigError(diagnostics);
  }
  return resolveClusterConfig(config);
}

/** Reads and parses a cluster config file; diagnostics name it by its base name. */
export function loadClusterConfigFile(path: string): ClusterConfig {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : "cannot be read";
    throw new ConfigError(
      [{ file: path, path: "", message: `${reason}: pass the cluster config with --config FILE` }],
      { cause: error },
    );
  }
  return parseClusterConfig(decodeConfigBytes(bytes, basename(path)), basename(path));
}

/** Rules across fields, checked once the schema passed (so every value has its type). */
function checkClusterRules(
  config: Record<string, unknown>,
  written: Record<string, unknown>,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const networking = config["networking"] as Record<string, unknown>;
  const writtenNetworking = written["networking"] as Record<string, unknown>;
  if (networking["vpc"] === "default") {
    for (const key of ["vpc_cidr", "nat_gateway"]) {
      if (writtenNetworking[key] !== undefined) {
        issues.push({
          path: ["networking", key],
          message: `only applies to a new VPC: set networking.vpc: new, or remove ${key}`,
          atKey: true,
        });
      }
    }
  } else {
    const cidr = String(networking["vpc_cidr"]);
    const aligned = alignCidr(cidr);
    if (aligned !== cidr) {
      issues.push({
        path: ["networking", "vpc_cidr"],
        message: `is not the start of its range (got "${cidr}"): use ${aligned}`,
        atKey: false,
      });
    }
  }
  const capacity = config["capacity"] as Record<string, number>;
  if (capacity["fargate_weight"] === 0 && capacity["fargate_spot_weight"] === 0) {
    issues.push({
      path: ["capacity"],
      message:
        "fargate_weight and fargate_spot_weight cannot both be 0: give one of them a weight, e.g. fargate_weight: 1",
      atKey: true,
    });
  }
  issues.push(...checkLoadBalancerRules(config));
  return issues;
}

/**
 * `arn:<partition>:acm:<region>:<account>:certificate/<id>`. Certificates in ACM are regional and
 * Elastic Load Balancing only uses one from its own region ("To use a certificate with Elastic Load
 * Balancing for the same FQDN in more than one AWS Region, you must request or import a certificate
 * for each Region", https://docs.aws.amazon.com/acm/latest/userguide/acm-regions.html).
 */
const CERTIFICATE_ARN =
  /^arn:aws[a-z-]*:acm:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):certificate\/[0-9a-f-]{36}$/;

/**
 * Problems with the certificate ARNs of a cluster in `region`: shape, and the region the load
 * balancer is in. Also called at `cluster up` when the region comes from the AWS chain, not the file.
 */
export function checkCertificateArns(
  arns: readonly string[],
  region: string | undefined,
): { index: number; message: string }[] {
  const problems: { index: number; message: string }[] = [];
  arns.forEach((arn, index) => {
    const match = CERTIFICATE_ARN.exec(arn);
    if (match === null) {
      problems.push({
        index,
        message: `must be an ACM certificate ARN such as arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789 (got "${arn}"): copy it from aws acm list-certificates`,
      });
    } else if (region !== undefined && match[1] !== region) {
      problems.push({
        index,
        message: `is in ${match[1] ?? "?"}, not the cluster's region ${region}: a load balancer only uses ACM certificates of its own region; request or import the certificate in ${region}`,
      });
    }
  });
  return problems;
}

/** `certificate_arn` as a list (one ARN may be written alone). */
function certificateList(value: unknown): string[] {
  if (value === undefined) return [];
  // The schema passed: a string, or a list of strings.
  return (Array.isArray(value) ? value : [value]) as string[];
}

function checkLoadBalancerRules(config: Record<string, unknown>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const loadBalancer = config["load_balancer"] as Record<string, unknown>;
  const written = loadBalancer["certificate_arn"];
  const region = typeof config["region"] === "string" ? config["region"] : undefined;
  for (const problem of checkCertificateArns(certificateList(written), region)) {
    issues.push({
      path: Array.isArray(written)
        ? ["load_balancer", "certificate_arn", String(problem.index)]
        : ["load_balancer", "certificate_arn"],
      message: problem.message,
      atKey: false,
    });
  }
  const hasDomain = loadBalancer["domain"] !== undefined;
  const hasZone = loadBalancer["hosted_zone_id"] !== undefined;
  if (hasDomain && !hasZone) {
    issues.push({
      path: ["load_balancer", "domain"],
      message:
        "needs hosted_zone_id, the Route 53 hosted zone that holds it (aws route53 list-hosted-zones-by-name)",
      atKey: true,
    });
  }
  if (hasZone && !hasDomain) {
    issues.push({
      path: ["load_balancer", "hosted_zone_id"],
      message: "only applies with domain: set load_balancer.domain, or remove hosted_zone_id",
      atKey: true,
    });
  }
  return issues;
}

/** `10.0.5.0/16` → `10.0.0.0/16`: the address with its host bits cleared. */
function alignCidr(cidr: string): string {
  const [address = "", prefixText = "32"] = cidr.split("/");
  const prefix = Number(prefixText);
  const value = address.split(".").reduce((sum, octet) => sum * 256 + Number(octet), 0);
  const start = value - (value % 2 ** (32 - prefix));
  return `${[24, 16, 8, 0].map((shift) => Math.floor(start / 2 ** shift) % 256).join(".")}/${prefix}`;
}

function resolveClusterConfig(config: Record<string, unknown>): ClusterConfig {
  const networking = config["networking"] as Record<string, string>;
  const capacity = config["capacity"] as Record<string, number>;
  const loadBalancer = config["load_balancer"] as Record<string, unknown>;
  const resolved: ClusterConfig = {
    clusterName: String(config["cluster_name"]),
    image: String(config["image"]),
    networking:
      networking["vpc"] === "new"
        ? {
            vpc: "new",
            vpcCidr: String(networking["vpc_cidr"]),
            natGateway: networking["nat_gateway"] as "none" | "single" | "highly_available",
          }
        : { vpc: "default" },
    capacity: {
      fargateWeight: capacity["fargate_weight"] ?? 1,
      fargateSpotWeight: capacity["fargate_spot_weight"] ?? 0,
      fargateBase: capacity["fargate_base"] ?? 0,
    },
    loadBalancer: {
      scheme: loadBalancer["scheme"] as "internet-facing" | "internal",
      allowedCidrs: loadBalancer["allowed_cidrs"] as string[],
    },
    logRetentionDays: Number(config["log_retention_days"]),
    tags: (config["tags"] ?? {}) as Record<string, string>,
  };
  if (typeof config["region"] === "string") resolved.region = config["region"];
  const certificateArns = certificateList(loadBalancer["certificate_arn"]);
  if (certificateArns.length > 0) resolved.loadBalancer.certificateArns = certificateArns;
  if (typeof loadBalancer["domain"] === "string") {
    resolved.loadBalancer.domain = {
      // Route 53 stores names without the trailing dot's ambiguity; the endpoint URL has none.
      name: loadBalancer["domain"].replace(/\.$/, "").toLowerCase(),
      hostedZoneId: String(loadBalancer["hosted_zone_id"]).replace(/^\/hostedzone\//, ""),
    };
  }
  return resolved;
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? text;
}
