/**
 * What one API's resources on an AWS cluster are called and tagged, in one place: the deploy
 * (`api-deploy.ts`), scaling (`api-scaling.ts`), status and logs (`api-status.ts`, `api-logs.ts`)
 * and delete all find an API's pieces by these names and tags, and the control plane rebuilds its
 * list of APIs from the tags alone (nothing about AWS APIs has to survive in `$AXON_HOME`).
 */
import { createHash } from "node:crypto";
import { DomainError } from "../../errors.js";
import type { Rule } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { AwsCallDeps, ClusterStackOutputs } from "./cluster-stack.js";
import type { AwsPorts } from "./sdk.js";

/** The cluster stack lacks an output APIs need (another version made it, or it is changing): 409. */
export const AWS_STACK_INCOMPLETE = "provider.aws.stack_incomplete";

/** The tags every per-API resource carries (with the cluster's own `axon:cluster`/`axon:env`). */
export const API_TAGS = {
  cluster: "axon:cluster",
  env: "axon:env",
  api: "axon:api",
  /** sha256 of the deployed spec + bundle + image: equal → the deploy makes no mutating call. */
  specHash: "axon:spec-hash",
  /** The project bundle's sha256 (object `bundles/<sha256>.tar.gz` in the cluster bucket). */
  bundle: "axon:bundle",
  /** The config file the API was deployed from (shown by `get`). */
  configFile: "axon:config-file",
} as const;

/** The replica container's name in every task definition. */
export const REPLICA_CONTAINER = "replica";

/** Where the replica front publishes its in-flight metric (Embedded Metric Format). */
export const METRIC_NAMESPACE = "Axon";
export const IN_FLIGHT_METRIC = "InFlightRequests";
/** The metric's dimensions: `Cluster` (the ECS cluster's name) and `Api`. */
export const METRIC_DIMENSIONS = ["Cluster", "Api"] as const;

/** The cluster's pieces an API's resources refer to (from the stack's outputs). */
export interface AwsClusterRefs {
  envName: string;
  region: string;
  /** The ECS cluster's name (`axon-<cluster_name>`). */
  clusterName: string;
  /** The listener the APIs' rules attach to: the HTTPS one when the cluster has a certificate. */
  listenerArn: string;
  /**
   * With HTTPS, the port-80 listener (redirect only): rules an API got there before the cluster had
   * a certificate are removed by its next deploy or its delete.
   */
  plainHttpListenerArn?: string;
  /**
   * `https://api.example.com`, `https://<ALB dns>`… (see `endpointUrl`); absent: `http://<ALB dns>`.
   */
  endpointBaseUrl?: string;
  /** Absent on stacks made before it was an output; they are internet-facing unless told otherwise. */
  loadBalancerScheme?: "internet-facing" | "internal";
  loadBalancerArn: string;
  loadBalancerDnsName: string;
  bucketName: string;
  logGroupName: string;
  executionRoleArn: string;
  taskRoleArn: string;
  taskSecurityGroupId: string;
  taskSubnetIds: string[];
  assignPublicIp: boolean;
  vpcId: string;
  image: string;
  /**
   * The IAM role ECS assumes to shift traffic between an API's two target groups during a canary
   * rollout (AmazonECSInfrastructureRolePolicyForLoadBalancers, trusted by ecs.amazonaws.com).
   * Absent until the cluster stack provides it: APIs with `update_strategy.canary` are refused.
   */
  ecsInfrastructureRoleArn?: string;
}

/** What every function acting on one API's AWS resources needs. */
export interface EcsApiDeps extends AwsCallDeps {
  ports: AwsPorts;
  refs: AwsClusterRefs;
  /** A line of progress for the deploying or deleting client ("registered task definition iris:3"). */
  onProgress?: (message: string) => void;
}

