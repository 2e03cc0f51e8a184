/**
 * The cluster's CloudFormation template, generated from a validated `cluster.yaml` (decision 8: the
 * cluster-level infrastructure is one stack; per-API resources are direct calls, issue 20).
 *
 * What the stack holds: the network (the default VPC's subnets, or a new VPC with two public and
 * two private subnets over two AZs, an internet gateway and 0–2 NAT gateways), an application load
 * balancer whose HTTP listener answers 404 until an API adds a rule, two security groups (the
 * tasks accept traffic from the load balancer only), the task execution role and the task role
 * (least privilege: pull the image and write the cluster's log group; read the bucket's bundles),
 * the log group with its retention, the bundle bucket (encrypted, public access blocked) and the
 * ECS cluster with FARGATE and FARGATE_SPOT. With `load_balancer.certificate_arn` an HTTPS listener on
 * 443 serves the APIs and port 80 only redirects to it; with `load_balancer.domain` a Route 53 alias
 * record names the load balancer. Every taggable resource carries `axon:cluster` and
 * `axon:env`. The outputs are what the provider reads back (`stack.ts`).
 *
 * Pure: no AWS calls. The default VPC's id and subnets are looked up by the caller.
 */
import { createHash } from "node:crypto";
import type { ClusterConfig } from "@axon/config";
import { JOB_WORKER_OBJECTS } from "./batch-names.js";

/** The port the replica front listens on inside a task (the task definition's container port). */
/** What a batch job's worker may do with its job's queue (entrypoint/sqs-batch-source.ts). */
export const BATCH_WORKER_SQS_ACTIONS = [
  "sqs:ReceiveMessage",
  "sqs:DeleteMessage",
  "sqs:ChangeMessageVisibility",
  "sqs:GetQueueAttributes",
];

export const REPLICA_CONTAINER_PORT = 8080;

/** Where bundles live in the cluster bucket: `bundles/<sha256>.tar.gz`. */
export const BUNDLE_PREFIX = "bundles/";

/**
 * The prefix of the replicas' Python environment archives in the cluster bucket
 * (`entrypoint/python-environment.ts`): built by the first task that needs one, read by later ones;
 * the task role below may read and write it.
 */
export const ENVIRONMENT_PREFIX = "environments/";

/**
 * The prefix of the APIs' key sets in the cluster bucket (`api-keys/<api>.json`, providers/aws/
 * api-keys.ts): hashes only; the task role below may read it, for the fronts' 30 s re-read.
 */
export const API_KEYS_PREFIX = "api-keys/";

/** The stack of a cluster: `axon-<cluster_name>`. */
export function clusterStackName(clusterName: string): string {
  return `axon-${clusterName}`;
}

/** The default VPC and the subnets the cluster uses in it (one per AZ, at least two AZs). */
export interface DefaultVpcNetwork {
  vpcId: string;
  subnetIds: string[];
}

export interface ClusterTemplateInput {
  config: ClusterConfig;
  /** The Axon environment the cluster belongs to (tag `axon:env`). */
  envName: string;
  /** Required when `config.networking.vpc` is `default`. */
  defaultVpc?: DefaultVpcNetwork;
}

/**
 * The listener's default (empty) target group: `axon-dflt-` and 22 hex characters of the cluster
 * name's sha256 (target group names are at most 32 characters).
 */
export function defaultTargetGroupName(clusterName: string): string {
  return `axon-dflt-${createHash("sha256").update(clusterName).digest("hex").slice(0, 22)}`;
}

/** The load balancer's idle timeout when the cluster is made, before any API raises it. */
export const INITIAL_IDLE_TIMEOUT_SECONDS = 120;

/** The stack's outputs, by name; `stack.ts` parses them back into `ClusterStackOutputs`. */
export const CLUSTER_OUTPUT_NAMES = [
  "ClusterName",
  "ClusterArn",
  "LoadBalancerArn",
  "LoadBalancerDnsName",
  "ListenerArn",
  "BucketName",
  "LogGroupName",
  "ExecutionRoleArn",
  "TaskRoleArn",
  "EcsInfrastructureRoleArn",
  "TaskSecurityGroupId",
  "TaskSubnetIds",
  "AssignPublicIp",
  "VpcId",
  "Image",
  // Only with a certificate: the HTTPS listener, which then holds the APIs' rules (api-names.ts).
  "HttpsListenerArn",
  // Where endpoints are served: https:// with a certificate, the domain when there is one.
  "EndpointBaseUrl",
  // internet-facing or internal: a deploy warns about an API without auth on a public one.
  "LoadBalancerScheme",
] as const;

/** Outputs only some stacks have (older stacks lack them too: readers fall back). */
type OptionalOutput = "HttpsListenerArn";

/**
 * The HTTPS listener's security policy: TLS 1.3 and 1.2 only. AWS recommends it ("We recommend the
 * ELBSecurityPolicy-TLS13-1-2-2021-06 security policy", and it is the console's default):
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
 */
export const HTTPS_SECURITY_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type Resources = Record<
  string,
  { Type: string; Properties: Record<string, Json>; DependsOn?: string | string[] }
>;

/** Generates the template (a JSON-serialisable object) for one cluster. */
export function generateClusterTemplate(input: ClusterTemplateInput): Record<string, Json> {
  const { config } = input;
  const tags = resourceTags(config, input.envName);
  const resources: Resources = {};
  const certificates = config.loadBalancer.certificateArns ?? [];
  const https = certificates.length > 0;
  const network =
    config.networking.vpc === "new"
      ? newVpcResources(resources, config.networking, config.clusterName, tags)
      : defaultVpcNetwork(input.defaultVpc);

  resources["LoadBalancerSecurityGroup"] = {
    Type: "AWS::EC2::SecurityGroup",
    Properties: {
      GroupDescription: `Axon cluster ${config.clusterName}: ${https ? "HTTP and HTTPS" : "HTTP"} to the load balancer`,
      VpcId: network.vpcId,
      // Port 80 stays open with HTTPS: it answers with the redirect.
      SecurityGroupIngress: (https ? [80, 443] : [80]).flatMap((port) =>
        config.loadBalancer.allowedCidrs.map((cidr) => ({
          IpProtocol: "tcp",
          FromPort: port,
          ToPort: port,
          CidrIp: cidr,
          Description: `${port === 443 ? "HTTPS" : "HTTP"} from an allowed range`,
        })),
      ),
      Tags: named(tags, `axon-${config.clusterName}-alb`),
    },
  };
  resources["TaskSecurityGroup"] = {
    Type: "AWS::EC2::SecurityGroup",
    Properties: {
      GroupDescription: `Axon cluster ${config.clusterName}: replicas, reachable from the load balancer only`,
      VpcId: network.vpcId,
      Tags: named(tags, `axon-${config.clusterName}-tasks`),
    },
  };
  resources["TaskIngressFromLoadBalancer"] = {
    Type: "AWS::EC2::SecurityGroupIngress",
    Properties: {
      GroupId: { "Fn::GetAtt": ["TaskSecurityGroup", "GroupId"] },
      SourceSecurityGroupId: { "Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"] },
      IpProtocol: "tcp",
      FromPort: REPLICA_CONTAINER_PORT,
      ToPort: REPLICA_CONTAINER_PORT,
      Description: "The replica front's port, from the load balancer",
    },
  };
  resources["LoadBalancer"] = {
    Type: "AWS::ElasticLoadBalancingV2::LoadBalancer",
    Properties: {
      Name: `axon-${config.clusterName}`,
      Type: "application",
      Scheme: config.loadBalancer.scheme,
      Subnets: network.loadBalancerSubnets,
      SecurityGroups: [{ Ref: "LoadBalancerSecurityGroup" }],
      LoadBalancerAttributes: [
        // The starting value; each deploy raises it to cover its API's predictor.timeout
        // (api-deploy.ts ensureIdleTimeout, up to ALB's 4000 s).
        { Key: "idle_timeout.timeout_seconds", Value: String(INITIAL_IDLE_TIMEOUT_SECONDS) },
        { Key: "routing.http.drop_invalid_header_fields.enabled", Value: "true" },
      ],
      Tags: tags,
    },
    ...(network.dependsOn === undefined ? {} : { DependsOn: network.dependsOn }),
  };
  resources["Listener"] = {
    Type: "AWS::ElasticLoadBalancingV2::Listener",
    Properties: {
      LoadBalancerArn: { Ref: "LoadBalancer" },
      Port: 80,
      Protocol: "HTTP",
      // Forward, not fixed-response: ECS's blue/green/canary deployments "are not supported when
      // using Application Load Balancer listeners that have multiple action types configured with
      // non-forward actions" (decision 0011,
      // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html).
      // Like Copilot's DefaultHTTPTargetGroup, the group has no targets: an unknown path gets 503.
      // With HTTPS, port 80 only redirects: the APIs' rules (and a canary's weights) live on the
      // HTTPS listener, whose default action stays forward-only, so decision 0011 still holds.
      DefaultActions: [https ? redirectToHttps : forwardToDefault],
    },
  };
  if (https) {
    resources["HttpsListener"] = {
      Type: "AWS::ElasticLoadBalancingV2::Listener",
      Properties: {
        LoadBalancerArn: { Ref: "LoadBalancer" },
        Port: 443,
        Protocol: "HTTPS",
        SslPolicy: HTTPS_SECURITY_POLICY,
        // "You must specify exactly one certificate" here, the default one; more go in a
        // ListenerCertificate and are chosen by SNI:
        // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticloadbalancingv2-listener.html
        Certificates: [{ CertificateArn: certificates[0] ?? "" }],
        DefaultActions: [forwardToDefault],
      },
    };
    if (certificates.length > 1) {
      resources["HttpsListenerCertificates"] = {
        Type: "AWS::ElasticLoadBalancingV2::ListenerCertificate",
        Properties: {
          ListenerArn: { Ref: "HttpsListener" },
          Certificates: certificates.slice(1).map((arn) => ({ CertificateArn: arn })),
        },
      };
    }
  }
  const domain = config.loadBalancer.domain;
  if (domain !== undefined) {
    // An alias A record to the ALB (no charge for alias queries to an ELB). The load balancer is
    // IPv4 only (no IpAddressType: dualstack), so there is no AAAA record:
    // https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-to-elb-load-balancer.html
    // The alias names the load balancer's own hosted zone (CanonicalHostedZoneID), not the user's,
    // and EvaluateTargetHealth is required:
    // https://docs.aws.amazon.com/Route53/latest/APIReference/API_AliasTarget.html (RULES.md R25).
    resources["DomainRecord"] = {
      Type: "AWS::Route53::RecordSet",
      Properties: {
        HostedZoneId: domain.hostedZoneId,
        Name: `${domain.name}.`,
        Type: "A",
        AliasTarget: {
          DNSName: { "Fn::GetAtt": ["LoadBalancer", "DNSName"] },
          HostedZoneId: { "Fn::GetAtt": ["LoadBalancer", "CanonicalHostedZoneID"] },
          EvaluateTargetHealth: false,
        },
      },
    };
  }
  resources["DefaultTargetGroup"] = {
    Type: "AWS::ElasticLoadBalancingV2::TargetGroup",
    Properties: {
      TargetType: "ip",
      Protocol: "HTTP",
      Port: REPLICA_CONTAINER_PORT,
      VpcId: network.vpcId,
      HealthCheckPath: "/healthz",
      // Named, so `cluster down` finds it if an emulator leaves it behind (cluster-sweep.ts).
      Name: defaultTargetGroupName(config.clusterName),
      Tags: tags,
    },
  };
  resources["LogGroup"] = {
    Type: "AWS::Logs::LogGroup",
    Properties: {
      LogGroupName: `/axon/${config.clusterName}`,
      RetentionInDays: config.logRetentionDays,
      Tags: tags,
    },
  };
  resources["BundleBucket"] = {
    Type: "AWS::S3::Bucket",
    Properties: {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] },
      Tags: tags,
    },
  };
  const ecsTasksTrust: Json = {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: "ecs-tasks.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } } },
      },
    ],
  };
  const logGroupArn: Json = { "Fn::GetAtt": ["LogGroup", "Arn"] };
  const writeLogs: Json = {
    Effect: "Allow",
    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
    Resource: logGroupArn,
  };
  resources["ExecutionRole"] = {
    Type: "AWS::IAM::Role",
    Properties: {
      Description: `Axon cluster ${config.clusterName}: lets ECS pull the replica image and ship its logs`,
      AssumeRolePolicyDocument: ecsTasksTrust,
      Policies: [
        {
          PolicyName: "pull-image-and-write-logs",
          PolicyDocument: {
            Version: "2012-10-17",
            Statement: [
              // GetAuthorizationToken has no resource-level permissions.
              { Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
              {
                Effect: "Allow",
                Action: [
                  "ecr:BatchCheckLayerAvailability",
                  "ecr:GetDownloadUrlForLayer",
                  "ecr:BatchGetImage",
                ],
                Resource: {
                  "Fn::Sub": "arn:${AWS::Partition}:ecr:*:${AWS::AccountId}:repository/*",
                },
              },
              writeLogs,
            ],
          },
        },
      ],
      Tags: tags,
    },
  };
  resources["TaskRole"] = {
    Type: "AWS::IAM::Role",
    Properties: {
      Description: `Axon cluster ${config.clusterName}: what a replica may do (read bundles, write its logs)`,
      AssumeRolePolicyDocument: ecsTasksTrust,
      Policies: [
        {
          PolicyName: "read-bundles-and-write-logs",
          PolicyDocument: {
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Action: "s3:GetObject",
                Resource: {
                  "Fn::Sub": `\${BundleBucket.Arn}/${BUNDLE_PREFIX}*`,
                },
              },
              // The first task of a requirements.txt stores its built Python environment for the
              // next ones to unpack (entrypoint/python-environment.ts): read and write, that prefix only.
              {
                Effect: "Allow",
                Action: ["s3:GetObject", "s3:PutObject"],
                Resource: {
                  "Fn::Sub": `\${BundleBucket.Arn}/${ENVIRONMENT_PREFIX}*`,
                },
              },
              // Each replica's front re-reads its API's key hashes every 30 s: read, that prefix only.
              {
                Effect: "Allow",
                Action: "s3:GetObject",
                Resource: {
                  "Fn::Sub": `\${BundleBucket.Arn}/${API_KEYS_PREFIX}*`,
                },
              },
              // …and writes its own per-key counts next to them (entrypoint/key-usage-reporter.ts),
              // under `api-keys/<api>/usage/` only: the key hashes stay read-only to it (`*` matches
              // across `/`, but `api-keys/<api>.json` has no `/usage/`; https://docs.aws.amazon.com/
              // IAM/latest/UserGuide/reference_policies_elements_resource.html#reference_policies_elements_resource_wildcards).
              {
                Effect: "Allow",
                Action: "s3:PutObject",
                Resource: {
                  "Fn::Sub": `\${BundleBucket.Arn}/${API_KEYS_PREFIX}*/usage/*`,
                },
              },
              // A batch job's workers (issue 32) receive, settle and count the messages of their
              // job's queue: this cluster's job queues only (named axon-<cluster>-…, and tagged
              // axon:cluster — SQS checks aws:ResourceTag on queue operations,
              // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-abac-condition-keys.html;
              // actions and ARN format: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html).
              {
                Effect: "Allow",
                Action: BATCH_WORKER_SQS_ACTIONS,
                Resource: {
                  "Fn::Sub": `arn:\${AWS::Partition}:sqs:\${AWS::Region}:\${AWS::AccountId}:axon-${config.clusterName}-*`,
                },
                Condition: { StringEquals: { "aws:ResourceTag/axon:cluster": config.clusterName } },
              },
              // A batch's last failure (SQS keeps no error, so the worker writes it; `get` reads it)
              // and the one-time claim of on_job_complete: put only, those objects only.
              {
                Effect: "Allow",
                Action: "s3:PutObject",
                Resource: JOB_WORKER_OBJECTS.map((objects) => ({
                  "Fn::Sub": `\${BundleBucket.Arn}/${objects}`,
                })),
              },
              // …and never a dead-letter queue: SQS moves failed batches there by itself, and a
              // worker that could read it could make a failure disappear.
              {
                Effect: "Deny",
                Action: BATCH_WORKER_SQS_ACTIONS,
                Resource: {
                  "Fn::Sub": `arn:\${AWS::Partition}:sqs:\${AWS::Region}:\${AWS::AccountId}:axon-${config.clusterName}-*-dlq`,
                },
              },
              writeLogs,
            ],
          },
        },
      ],
      Tags: tags,
    },
  };
  // ECS itself shifts a canary's traffic between the API's two target groups by editing its
  // listener rule (decision 0009, docs/aws.md): this role lets it, for this account's ALB rules only.
  resources["EcsInfrastructureRole"] = {
    Type: "AWS::IAM::Role",
    Properties: {
      Description: `Axon cluster ${config.clusterName}: lets ECS move a canary rollout's traffic on the load balancer`,
      AssumeRolePolicyDocument: {
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            // AWS's documented trust policy for this role has no condition (decision 0011):
            // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AmazonECSInfrastructureRolePolicyForLoadBalancers.html
            Principal: { Service: "ecs.amazonaws.com" },
            Action: "sts:AssumeRole",
          },
        ],
      },
      Policies: [
        {
          PolicyName: "shift-canary-traffic",
          PolicyDocument: {
            Version: "2012-10-17",
            Statement: [
              // The Describe calls have no resource-level permissions.
              {
                Effect: "Allow",
                Action: [
                  "elasticloadbalancing:DescribeListeners",
                  "elasticloadbalancing:DescribeRules",
                  "elasticloadbalancing:DescribeTargetGroups",
                  "elasticloadbalancing:DescribeTargetHealth",
                ],
                Resource: "*",
              },
              {
                Effect: "Allow",
                Action: ["elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule"],
                Resource: [
                  { Ref: "Listener" },
                  ...(https ? [{ Ref: "HttpsListener" }] : []),
                  {
                    "Fn::Sub":
                      "arn:${AWS::Partition}:elasticloadbalancing:${AWS::Region}:${AWS::AccountId}:listener-rule/app/*",
                  },
                ],
              },
              {
                Effect: "Allow",
                Action: [
                  "elasticloadbalancing:RegisterTargets",
                  "elasticloadbalancing:DeregisterTargets",
                ],
                Resource: {
                  "Fn::Sub":
                    "arn:${AWS::Partition}:elasticloadbalancing:${AWS::Region}:${AWS::AccountId}:targetgroup/axon-*",
                },
              },
            ],
          },
        },
      ],
      Tags: tags,
    },
  };
  resources["Cluster"] = {
    Type: "AWS::ECS::Cluster",
    Properties: {
      ClusterName: `axon-${config.clusterName}`,
      CapacityProviders: ["FARGATE", "FARGATE_SPOT"],
      DefaultCapacityProviderStrategy: capacityStrategy(config),
      ClusterSettings: [{ Name: "containerInsights", Value: "disabled" }],
      Tags: tags,
    },
  };

  const scheme = https ? "https" : "http";
  const outputs: Record<Exclude<(typeof CLUSTER_OUTPUT_NAMES)[number], OptionalOutput>, Json> &
    Partial<Record<OptionalOutput, Json>> = {
    ClusterName: { Ref: "Cluster" },
    ClusterArn: { "Fn::GetAtt": ["Cluster", "Arn"] },
    LoadBalancerArn: { Ref: "LoadBalancer" },
    LoadBalancerDnsName: { "Fn::GetAtt": ["LoadBalancer", "DNSName"] },
    ListenerArn: { Ref: "Listener" },
    BucketName: { Ref: "BundleBucket" },
    LogGroupName: { Ref: "LogGroup" },
    ExecutionRoleArn: { "Fn::GetAtt": ["ExecutionRole", "Arn"] },
    TaskRoleArn: { "Fn::GetAtt": ["TaskRole", "Arn"] },
    EcsInfrastructureRoleArn: { "Fn::GetAtt": ["EcsInfrastructureRole", "Arn"] },
    TaskSecurityGroupId: { "Fn::GetAtt": ["TaskSecurityGroup", "GroupId"] },
    TaskSubnetIds: { "Fn::Join": [",", network.taskSubnets] },
    AssignPublicIp: network.assignPublicIp ? "ENABLED" : "DISABLED",
    VpcId: network.vpcId,
    Image: config.image,
    EndpointBaseUrl:
      domain === undefined
        ? { "Fn::Sub": `${scheme}://\${LoadBalancer.DNSName}` }
        : `${scheme}://${domain.name}`,
    LoadBalancerScheme: config.loadBalancer.scheme,
    ...(https ? { HttpsListenerArn: { Ref: "HttpsListener" } } : {}),
  };
  return {
    AWSTemplateFormatVersion: "2010-09-09",
    Description: `Axon cluster ${config.clusterName} (environment ${input.envName}): network, load balancer, roles, logs, bundle bucket and ECS cluster on Fargate. Generated by axon cluster up; delete it with axon cluster down.`,
    Resources: resources,
    Outputs: Object.fromEntries(
      Object.entries(outputs).map(([name, value]) => [name, { Value: value }]),
    ),
  };
}