/** The refs from a complete stack's outputs; a missing output is a clear error. */
export function clusterRefs(
  envName: string,
  region: string,
  stackName: string,
  outputs: ClusterStackOutputs,
): AwsClusterRefs {
  const need = (name: keyof ClusterStackOutputs): string => {
    const value = outputs[name];
    if (value === undefined || value === "") {
      throw new DomainError(
        AWS_STACK_INCOMPLETE,
        `stack ${stackName} in ${region} has no output ${name}: it was not created by this version of axon, or it is still changing`,
        {
          status: 409,
          hint: `axon cluster info --env ${envName}; axon cluster up again updates it`,
        },
      );
    }
    return value;
  };
  return {
    envName,
    region,
    clusterName: need("ClusterName"),
    // With a certificate, port 80 only redirects: the rules must be on the HTTPS listener.
    listenerArn:
      outputs.HttpsListenerArn === undefined || outputs.HttpsListenerArn === ""
        ? need("ListenerArn")
        : outputs.HttpsListenerArn,
    ...(outputs.HttpsListenerArn === undefined ||
    outputs.HttpsListenerArn === "" ||
    outputs.ListenerArn === undefined
      ? {}
      : { plainHttpListenerArn: outputs.ListenerArn }),
    // Stacks made before HTTPS support have no such output: they serve plain HTTP on the ALB's name.
    ...(outputs.EndpointBaseUrl === undefined || outputs.EndpointBaseUrl === ""
      ? {}
      : { endpointBaseUrl: outputs.EndpointBaseUrl }),
    ...(outputs.LoadBalancerScheme === "internal" ||
    outputs.LoadBalancerScheme === "internet-facing"
      ? { loadBalancerScheme: outputs.LoadBalancerScheme }
      : {}),
    loadBalancerArn: need("LoadBalancerArn"),
    loadBalancerDnsName: need("LoadBalancerDnsName"),
    bucketName: need("BucketName"),
    logGroupName: need("LogGroupName"),
    executionRoleArn: need("ExecutionRoleArn"),
    taskRoleArn: need("TaskRoleArn"),
    taskSecurityGroupId: need("TaskSecurityGroupId"),
    taskSubnetIds: need("TaskSubnetIds")
      .split(",")
      .map((id) => id.trim())
      .filter((id) => id !== ""),
    assignPublicIp: need("AssignPublicIp") === "ENABLED",
    vpcId: need("VpcId"),
    image: need("Image"),
    // Stacks made before canary rollouts have no such role: a canary is refused there, clearly.
    ...(outputs.EcsInfrastructureRoleArn === undefined
      ? {}
      : { ecsInfrastructureRoleArn: outputs.EcsInfrastructureRoleArn }),
  };
}

/** An API's public URL: the cluster's base (https:// with a certificate, its domain) and the path. */
export function endpointUrl(refs: AwsClusterRefs, path: string): string {
  return `${refs.endpointBaseUrl ?? `http://${refs.loadBalancerDnsName}`}${path}`;
}

/** The ECS service of an API (names are unique per cluster; API names are DNS-label-like). */
export function serviceName(apiName: string): string {
  return apiName;
}

/** The task definition family of an API (unique per account and region, so the cluster is in it). */
export function taskFamily(clusterName: string, apiName: string): string {
  return `${clusterName}-${apiName}`.slice(0, 255);
}

/**
 * The target group's name: at most 32 characters, letters, digits and dashes, unique per account
 * and region, so it is `axon-` and a hash of the cluster and API (the tags say which API it is).
 */
export function targetGroupName(clusterName: string, apiName: string): string {
  const digest = createHash("sha256").update(`${clusterName}/${apiName}`).digest("hex");
  return `axon-${digest.slice(0, 27)}`;
}

/**
 * The second target group of an API with a canary rollout: ECS moves the new version's tasks into
 * whichever of the two is idle and shifts the listener rule's weights between them.
 */
export function alternateTargetGroupName(clusterName: string, apiName: string): string {
  return targetGroupName(clusterName, `${apiName}#alternate`);
}

/** The awslogs stream prefix of an API: streams are `<prefix>/replica/<task id>`. */
export function logStreamPrefix(apiName: string): string {
  return apiName;
}

/** The task id at the end of a log stream name (`iris/replica/0123abcd…`), the replica's id. */
export function taskIdOfStream(streamName: string): string {
  return streamName.slice(streamName.lastIndexOf("/") + 1);
}

/** The alarm a canary rollout of an API is rolled back by. */
export function rolloutAlarmName(clusterName: string, apiName: string): string {
  return `${clusterName}-${apiName}-5xx`;
}

/** The Application Auto Scaling resource id of an API's service. */
export function scalableResourceId(clusterName: string, apiName: string): string {
  return `service/${clusterName}/${serviceName(apiName)}`;
}

/** The target-tracking policy's name. */
export function scalingPolicyName(apiName: string): string {
  return `${apiName}-in-flight`;
}

/**
 * Splitter rules' priorities start here. ALB priorities run 1–50000
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateRule.html), and a
 * load balancer has at most 100 rules (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html).
 */
export const SPLITTER_PRIORITY_FLOOR = 40_000;

/** The tags of a splitter's rule (with the cluster's `axon:cluster` / `axon:env`). */
export const SPLITTER_TAGS = {
  name: "axon:splitter",
  /** `api-a:70,api-b:30`: the APIs in the config's order with their weights. */
  apis: "axon:splitter-apis",
} as const;

/** Whether `rule` is a TrafficSplitter's (never an API's own rule). */
export function isSplitterRule(rule: Rule): boolean {
  return rule.IsDefault !== true && Number(rule.Priority) >= SPLITTER_PRIORITY_FLOOR;
}