const forwardToDefault: Json = { Type: "forward", TargetGroupArn: { Ref: "DefaultTargetGroup" } };

/**
 * Port 80's only action with HTTPS: a permanent redirect keeping host, path and query. Protocol,
 * port, host, path and query are the redirect's parts, `#{...}` keeps the request's own, and
 * StatusCode (HTTP_301 or HTTP_302) is required:
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-action-types.html#redirect-actions
 */
const redirectToHttps: Json = {
  Type: "redirect",
  RedirectConfig: {
    Protocol: "HTTPS",
    Port: "443",
    Host: "#{host}",
    Path: "/#{path}",
    Query: "#{query}",
    StatusCode: "HTTP_301",
  },
};

/** The resolved network pieces the rest of the template refers to. */
interface NetworkRefs {
  vpcId: Json;
  loadBalancerSubnets: Json[];
  taskSubnets: Json[];
  assignPublicIp: boolean;
  /** A public ALB in a new VPC needs the internet gateway attached first. */
  dependsOn?: string;
}

function defaultVpcNetwork(defaultVpc: DefaultVpcNetwork | undefined): NetworkRefs {
  if (defaultVpc === undefined || defaultVpc.subnetIds.length < 2) {
    throw new Error("the default-VPC template needs the VPC id and at least two subnets");
  }
  return {
    vpcId: defaultVpc.vpcId,
    loadBalancerSubnets: defaultVpc.subnetIds,
    taskSubnets: defaultVpc.subnetIds,
    // Default subnets are public: without a public IP a task cannot pull its image.
    assignPublicIp: true,
  };
}

function newVpcResources(
  resources: Resources,
  networking: Extract<ClusterConfig["networking"], { vpc: "new" }>,
  clusterName: string,
  tags: Tag[],
): NetworkRefs {
  const subnets = splitCidr(networking.vpcCidr, 4);
  resources["Vpc"] = {
    Type: "AWS::EC2::VPC",
    Properties: {
      CidrBlock: networking.vpcCidr,
      EnableDnsHostnames: true,
      EnableDnsSupport: true,
      Tags: named(tags, `axon-${clusterName}`),
    },
  };
  resources["InternetGateway"] = {
    Type: "AWS::EC2::InternetGateway",
    Properties: { Tags: named(tags, `axon-${clusterName}`) },
  };
  resources["InternetGatewayAttachment"] = {
    Type: "AWS::EC2::VPCGatewayAttachment",
    Properties: { VpcId: { Ref: "Vpc" }, InternetGatewayId: { Ref: "InternetGateway" } },
  };
  resources["PublicRouteTable"] = {
    Type: "AWS::EC2::RouteTable",
    Properties: { VpcId: { Ref: "Vpc" }, Tags: named(tags, `axon-${clusterName}-public`) },
  };
  resources["PublicDefaultRoute"] = {
    Type: "AWS::EC2::Route",
    Properties: {
      RouteTableId: { Ref: "PublicRouteTable" },
      DestinationCidrBlock: "0.0.0.0/0",
      GatewayId: { Ref: "InternetGateway" },
    },
    DependsOn: "InternetGatewayAttachment",
  };
  const natCount =
    networking.natGateway === "none" ? 0 : networking.natGateway === "single" ? 1 : 2;
  for (const az of [0, 1]) {
    const suffix = az === 0 ? "A" : "B";
    const availabilityZone: Json = { "Fn::Select": [az, { "Fn::GetAZs": "" }] };
    resources[`PublicSubnet${suffix}`] = {
      Type: "AWS::EC2::Subnet",
      Properties: {
        VpcId: { Ref: "Vpc" },
        CidrBlock: subnets[az] ?? "",
        AvailabilityZone: availabilityZone,
        MapPublicIpOnLaunch: true,
        Tags: named(tags, `axon-${clusterName}-public-${suffix.toLowerCase()}`),
      },
    };
    resources[`PublicSubnet${suffix}RouteTable`] = {
      Type: "AWS::EC2::SubnetRouteTableAssociation",
      Properties: {
        SubnetId: { Ref: `PublicSubnet${suffix}` },
        RouteTableId: { Ref: "PublicRouteTable" },
      },
    };
    resources[`PrivateSubnet${suffix}`] = {
      Type: "AWS::EC2::Subnet",
      Properties: {
        VpcId: { Ref: "Vpc" },
        CidrBlock: subnets[az + 2] ?? "",
        AvailabilityZone: availabilityZone,
        MapPublicIpOnLaunch: false,
        Tags: named(tags, `axon-${clusterName}-private-${suffix.toLowerCase()}`),
      },
    };
    resources[`PrivateRouteTable${suffix}`] = {
      Type: "AWS::EC2::RouteTable",
      Properties: {
        VpcId: { Ref: "Vpc" },
        Tags: named(tags, `axon-${clusterName}-private-${suffix.toLowerCase()}`),
      },
    };
    resources[`PrivateSubnet${suffix}RouteTable`] = {
      Type: "AWS::EC2::SubnetRouteTableAssociation",
      Properties: {
        SubnetId: { Ref: `PrivateSubnet${suffix}` },
        RouteTableId: { Ref: `PrivateRouteTable${suffix}` },
      },
    };
    if (az < natCount) {
      resources[`NatAddress${suffix}`] = {
        Type: "AWS::EC2::EIP",
        Properties: {
          Domain: "vpc",
          Tags: named(tags, `axon-${clusterName}-nat-${suffix.toLowerCase()}`),
        },
        DependsOn: "InternetGatewayAttachment",
      };
      resources[`NatGateway${suffix}`] = {
        Type: "AWS::EC2::NatGateway",
        Properties: {
          AllocationId: { "Fn::GetAtt": [`NatAddress${suffix}`, "AllocationId"] },
          SubnetId: { Ref: `PublicSubnet${suffix}` },
          Tags: named(tags, `axon-${clusterName}-${suffix.toLowerCase()}`),
        },
      };
    }
    if (natCount > 0) {
      // One NAT gateway serves both AZs (single), or each AZ has its own (highly_available).
      const nat = natCount === 1 ? "NatGatewayA" : `NatGateway${suffix}`;
      resources[`PrivateDefaultRoute${suffix}`] = {
        Type: "AWS::EC2::Route",
        Properties: {
          RouteTableId: { Ref: `PrivateRouteTable${suffix}` },
          DestinationCidrBlock: "0.0.0.0/0",
          NatGatewayId: { Ref: nat },
        },
      };
    }
  }
  const publicSubnets: Json[] = [{ Ref: "PublicSubnetA" }, { Ref: "PublicSubnetB" }];
  const privateSubnets: Json[] = [{ Ref: "PrivateSubnetA" }, { Ref: "PrivateSubnetB" }];
  return {
    vpcId: { Ref: "Vpc" },
    loadBalancerSubnets: publicSubnets,
    // Without NAT the private subnets have no way out (image pulls, logs): tasks go public.
    taskSubnets: natCount === 0 ? publicSubnets : privateSubnets,
    assignPublicIp: natCount === 0,
    dependsOn: "InternetGatewayAttachment",
  };
}

/** FARGATE / FARGATE_SPOT with their weights; zero-weight providers are left out (base aside). */
function capacityStrategy(config: ClusterConfig): Json[] {
  const { fargateWeight, fargateSpotWeight, fargateBase } = config.capacity;
  const strategy: Json[] = [];
  if (fargateWeight > 0 || fargateBase > 0) {
    strategy.push({ CapacityProvider: "FARGATE", Weight: fargateWeight, Base: fargateBase });
  }
  if (fargateSpotWeight > 0) {
    strategy.push({ CapacityProvider: "FARGATE_SPOT", Weight: fargateSpotWeight });
  }
  return strategy;
}

interface Tag {
  Key: string;
  Value: string;
  [key: string]: Json;
}

function resourceTags(config: ClusterConfig, envName: string): Tag[] {
  return [
    ...Object.entries(config.tags).map(([Key, Value]) => ({ Key, Value })),
    { Key: "axon:cluster", Value: config.clusterName },
    { Key: "axon:env", Value: envName },
  ];
}

function named(tags: Tag[], name: string): Tag[] {
  return [...tags.filter((tag) => tag.Key !== "Name"), { Key: "Name", Value: name }];
}

/** Splits an IPv4 range into `count` (a power of two) equal ranges, in order. */
export function splitCidr(cidr: string, count: number): string[] {
  const [address = "", prefixText = "32"] = cidr.split("/");
  const prefix = Number(prefixText);
  const extraBits = Math.log2(count);
  const start = address.split(".").reduce((sum, octet) => sum * 256 + Number(octet), 0);
  const size = 2 ** (32 - prefix - extraBits);
  return Array.from({ length: count }, (_, index) => {
    const value = start + index * size;
    const octets = [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256);
    return `${octets.join(".")}/${prefix + extraBits}`;
  });
}
