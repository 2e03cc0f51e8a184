/**
 * An in-memory AWS that enforces the rules of RULES.md (beside this file) and nothing more: the
 * ECS, ELBv2, IAM and CloudFormation calls Axon makes, plus the S3, EC2 and CloudWatch reads a
 * deploy needs, shaped as `AwsPorts` so provider code runs against it unchanged. Each rule is
 * tagged `R<n>` where it is enforced. A call Axon does not make throws "not modelled".
 *
 * This is a test double, used where the real thing cannot run here (no AWS account) and moto does
 * not model the rule (shared/reference/moto.md).
 */
import { createHash } from "node:crypto";
import type { PutObjectCommandInput } from "@aws-sdk/client-s3";
import type {
  Deployment,
  LoadBalancer,
  RegisterTaskDefinitionCommandInput,
  Service,
  ServiceDeployment,
} from "@aws-sdk/client-ecs";
import type { Action, Rule, RuleCondition } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { StackEvent } from "@aws-sdk/client-cloudformation";
import type { AwsPorts } from "../../sdk.js";
import { FakeAwsError } from "./fake-aws-error.js";
import { FakeSqs, runTaskRefusal } from "./fake-sqs.js";
import { alarmRefusal, stepPolicyRefusal } from "./scaling-rules.js";
import {
  aliasRecordRefusal,
  MAX_LIST_RESULTS,
  maxResultsRefusal,
  metricDataRefusal,
  putObjectRefusal,
  ruleRefusal,
} from "./fidelity-rules.js";
import { allTaskDefinitionArns, allTaskDefinitionFamilies } from "../../sdk.js";
import type { GetMetricDataCommandInput, MetricDataResult } from "@aws-sdk/client-cloudwatch";

const ACCOUNT = "123456789012";
const REGION = "us-east-1";
const ELB_ARN = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}`;

export interface FakeAwsOptions {
  /** R6: whether the account already has AWSServiceRoleForECS (default true). */
  serviceLinkedRole?: boolean;
  /** R3: ECS read calls after which a draining service's tasks have stopped (default 3). */
  drainPolls?: number;
  /** R8: how many stack deletions fail on the security group's DependencyViolation (default 0). */
  dependencyViolations?: number;
  /** Availability zones of the default VPC's subnets (default a, b, c of us-east-1). */
  zones?: { name: string; id: string }[];
  /**
   * R21: datapoints GetMetricData returns before paging with NextToken (default 100,800, AWS's
   * default MaxDatapoints); a test lowers it to make the caller follow NextToken.
   */
  metricPageSize?: number;
}

/** One datapoint of a load balancer metric on a target group (R21). */
export interface FakeDatapoint {
  metricName: string;
  /** The TargetGroup dimension, `targetgroup/<name>/<id>`. */
  targetGroup: string;
  at: Date;
  value: number;
}

interface FakeTask {
  arn: string;
  taskDefinition: string;
  stopped: boolean;
}

/** A task RunTask started (a batch job's worker, R19): it runs until StopTask or `finishTasks`. */
interface FakeRunTask {
  arn: string;
  cluster: string;
  taskDefinition: string;
  startedBy?: string;
  stopped: boolean;
  exitCode?: number;
  stoppedReason?: string;
}

interface FakeService {
  arn: string;
  name: string;
  status: "ACTIVE" | "DRAINING" | "INACTIVE";
  taskDefinition: string;
  desiredCount: number;
  deploymentConfiguration: NonNullable<Service["deploymentConfiguration"]>;
  loadBalancers: LoadBalancer[];
  tags: { key: string; value: string }[];
  tasks: FakeTask[];
  deployments: Deployment[];
  /** ECS reads left until the tasks being stopped have stopped. */
  stopIn?: number;
}

interface FakeStack {
  id: string;
  name: string;
  status: string;
  reason?: string;
  clusterName?: string;
  outputs: Record<string, string>;
  events: StackEvent[];
}

interface FakeRule {
  arn: string;
  priority: string;
  conditions: RuleCondition[];
  actions: Action[];
}

/** R1: whether a rolling deployment of `desired` tasks can start or stop at least one task. */
export function rollingCanMove(
  desired: number,
  maximumPercent: number,
  minimumHealthyPercent: number,
): boolean {
  if (desired === 0) return true;
  const upper = Math.floor((desired * maximumPercent) / 100);
  const lower = Math.ceil((desired * minimumHealthyPercent) / 100);
  return upper > desired || lower < desired;
}

export class FakeAws {
  readonly listenerArn = `${ELB_ARN}:listener/app/axon-fake/50dc6c495c0c9188/f2f7dc8efc522ab2`;
  readonly loadBalancerArn = `${ELB_ARN}:loadbalancer/app/axon-fake/50dc6c495c0c9188`;
  /** Every call made, "service:Command", in order. */
  readonly calls: string[] = [];
  hasServiceLinkedRole: boolean;
  /** The load balancer's idle_timeout.timeout_seconds. */
  idleTimeout = 120;
  private readonly drainPolls: number;
  private dependencyViolations: number;
  private readonly zones: { name: string; id: string }[];
  private readonly clusters = new Map<string, "ACTIVE" | "INACTIVE">();
  private readonly services = new Map<string, FakeService[]>();
  private readonly clientTokens = new Map<string, { params: string; arn: string }>();
  private readonly taskDefinitions = new Map<
    string,
    {
      arn: string;
      active: boolean;
      tags: { key?: string; value?: string }[];
      containerDefinitions: NonNullable<RegisterTaskDefinitionCommandInput["containerDefinitions"]>;
    }[]
  >();
  private readonly targetGroups = new Map<string, string>();
  private readonly rules: FakeRule[] = [];
  private readonly stacks = new Map<string, FakeStack>();
  private readonly serviceDeployments = new Map<string, ServiceDeployment[]>();
  /** Objects by `bucket/key`: their bytes and ETag (R12). */
  private readonly objects = new Map<string, { body: Uint8Array; etag: string }>();
  /** R15–R18, R20: the account's queues. */
  readonly sqs = new FakeSqs();
  private readonly runTasks: FakeRunTask[] = [];
  private readonly alarms = new Set<string>();
  private readonly datapoints: FakeDatapoint[] = [];
  private readonly metricPageSize: number;
  /** Every GetMetricData input, in order (R21). */
  readonly metricDataCalls: GetMetricDataCommandInput[] = [];
  private sequence = 0;
  private clock = Date.parse("2026-01-01T00:00:00Z");

  constructor(options: FakeAwsOptions = {}) {
    this.hasServiceLinkedRole = options.serviceLinkedRole ?? true;
    this.drainPolls = options.drainPolls ?? 3;
    this.dependencyViolations = options.dependencyViolations ?? 0;
    this.metricPageSize = options.metricPageSize ?? 100_800;
    this.zones = options.zones ?? [
      { name: "us-east-1a", id: "use1-az1" },
      { name: "us-east-1b", id: "use1-az2" },
      { name: "us-east-1c", id: "use1-az4" },
    ];
  }

  private next(): number {
    this.sequence += 1;
    this.clock += 1000;
    return this.sequence;
  }

  // ---- test inspection and setup ----------------------------------------------------------

  /** Tasks RunTask started that have not stopped, in `cluster`. */
  runningTasks(cluster: string): string[] {
    return this.runTasks.filter((t) => t.cluster === cluster && !t.stopped).map((t) => t.arn);
  }

  /** The started tasks exit as a batch worker does once its queue is drained (`exitCode`). */
  finishTasks(exitCode = 0, stoppedReason = "Essential container in task exited"): void {
    for (const task of this.runTasks) {
      if (task.stopped) continue;
      task.stopped = true;
      task.exitCode = exitCode;
      task.stoppedReason = stoppedReason;
    }
  }

  /** An ACTIVE cluster of that name, as a stack would have made it. */
  addCluster(name: string): void {
    this.clusters.set(name, "ACTIVE");
  }

  service(cluster: string, name: string): FakeService | undefined {
    const all = this.services.get(cluster) ?? [];
    return all.find((s) => s.name === name && s.status !== "INACTIVE") ?? all.at(-1);
  }

  /** R1: the services whose latest deployment can never progress. */
  stuckDeployments(cluster: string): string[] {
    return (this.services.get(cluster) ?? [])
      .filter((s) => s.deployments.some((d) => d.rolloutStateReason === "stuck"))
      .map((s) => s.name);
  }

  /** Sets the running count as autoscaling would (tasks start at once). */
  scale(cluster: string, name: string, count: number): void {
    const service = this.service(cluster, name);
    if (service === undefined) throw new Error(`no service ${name}`);
    service.desiredCount = count;
    this.settleTasks(service);
  }

  /** The listener's rules (not the default one). */
  listenerRules(): Rule[] {
    return this.rules.map((rule) => this.ruleView(rule));
  }

  /** Sets the weights of a rule's forward action, as ECS does during a canary. */
  setRuleWeights(ruleArn: string, weights: Record<string, number>): void {
    const rule = this.rules.find((r) => r.arn === ruleArn);
    if (rule === undefined) throw new Error(`no rule ${ruleArn}`);
    for (const action of rule.actions) {
      for (const group of action.ForwardConfig?.TargetGroups ?? []) {
        const weight = weights[group.TargetGroupArn ?? ""];
        if (weight !== undefined) group.Weight = weight;
      }
    }
  }

  /** Adds a service deployment record (listServiceDeployments answers oldest first). */
  addServiceDeployment(serviceArn: string, deployment: ServiceDeployment): void {
    const list = this.serviceDeployments.get(serviceArn) ?? [];
    list.push(deployment);
    this.serviceDeployments.set(serviceArn, list);
  }

  stack(name: string): FakeStack | undefined {
    return this.stacks.get(name);
  }

  clusterStatus(name: string): string | undefined {
    return this.clusters.get(name);
  }

  targetGroupArns(): string[] {
    return [...this.targetGroups.values()];
  }

  /** R21: datapoints the load balancer published (GetMetricData answers from them). */
  addDatapoints(points: FakeDatapoint[]): void {
    this.datapoints.push(...points);
  }

  /** R23: registers `count` revisions of `family` at once (as many deploys would). */
  addTaskDefinitionRevisions(family: string, count: number): void {
    const list = this.taskDefinitions.get(family) ?? [];
    for (let i = 0; i < count; i += 1) {
      list.push({
        arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:${list.length + 1}`,
        active: true,
        tags: [],
        containerDefinitions: [],
      });
    }
    this.taskDefinitions.set(family, list);
  }

  /** Whether the task definition revision is ACTIVE. */
  taskDefinitionActive(arn: string): boolean | undefined {
    return [...this.taskDefinitions.values()].flat().find((t) => t.arn === arn)?.active;
  }

  // ---- internals ----------------------------------------------------------------------------

  /**
   * R23: one page of a listing — at most `maxResults` (1–100, default 100) items from the offset
   * `nextToken` carries, and the token of the next page while items remain.
   */
  private page<T>(
    items: T[],
    maxResults: number | undefined,
    nextToken: string | undefined,
  ): { items: T[]; nextToken?: string } {
    const refusal = maxResultsRefusal(maxResults);
    if (refusal !== undefined) throw new FakeAwsError("InvalidParameterException", refusal);
    const offset = nextToken === undefined ? 0 : Number(nextToken);
    if (!Number.isInteger(offset) || offset < 0 || offset > items.length) {
      throw new FakeAwsError("InvalidParameterException", "Invalid nextToken");
    }
    const end = offset + (maxResults ?? MAX_LIST_RESULTS);
    return {
      items: items.slice(offset, end),
      ...(end < items.length ? { nextToken: String(end) } : {}),
    };
  }

  private activeArns(familyPrefix: string | undefined): string[] {
    return [...this.taskDefinitions.entries()]
      .filter(([family]) => family.startsWith(familyPrefix ?? ""))
      .flatMap(([, list]) => list.filter((t) => t.active).map((t) => t.arn));
  }

  /**
   * R21: GetMetricData over the datapoints tests added. Each query's datapoints in
   * [StartTime, EndTime) are summed (Sum, SampleCount) or maxed (other statistics — the fake has
   * one value per period, so a percentile of it is that value) per period; at most
   * `metricPageSize` datapoints a page, the rest behind NextToken with StatusCode PartialData.
   */
  private getMetricData(input: GetMetricDataCommandInput) {
    this.metricDataCalls.push(input);
    const refusal = metricDataRefusal(input);
    if (refusal !== undefined) throw new FakeAwsError("ValidationError", refusal);
    const start = input.StartTime?.getTime() ?? 0;
    const end = input.EndTime?.getTime() ?? 0;
    const all: { id: string; at: number; value: number }[] = [];
    for (const query of input.MetricDataQueries ?? []) {
      const stat = query.MetricStat;
      if (stat === undefined) continue;
      const periodMs = (stat.Period ?? 60) * 1000;
      const group = stat.Metric?.Dimensions?.find((d) => d.Name === "TargetGroup")?.Value;
      const sums = new Map<number, number>();
      for (const point of this.datapoints) {
        const at = point.at.getTime();
        if (point.metricName !== stat.Metric?.MetricName || point.targetGroup !== group) continue;
        if (at < start || at >= end) continue;
        const bucket = Math.floor(at / periodMs) * periodMs;
        const previous = sums.get(bucket);
        const adds = stat.Stat === "Sum" || stat.Stat === "SampleCount";
        sums.set(
          bucket,
          previous === undefined
            ? point.value
            : adds
              ? previous + point.value
              : Math.max(previous, point.value),
        );
      }
      const ordered = [...sums.entries()].sort(([a], [b]) =>
        input.ScanBy === "TimestampAscending" ? a - b : b - a,
      );
      for (const [at, value] of ordered) all.push({ id: query.Id ?? "", at, value });
    }
    const offset = input.NextToken === undefined ? 0 : Number(input.NextToken);
    if (!Number.isInteger(offset) || offset < 0 || offset > all.length) {
      throw new FakeAwsError("InvalidNextToken", "The service returned an invalid NextToken.");
    }
    const size = Math.min(this.metricPageSize, input.MaxDatapoints ?? 100_800);
    const slice = all.slice(offset, offset + size);
    const more = offset + size < all.length;
    const results: MetricDataResult[] = (input.MetricDataQueries ?? []).map((query) => {
      const points = slice.filter((p) => p.id === query.Id);
      return {
        Id: query.Id,
        Timestamps: points.map((p) => new Date(p.at)),
        Values: points.map((p) => p.value),
        StatusCode: more ? "PartialData" : "Complete",
      };
    });
    return {
      $metadata: {},
      MetricDataResults: results,
      ...(more ? { NextToken: String(offset + size) } : {}),
    };
  }

  private record(call: string): void {
    this.calls.push(call);
  }

  /** R3: every ECS read moves the stopping tasks one step on. */
  private tick(): void {
    for (const list of this.services.values()) {
      for (const service of list) {
        if (service.stopIn === undefined) continue;
        service.stopIn -= 1;
        if (service.stopIn > 0) continue;
        service.stopIn = undefined;
        for (const task of service.tasks) {
          if (task.stopped === false && this.shouldStop(service, task)) task.stopped = true;
        }
        if (service.status === "DRAINING") service.status = "INACTIVE";
      }
    }
  }

  private shouldStop(service: FakeService, task: FakeTask): boolean {
    if (service.status === "DRAINING") return true;
    const running = service.tasks.filter((t) => !t.stopped);
    return running.indexOf(task) >= service.desiredCount;
  }

  private settleTasks(service: FakeService): void {
    const running = service.tasks.filter((t) => !t.stopped);
    for (let i = running.length; i < service.desiredCount; i += 1) {
      service.tasks.push({
        arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${service.name}/${this.next()}`,
        taskDefinition: service.taskDefinition,
        stopped: false,
      });
    }
    if (running.length > service.desiredCount) service.stopIn = this.drainPolls;
  }

  private live(cluster: string, name: string): FakeService | undefined {
    return (this.services.get(cluster) ?? []).find(
      (s) => s.name === name && (s.status === "ACTIVE" || s.status === "DRAINING"),
    );
  }

  private serviceView(service: FakeService): Service {
    return {
      serviceArn: service.arn,
      serviceName: service.name,
      status: service.status,
      taskDefinition: service.taskDefinition,
      desiredCount: service.desiredCount,
      runningCount: service.tasks.filter((t) => !t.stopped).length,
      pendingCount: 0,
      deploymentConfiguration: service.deploymentConfiguration,
      loadBalancers: service.loadBalancers,
      deployments: service.deployments,
      tags: service.tags,
      events: [],
    };
  }

  /** R1: a deployment that moves, or the stuck one ECS reports. */
  private deploy(service: FakeService, taskDefinition: string): void {
    const config = service.deploymentConfiguration;
    const moves = rollingCanMove(
      service.desiredCount,
      config.maximumPercent ?? 200,
      config.minimumHealthyPercent ?? 100,
    );
    const id = `ecs-svc/${this.next()}`;
    const createdAt = new Date(this.clock);
    if (moves) {
      service.taskDefinition = taskDefinition;
      for (const task of service.tasks) task.stopped = true;
      service.tasks = service.tasks.filter((t) => !t.stopped);
      this.settleTasks(service);
      service.deployments = [
        {
          id,
          status: "PRIMARY",
          taskDefinition,
          desiredCount: service.desiredCount,
          runningCount: service.desiredCount,
          rolloutState: "COMPLETED",
          createdAt,
        },
      ];
    } else {
      const previous = service.deployments.find((d) => d.status === "PRIMARY");
      service.deployments = [
        {
          id,
          status: "PRIMARY",
          taskDefinition,
          desiredCount: service.desiredCount,
          runningCount: 0,
          rolloutState: "IN_PROGRESS",
          rolloutStateReason: "stuck",
          createdAt,
        },
        ...(previous === undefined ? [] : [{ ...previous, status: "ACTIVE" }]),
      ];
    }
    this.addServiceDeployment(service.arn, {
      serviceDeploymentArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service-deployment/${service.name}/${id}`,
      serviceArn: service.arn,
      status: moves ? "SUCCESSFUL" : "IN_PROGRESS",
      createdAt,
    });
  }

  private ruleView(rule: FakeRule): Rule {
    return {
      RuleArn: rule.arn,
      Priority: rule.priority,
      Conditions: rule.conditions,
      Actions: rule.actions,
      IsDefault: false,
    };
  }

  private forwards(rule: FakeRule): string[] {
    return rule.actions.flatMap((action) => [
      ...(action.TargetGroupArn === undefined ? [] : [action.TargetGroupArn]),
      ...(action.ForwardConfig?.TargetGroups ?? []).map((g) => g.TargetGroupArn ?? ""),
    ]);
  }

  private stackEvent(
    stack: FakeStack,
    logicalId: string,
    type: string,
    status: string,
    reason?: string,
  ): void {
    stack.events.unshift({
      EventId: `event-${this.next()}`,
      StackId: stack.id,
      StackName: stack.name,
      LogicalResourceId: logicalId,
      ResourceType: type,
      ResourceStatus: status as StackEvent["ResourceStatus"],
      ...(reason === undefined ? {} : { ResourceStatusReason: reason }),
      Timestamp: new Date(this.clock),
    });
  }

  /** R2: DeleteCluster's refusal, or undefined when the cluster may go. */
  private clusterRefusal(cluster: string): FakeAwsError | undefined {
    this.tick();
    const services = this.services.get(cluster) ?? [];
    if (services.some((s) => s.status === "ACTIVE" || s.status === "DRAINING")) {
      return new FakeAwsError(
        "ClusterContainsServicesException",
        "The Cluster cannot be deleted while Services are active.",
      );
    }
    if (services.some((s) => s.tasks.some((t) => !t.stopped))) {
      return new FakeAwsError(
        "ClusterContainsTasksException",
        "The Cluster cannot be deleted while Tasks are active.",
      );
    }
    return undefined;
  }

  private notModelled(call: string): () => Promise<never> {
    return () => Promise.reject(new Error(`fake-aws does not model ${call}`));
  }

  // ---- the ports ----------------------------------------------------------------------------

  ports(): AwsPorts {
    const call = <T>(name: string, body: () => T): Promise<T> => {
      this.record(name);
      try {
        return Promise.resolve(body());
      } catch (error) {
        return Promise.reject(error as Error);
      }
    };
    const listTaskDefinitionsPage: AwsPorts["ecs"]["listTaskDefinitions"] = (input) =>
      call("ecs:ListTaskDefinitions", () => {
        const { items, nextToken } = this.page(
          this.activeArns(input.familyPrefix),
          input.maxResults,
          input.nextToken,
        );
        return {
          $metadata: {},
          taskDefinitionArns: items,
          ...(nextToken === undefined ? {} : { nextToken }),
        };
      });
    return {
      target: { region: REGION, profile: "fake" },
      cloudFormation: {
        createStack: (input) =>
          call("cloudformation:CreateStack", () =>
            this.createStack(input.StackName ?? "", input.TemplateBody ?? "{}"),
          ),
        describeStacks: (input) =>
          call("cloudformation:DescribeStacks", () => {
            const stack = [...this.stacks.values()].find(
              (s) => s.name === input.StackName || s.id === input.StackName,
            );
            if (stack === undefined || stack.status === "DELETE_COMPLETE") {
              throw new FakeAwsError(
                "ValidationError",
                `Stack with id ${input.StackName ?? ""} does not exist`,
              );
            }
            return {
              $metadata: {},
              Stacks: [
                {
                  StackId: stack.id,
                  StackName: stack.name,
                  StackStatus: stack.status as never,
                  ...(stack.reason === undefined ? {} : { StackStatusReason: stack.reason }),
                  CreationTime: new Date(0),
                  Outputs: Object.entries(stack.outputs).map(([OutputKey, OutputValue]) => ({
                    OutputKey,
                    OutputValue,
                  })),
                },
              ],
            };
          }),
        describeStackEvents: (input) =>
          call("cloudformation:DescribeStackEvents", () => {
            const stack = [...this.stacks.values()].find(
              (s) => s.name === input.StackName || s.id === input.StackName,
            );
            return { $metadata: {}, StackEvents: stack?.events ?? [] };
          }),
        updateStack: this.notModelled("cloudformation:UpdateStack"),
        deleteStack: (input) =>
          call("cloudformation:DeleteStack", () => this.deleteStack(input.StackName ?? "")),
      },
      ec2: {
        describeVpcs: () =>
          call("ec2:DescribeVpcs", () => ({
            $metadata: {},
            Vpcs: [{ VpcId: "vpc-fake", IsDefault: true }],
          })),
        describeSubnets: () =>
          call("ec2:DescribeSubnets", () => ({
            $metadata: {},
            Subnets: this.zones.map((zone, index) => ({
              SubnetId: `subnet-${index + 1}`,
              AvailabilityZone: zone.name,
              AvailabilityZoneId: zone.id,
              DefaultForAz: true,
              VpcId: "vpc-fake",
            })),
          })),
      },
      ecs: {
        describeClusters: (input) =>
          call("ecs:DescribeClusters", () => {
            this.tick();
            return {
              $metadata: {},
              clusters: (input.clusters ?? []).flatMap((name) => {
                const status = this.clusters.get(name);
                return status === undefined ? [] : [{ clusterName: name, status }];
              }),
            };
          }),
        deleteCluster: (input) =>
          call("ecs:DeleteCluster", () => {
            const name = input.cluster ?? "";
            const refusal = this.clusterRefusal(name);
            if (refusal !== undefined) throw refusal;
            this.clusters.set(name, "INACTIVE");
            return {};
          }),
        registerTaskDefinition: (input) =>
          call("ecs:RegisterTaskDefinition", () => {
            const family = input.family ?? "";
            const list = this.taskDefinitions.get(family) ?? [];
            const arn = `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:${list.length + 1}`;
            list.push({
              arn,
              active: true,
              tags: input.tags ?? [],
              containerDefinitions: input.containerDefinitions ?? [],
            });
            this.taskDefinitions.set(family, list);
            return {
              $metadata: {},
              taskDefinition: { taskDefinitionArn: arn, family, revision: list.length },
            };
          }),
        describeTaskDefinition: (input) =>
          call("ecs:DescribeTaskDefinition", () => {
            // By ARN, or by family: its latest ACTIVE revision (a family with none is refused).
            const wanted = input.taskDefinition ?? "";
            const all = [...this.taskDefinitions.values()].flat();
            const found =
              all.find((t) => t.arn === wanted) ??
              (this.taskDefinitions.get(wanted) ?? []).filter((t) => t.active).at(-1);
            if (found === undefined && !wanted.startsWith("arn:")) {
              throw new FakeAwsError("ClientException", "Unable to describe task definition.");
            }
            return {
              $metadata: {},
              taskDefinition: {
                taskDefinitionArn: found?.arn ?? wanted,
                status: found === undefined || found.active ? "ACTIVE" : "INACTIVE",
                containerDefinitions: found?.containerDefinitions ?? [],
              },
              tags: input.include?.includes("TAGS") === true ? (found?.tags ?? []) : [],
            };
          }),
        // R23: pages of at most maxResults; the listAll ports follow nextToken with the same
        // paging code as the real ports (sdk.ts), one recorded call a page.
        listTaskDefinitions: listTaskDefinitionsPage,
        listAllTaskDefinitionArns: (input) => allTaskDefinitionArns(listTaskDefinitionsPage, input),
        listAllTaskDefinitionFamilies: (input) =>
          allTaskDefinitionFamilies(
            (page) =>
              call("ecs:ListTaskDefinitionFamilies", () => {
                const families = [...this.taskDefinitions.entries()]
                  .filter(([family]) => family.startsWith(page.familyPrefix ?? ""))
                  .filter(([, list]) => page.status !== "ACTIVE" || list.some((t) => t.active))
                  .map(([family]) => family);
                const { items, nextToken } = this.page(families, page.maxResults, page.nextToken);
                return {
                  $metadata: {},
                  families: items,
                  ...(nextToken === undefined ? {} : { nextToken }),
                };
              }),
            input,
          ),
        deregisterTaskDefinition: (input) =>
          call("ecs:DeregisterTaskDefinition", () => {
            for (const list of this.taskDefinitions.values()) {
              for (const t of list) if (t.arn === input.taskDefinition) t.active = false;
            }
            return {};
          }),
        createService: (input) =>
          call("ecs:CreateService", () => {
            const cluster = input.cluster ?? "default";
            const name = input.serviceName ?? "";
            const { clientToken, ...params } = input;
            // R7: a client token names one request; other parameters under it are refused.
            if (clientToken !== undefined) {
              if (clientToken.length > 36 || !/^[\x21-\x7e]+$/.test(clientToken)) {
                throw new FakeAwsError(
                  "InvalidParameterException",
                  "clientToken: up to 36 ASCII characters 33-126",
                );
              }
              const key = `${cluster}/${clientToken}`;
              const previous = this.clientTokens.get(key);
              const json = JSON.stringify(params);
              if (previous !== undefined) {
                if (previous.params !== json) {
                  throw new FakeAwsError(
                    "InvalidParameterException",
                    "The client token was already used for a request with different parameters.",
                  );
                }
                const existing = (this.services.get(cluster) ?? []).find(
                  (s) => s.arn === previous.arn,
                );
                return {
                  $metadata: {},
                  ...(existing === undefined ? {} : { service: this.serviceView(existing) }),
                };
              }
              this.clientTokens.set(key, {
                params: json,
                arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${cluster}/${name}`,
              });
            }
            // R3: no new service while one of that name is ACTIVE or DRAINING.
            if (this.live(cluster, name) !== undefined) {
              throw new FakeAwsError(
                "InvalidParameterException",
                "Creation of service was not idempotent.",
              );
            }
            const service: FakeService = {
              arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${cluster}/${name}`,
              name,
              status: "ACTIVE",
              taskDefinition: input.taskDefinition ?? "",
              desiredCount: input.desiredCount ?? 0,
              deploymentConfiguration: input.deploymentConfiguration ?? {},
              loadBalancers: input.loadBalancers ?? [],
              tags: (input.tags ?? []).map((t) => ({ key: t.key ?? "", value: t.value ?? "" })),
              tasks: [],
              deployments: [
                {
                  id: `ecs-svc/${this.next()}`,
                  status: "PRIMARY",
                  taskDefinition: input.taskDefinition ?? "",
                  rolloutState: "COMPLETED",
                  createdAt: new Date(this.clock),
                },
              ],
            };
            this.settleTasks(service);
            const list = this.services.get(cluster) ?? [];
            list.push(service);
            this.services.set(cluster, list);
            return { $metadata: {}, service: this.serviceView(service) };
          }),
        updateService: (input) =>
          call("ecs:UpdateService", () => {
            const cluster = input.cluster ?? "default";
            const service = this.live(cluster, input.service ?? "");
            if (service === undefined || service.status !== "ACTIVE") {
              throw new FakeAwsError("ServiceNotActiveException", "Service was not ACTIVE.");
            }
            if (input.deploymentConfiguration !== undefined)
              service.deploymentConfiguration = input.deploymentConfiguration;
            if (input.loadBalancers !== undefined) service.loadBalancers = input.loadBalancers;
            if (input.desiredCount !== undefined) {
              service.desiredCount = input.desiredCount;
              this.settleTasks(service);
            }
            if (
              input.taskDefinition !== undefined &&
              input.taskDefinition !== service.taskDefinition
            ) {
              this.deploy(service, input.taskDefinition);
            }
            return { $metadata: {}, service: this.serviceView(service) };
          }),
        describeServices: (input) =>
          call("ecs:DescribeServices", () => {
            this.tick();
            const cluster = input.cluster ?? "default";
            const found = (input.services ?? []).flatMap((name) => {
              const all = (this.services.get(cluster) ?? []).filter(
                (s) => s.name === name || s.arn === name,
              );
              const pick = all.find((s) => s.status !== "INACTIVE") ?? all.at(-1);
              return pick === undefined ? [] : [this.serviceView(pick)];
            });
            return { $metadata: {}, services: found, failures: [] };
          }),
        deleteService: (input) =>
          call("ecs:DeleteService", () => {
            const cluster = input.cluster ?? "default";
            const service = this.live(cluster, input.service ?? "");
            if (service === undefined)
              throw new FakeAwsError("ServiceNotFoundException", "Service not found.");
            if (input.force !== true && service.desiredCount > 0) {
              throw new FakeAwsError(
                "InvalidParameterException",
                "The service cannot be stopped while it is scaled above 0.",
              );
            }
            // R3: ACTIVE → DRAINING while its tasks stop, then INACTIVE.
            service.desiredCount = 0;
            if (service.tasks.some((t) => !t.stopped)) {
              service.status = "DRAINING";
              service.stopIn = this.drainPolls;
            } else {
              service.status = "INACTIVE";
            }
            return { $metadata: {}, service: this.serviceView(service) };
          }),
        listServices: (input) =>
          call("ecs:ListServices", () => ({
            $metadata: {},
            // R3: DRAINING and INACTIVE services are not listed.
            serviceArns: (this.services.get(input.cluster ?? "default") ?? [])
              .filter((s) => s.status === "ACTIVE")
              .map((s) => s.arn),
          })),
        listTagsForResource: (input) =>
          call("ecs:ListTagsForResource", () => {
            const service = [...this.services.values()]
              .flat()
              .find((s) => s.arn === input.resourceArn);
            return { $metadata: {}, tags: service?.tags ?? [] };
          }),
        tagResource: (input) =>
          call("ecs:TagResource", () => {
            const service = [...this.services.values()]
              .flat()
              .find((s) => s.arn === input.resourceArn);
            if (service !== undefined) {
              for (const tag of input.tags ?? []) {
                service.tags = service.tags.filter((t) => t.key !== tag.key);
                service.tags.push({ key: tag.key ?? "", value: tag.value ?? "" });
              }
            }
            return {};
          }),
        listTasks: (input) =>
          call("ecs:ListTasks", () => {
            this.tick();
            const wantStopped = input.desiredStatus === "STOPPED";
            if (input.startedBy !== undefined) {
              return {
                $metadata: {},
                taskArns: this.runTasks
                  .filter(
                    (t) =>
                      t.cluster === (input.cluster ?? "default") &&
                      t.startedBy === input.startedBy &&
                      t.stopped === wantStopped,
                  )
                  .map((t) => t.arn),
              };
            }
            return {
              $metadata: {},
              taskArns: (this.services.get(input.cluster ?? "default") ?? [])
                .filter((s) => input.serviceName === undefined || s.name === input.serviceName)
                .flatMap((s) => s.tasks)
                .filter((t) => t.stopped === wantStopped)
                .map((t) => t.arn),
            };
          }),
        describeTasks: (input) =>
          call("ecs:DescribeTasks", () => ({
            $metadata: {},
            tasks: this.runTasks
              .filter((t) => (input.tasks ?? []).includes(t.arn))
              .map((t) => ({
                taskArn: t.arn,
                taskDefinitionArn: t.taskDefinition,
                lastStatus: t.stopped ? "STOPPED" : "RUNNING",
                desiredStatus: t.stopped ? "STOPPED" : "RUNNING",
                ...(t.startedBy === undefined ? {} : { startedBy: t.startedBy }),
                ...(t.stoppedReason === undefined ? {} : { stoppedReason: t.stoppedReason }),
                containers: [
                  {
                    name: "replica",
                    ...(t.exitCode === undefined ? {} : { exitCode: t.exitCode }),
                  },
                ],
              })),
          })),
        runTask: (input) =>
          call("ecs:RunTask", () => {
            const refusal = runTaskRefusal(input);
            if (refusal !== undefined) throw new FakeAwsError("InvalidParameterException", refusal);
            const cluster = input.cluster ?? "default";
            const started = Array.from({ length: input.count ?? 1 }, () => {
              const task: FakeRunTask = {
                arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${cluster}/${String(this.next()).padStart(32, "0")}`,
                cluster,
                taskDefinition: input.taskDefinition ?? "",
                ...(input.startedBy === undefined ? {} : { startedBy: input.startedBy }),
                stopped: false,
              };
              this.runTasks.push(task);
              return task;
            });
            return {
              $metadata: {},
              tasks: started.map((t) => ({ taskArn: t.arn, lastStatus: "PROVISIONING" })),
              failures: [],
            };
          }),
        stopTask: (input) =>
          call("ecs:StopTask", () => {
            // R27: "Up to 255 characters are allowed in this message" (StopTask's reason).
            if ((input.reason ?? "").length > 255) {
              throw new FakeAwsError(
                "InvalidParameterException",
                "reason can have at most 255 characters.",
              );
            }
            const task = this.runTasks.find((t) => t.arn === input.task);
            if (task === undefined) {
              throw new FakeAwsError(
                "InvalidParameterException",
                "The referenced task was not found.",
              );
            }
            task.stopped = true;
            task.stoppedReason = input.reason ?? "Task stopped by user";
            return {};
          }),
        listServiceDeployments: (input) =>
          call("ecs:ListServiceDeployments", () => {
            // AWS documents no order: the fake answers oldest first, in pages of maxResults.
            const all = this.serviceDeployments.get(input.service ?? "") ?? [];
            const start = input.nextToken === undefined ? 0 : Number(input.nextToken);
            const size = input.maxResults ?? 20;
            const page = all.slice(start, start + size);
            const next = start + size < all.length ? String(start + size) : undefined;
            return {
              $metadata: {},
              serviceDeployments: page.map((d) => ({
                serviceDeploymentArn: d.serviceDeploymentArn,
                serviceArn: d.serviceArn,
                status: d.status,
                createdAt: d.createdAt,
              })),
              ...(next === undefined ? {} : { nextToken: next }),
            };
          }),
        describeServiceDeployments: (input) =>
          call("ecs:DescribeServiceDeployments", () => ({
            $metadata: {},
            serviceDeployments: [...this.serviceDeployments.values()]
              .flat()
              .filter((d) =>
                (input.serviceDeploymentArns ?? []).includes(d.serviceDeploymentArn ?? ""),
              ),
          })),
        describeServiceRevisions: () =>
          call("ecs:DescribeServiceRevisions", () => ({ $metadata: {}, serviceRevisions: [] })),
      },
      iam: {
        createServiceLinkedRole: (input) =>
          call("iam:CreateServiceLinkedRole", () => {
            if (input.AWSServiceName !== "ecs.amazonaws.com") {
              throw new FakeAwsError("InvalidInput", `fake-aws models only ecs.amazonaws.com`);
            }
            // R6: the role exists once; a second request is refused with IAM's wording.
            if (this.hasServiceLinkedRole) {
              throw new FakeAwsError(
                "InvalidInput",
                "Service role name AWSServiceRoleForECS has been taken in this account, please try a different suffix.",
              );
            }
            this.hasServiceLinkedRole = true;
            return {};
          }),
      },
      elb: {
        createTargetGroup: (input) =>
          call("elasticloadbalancing:CreateTargetGroup", () => {
            const name = input.Name ?? "";
            const arn =
              this.targetGroups.get(name) ?? `${ELB_ARN}:targetgroup/${name}/${this.next()}`;
            this.targetGroups.set(name, arn);
            return {
              $metadata: {},
              TargetGroups: [{ TargetGroupArn: arn, TargetGroupName: name }],
            };
          }),
        describeTargetGroups: (input) =>
          call("elasticloadbalancing:DescribeTargetGroups", () => {
            const names = input.Names ?? [...this.targetGroups.keys()];
            const missing = names.filter((name) => !this.targetGroups.has(name));
            if (missing.length > 0) {
              throw new FakeAwsError("TargetGroupNotFound", `One or more target groups not found`);
            }
            return {
              $metadata: {},
              TargetGroups: names.map((name) => ({
                TargetGroupName: name,
                TargetGroupArn: this.targetGroups.get(name),
              })),
            };
          }),
        modifyTargetGroupAttributes: () =>
          call("elasticloadbalancing:ModifyTargetGroupAttributes", () => ({})),
        deleteTargetGroup: (input) =>
          call("elasticloadbalancing:DeleteTargetGroup", () => {
            const arn = input.TargetGroupArn ?? "";
            // R4: a group a rule forwards to cannot be deleted.
            if (this.rules.some((rule) => this.forwards(rule).includes(arn))) {
              throw new FakeAwsError(
                "ResourceInUse",
                `Target group '${arn}' is currently in use by a listener or a rule`,
              );
            }
            for (const [name, value] of this.targetGroups)
              if (value === arn) this.targetGroups.delete(name);
            return {};
          }),
        createRule: (input) =>
          call("elasticloadbalancing:CreateRule", () => {
            // R22: priority 1–50000; a forward action to at most 5 groups, weights 0–999.
            const ruleProblem = ruleRefusal(input.Priority ?? 0, input.Actions ?? []);
            if (ruleProblem !== undefined) throw new FakeAwsError("ValidationError", ruleProblem);
            const priority = String(input.Priority ?? 0);
            // R5: one rule per priority.
            if (this.rules.some((rule) => rule.priority === priority)) {
              throw new FakeAwsError("PriorityInUse", `Priority '${priority}' is currently in use`);
            }
            const rule: FakeRule = {
              arn: `${this.listenerArn.replace(":listener/", ":listener-rule/")}/${this.next()}`,
              priority,
              conditions: structuredClone(input.Conditions ?? []),
              actions: structuredClone(input.Actions ?? []),
            };
            this.rules.push(rule);
            return { $metadata: {}, Rules: [this.ruleView(rule)] };
          }),
        describeRules: () =>
          call("elasticloadbalancing:DescribeRules", () => ({
            $metadata: {},
            Rules: [
              ...this.rules.map((rule) => this.ruleView(rule)),
              {
                RuleArn: `${this.listenerArn}/default`,
                Priority: "default",
                IsDefault: true,
                Actions: [],
              },
            ],
          })),
        deleteRule: (input) =>
          call("elasticloadbalancing:DeleteRule", () => {
            const index = this.rules.findIndex((rule) => rule.arn === input.RuleArn);
            if (index === -1) throw new FakeAwsError("RuleNotFound", "One or more rules not found");
            this.rules.splice(index, 1);
            return {};
          }),
        modifyRule: (input) =>
          call("elasticloadbalancing:ModifyRule", () => {
            const rule = this.rules.find((r) => r.arn === input.RuleArn);
            if (rule === undefined)
              throw new FakeAwsError("RuleNotFound", "One or more rules not found");
            const ruleProblem = ruleRefusal(undefined, input.Actions ?? []); // R22
            if (ruleProblem !== undefined) throw new FakeAwsError("ValidationError", ruleProblem);
            if (input.Actions !== undefined) rule.actions = structuredClone(input.Actions);
            if (input.Conditions !== undefined) rule.conditions = structuredClone(input.Conditions);
            return {};
          }),
        describeLoadBalancerAttributes: () =>
          call("elasticloadbalancing:DescribeLoadBalancerAttributes", () => ({
            $metadata: {},
            Attributes: [{ Key: "idle_timeout.timeout_seconds", Value: String(this.idleTimeout) }],
          })),
        modifyLoadBalancerAttributes: (input) =>
          call("elasticloadbalancing:ModifyLoadBalancerAttributes", () => {
            for (const attribute of input.Attributes ?? []) {
              if (attribute.Key !== "idle_timeout.timeout_seconds") continue;
              const value = Number(attribute.Value);
              // R9: ALB's documented range for this attribute.
              if (!(value >= 1 && value <= 4000)) {
                throw new FakeAwsError(
                  "ValidationError",
                  "idle_timeout.timeout_seconds must be 1-4000",
                );
              }
              this.idleTimeout = value;
            }
            return {};
          }),
        describeTags: () =>
          call("elasticloadbalancing:DescribeTags", () => ({ $metadata: {}, TagDescriptions: [] })),
      },
      // Scaling is accepted and forgotten, as moto would (nothing of it is read back), once it
      // passes R14's step-adjustment rules.
      autoScaling: {
        registerScalableTarget: () =>
          call("application-autoscaling:RegisterScalableTarget", () => ({})),
        deregisterScalableTarget: () =>
          call("application-autoscaling:DeregisterScalableTarget", () => ({})),
        describeScalableTargets: () =>
          call("application-autoscaling:DescribeScalableTargets", () => ({
            $metadata: {},
            ScalableTargets: [],
          })),
        putScalingPolicy: (input) =>
          call("application-autoscaling:PutScalingPolicy", () => {
            const refusal = stepPolicyRefusal(input);
            if (refusal !== undefined) throw new FakeAwsError("ValidationException", refusal);
            return {
              $metadata: {},
              PolicyARN: "arn:aws:autoscaling:policy/fake",
              Alarms: [],
            };
          }),
        deleteScalingPolicy: () => call("application-autoscaling:DeleteScalingPolicy", () => ({})),
        describeScalingPolicies: () =>
          call("application-autoscaling:DescribeScalingPolicies", () => ({
            $metadata: {},
            ScalingPolicies: [],
          })),
      },
      logs: {
        filterLogEvents: this.notModelled("logs:FilterLogEvents"),
        describeLogStreams: this.notModelled("logs:DescribeLogStreams"),
        startLiveTail: this.notModelled("logs:StartLiveTail"),
      },
      cloudWatch: {
        getMetricData: (input) => call("cloudwatch:GetMetricData", () => this.getMetricData(input)),
        putMetricAlarm: (input) =>
          call("cloudwatch:PutMetricAlarm", () => {
            const refusal = alarmRefusal(input); // R13
            if (refusal !== undefined) throw new FakeAwsError("ValidationError", refusal);
            this.alarms.add(input.AlarmName ?? "");
            return {};
          }),
        deleteAlarms: (input) =>
          call("cloudwatch:DeleteAlarms", () => {
            for (const name of input.AlarmNames ?? []) this.alarms.delete(name);
            return {};
          }),
        describeAlarms: (input) =>
          call("cloudwatch:DescribeAlarms", () => ({
            $metadata: {},
            MetricAlarms: (input.AlarmNames ?? [])
              .filter((n) => this.alarms.has(n))
              .map((AlarmName) => ({ AlarmName })),
          })),
      },
      sqs: this.sqs.port(call),
      s3: {
        listObjectsV2: (input) =>
          call("s3:ListObjectsV2", () => ({
            $metadata: {},
            Contents: [...this.objects.keys()]
              .filter((key) => key.startsWith(`${input.Bucket ?? ""}/${input.Prefix ?? ""}`))
              .map((key) => ({ Key: key.slice((input.Bucket ?? "").length + 1) })),
          })),
        deleteObjects: (input) =>
          call("s3:DeleteObjects", () => {
            for (const object of input.Delete?.Objects ?? []) {
              this.objects.delete(`${input.Bucket ?? ""}/${object.Key ?? ""}`);
            }
            return { $metadata: {} };
          }),
        putObject: (input) => call("s3:PutObject", () => this.putObject(input)),
        getObjectBytes: (input) =>
          call("s3:GetObject", () => this.getObject(input.Bucket, input.Key).body),
        getObjectWithEtag: (input) =>
          call("s3:GetObject", () => {
            const { body, etag } = this.getObject(input.Bucket, input.Key);
            return { bytes: body, etag };
          }),
      },
    };
  }

  /** R12: a PutObject's `IfMatch`/`IfNoneMatch` are checked and the object stored at once. */
  private putObject(input: PutObjectCommandInput): { ETag: string } {
    // R24: a key of at most 1024 UTF-8 bytes, metadata of at most 2 KB.
    const refusal = putObjectRefusal(input);
    if (refusal !== undefined) throw new FakeAwsError(refusal.code, refusal.message);
    const id = `${input.Bucket ?? ""}/${input.Key ?? ""}`;
    const existing = this.objects.get(id);
    if (input.IfNoneMatch !== undefined && input.IfNoneMatch !== "*") {
      throw new FakeAwsError("NotImplemented", "If-None-Match takes only *");
    }
    if (input.IfNoneMatch === "*" && existing !== undefined) {
      throw new FakeAwsError(
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
      );
    }
    if (input.IfMatch !== undefined) {
      if (existing === undefined)
        throw new FakeAwsError("NoSuchKey", "The specified key does not exist.");
      if (unquote(input.IfMatch) !== unquote(existing.etag)) {
        throw new FakeAwsError(
          "PreconditionFailed",
          "At least one of the pre-conditions you specified did not hold",
        );
      }
    }
    const body = bodyBytes(input.Body);
    const etag = `"${createHash("md5").update(body).digest("hex")}"`;
    this.objects.set(id, { body, etag });
    return { ETag: etag };
  }

  private getObject(
    bucket: string | undefined,
    key: string | undefined,
  ): { body: Uint8Array; etag: string } {
    const object = this.objects.get(`${bucket ?? ""}/${key ?? ""}`);
    if (object === undefined)
      throw new FakeAwsError("NoSuchKey", "The specified key does not exist.");
    return object;
  }

  private createStack(name: string, templateBody: string) {
    const template = JSON.parse(templateBody) as {
      Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    };
    const id = `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${name}/${this.next()}`;
    const stack: FakeStack = { id, name, status: "CREATE_IN_PROGRESS", outputs: {}, events: [] };
    this.stacks.set(name, stack);
    const resources = Object.entries(template.Resources ?? {});
    const cluster = resources.find(([, r]) => r.Type === "AWS::ECS::Cluster");
    const declared = cluster?.[1].Properties?.["ClusterName"];
    const clusterName = typeof declared === "string" ? declared : `${name}-cluster`;
    const usesCapacityProviders =
      cluster?.[1].Properties?.["CapacityProviders"] !== undefined ||
      resources.some(([, r]) => r.Type === "AWS::ECS::ClusterCapacityProviderAssociations");
    // R6: capacity providers need the ECS service-linked role, which a fresh account lacks.
    if (cluster !== undefined && usesCapacityProviders && !this.hasServiceLinkedRole) {
      this.stackEvent(
        stack,
        cluster[0],
        "AWS::ECS::Cluster",
        "CREATE_FAILED",
        'Resource handler returned message: "Unable to assume the service linked role. Please verify that the ECS service linked role exists. (Service: AmazonECS; Status Code: 400; Error Code: InvalidParameterException)"',
      );
      stack.status = "ROLLBACK_COMPLETE";
      stack.reason =
        "The following resource(s) failed to create: [Cluster]. Rollback requested by user.";
      return { $metadata: {}, StackId: id };
    }
    // R11: an HTTPS listener has exactly one (default) certificate; a redirect has a status code
    // and changes protocol, host, port or path.
    for (const [logicalId, resource] of resources) {
      if (resource.Type !== "AWS::ElasticLoadBalancingV2::Listener") continue;
      const refusal = listenerRefusal(resource.Properties ?? {});
      if (refusal === undefined) continue;
      this.stackEvent(
        stack,
        logicalId,
        resource.Type,
        "CREATE_FAILED",
        `Resource handler returned message: "${refusal} (Service: ElasticLoadBalancingV2, Status Code: 400, Error Code: ValidationError)"`,
      );
      stack.status = "ROLLBACK_COMPLETE";
      stack.reason = `The following resource(s) failed to create: [${logicalId}]. Rollback requested by user.`;
      return { $metadata: {}, StackId: id };
    }
    // R25: an alias record to the load balancer names the load balancer's hosted zone.
    for (const [logicalId, resource] of resources) {
      if (resource.Type !== "AWS::Route53::RecordSet") continue;
      const refusal = aliasRecordRefusal(resource.Properties ?? {});
      if (refusal === undefined) continue;
      this.stackEvent(
        stack,
        logicalId,
        resource.Type,
        "CREATE_FAILED",
        `Invalid request provided: ${refusal} (Service: Route53, Status Code: 400, Error Code: InvalidInput)`,
      );
      stack.status = "ROLLBACK_COMPLETE";
      stack.reason = `The following resource(s) failed to create: [${logicalId}]. Rollback requested by user.`;
      return { $metadata: {}, StackId: id };
    }
    for (const [logicalId, resource] of resources) {
      this.stackEvent(stack, logicalId, resource.Type, "CREATE_COMPLETE");
    }
    this.clusters.set(clusterName, "ACTIVE");
    stack.clusterName = clusterName;
    stack.status = "CREATE_COMPLETE";
    stack.outputs = {
      ClusterName: clusterName,
      ClusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${clusterName}`,
      LoadBalancerArn: this.loadBalancerArn,
      LoadBalancerDnsName: "axon-fake-1.us-east-1.elb.amazonaws.com",
      ListenerArn: this.listenerArn,
      BucketName: `${clusterName}-bundles`,
      LogGroupName: `/axon/${clusterName}`,
      ExecutionRoleArn: `arn:aws:iam::${ACCOUNT}:role/exec`,
      TaskRoleArn: `arn:aws:iam::${ACCOUNT}:role/task`,
      EcsInfrastructureRoleArn: `arn:aws:iam::${ACCOUNT}:role/ecs-infrastructure`,
      TaskSecurityGroupId: "sg-tasks",
      TaskSubnetIds: "subnet-1,subnet-2",
      AssignPublicIp: "ENABLED",
      VpcId: "vpc-fake",
      Image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/axon-replica:0.1.0`,
    };
    return { $metadata: {}, StackId: id };
  }

  private deleteStack(name: string) {
    const stack = [...this.stacks.values()].find((s) => s.name === name || s.id === name);
    if (stack === undefined || stack.status === "DELETE_COMPLETE") return {};
    stack.status = "DELETE_IN_PROGRESS";
    // R8: the cluster goes by R2's rule; the security group may still have ENIs attached.
    const refusal =
      stack.clusterName === undefined ? undefined : this.clusterRefusal(stack.clusterName);
    if (refusal !== undefined) {
      this.stackEvent(
        stack,
        "Cluster",
        "AWS::ECS::Cluster",
        "DELETE_FAILED",
        `${refusal.message} (Service: AmazonECS; Status Code: 400; Error Code: ${refusal.name})`,
      );
      stack.status = "DELETE_FAILED";
      stack.reason = "The following resource(s) failed to delete: [Cluster].";
      return {};
    }
    if (this.dependencyViolations > 0) {
      this.dependencyViolations -= 1;
      this.stackEvent(
        stack,
        "TaskSecurityGroup",
        "AWS::EC2::SecurityGroup",
        "DELETE_FAILED",
        "resource sg-tasks has a dependent object (Service: AmazonEC2; Status Code: 400; Error Code: DependencyViolation)",
      );
      stack.status = "DELETE_FAILED";
      stack.reason = "The following resource(s) failed to delete: [TaskSecurityGroup].";
      return {};
    }
    if (stack.clusterName !== undefined) this.clusters.set(stack.clusterName, "INACTIVE");
    this.stackEvent(stack, "Cluster", "AWS::ECS::Cluster", "DELETE_COMPLETE");
    stack.status = "DELETE_COMPLETE";
    return {};
  }
}

/** R11: why ELBv2 refuses a listener of the template, or undefined when it accepts it. */
export function listenerRefusal(properties: Record<string, unknown>): string | undefined {
  const certificates = properties["Certificates"];
  const count = Array.isArray(certificates) ? certificates.length : 0;
  if (properties["Protocol"] === "HTTPS" && count !== 1) {
    return `an HTTPS listener needs exactly one default certificate (got ${count})`;
  }
  const actions = Array.isArray(properties["DefaultActions"]) ? properties["DefaultActions"] : [];
  for (const action of actions as Array<Record<string, unknown>>) {
    if (action["Type"] !== "redirect") continue;
    const config = (action["RedirectConfig"] ?? {}) as Record<string, unknown>;
    if (config["StatusCode"] !== "HTTP_301" && config["StatusCode"] !== "HTTP_302") {
      return "a redirect's StatusCode must be HTTP_301 or HTTP_302";
    }
    const kept: Record<string, string> = {
      Protocol: "#{protocol}",
      Host: "#{host}",
      Port: "#{port}",
      Path: "/#{path}",
    };
    const changes = Object.entries(kept).some(
      ([key, same]) => config[key] !== undefined && config[key] !== same,
    );
    if (!changes) {
      return "a redirect must change at least one of protocol, host, port or path (it would loop)";
    }
  }
  return undefined;
}

/** An ETag without its quotes (S3 compares `If-Match` either way). */
function unquote(etag: string): string {
  return etag.replaceAll('"', "");
}

/** A PutObject body as bytes (Axon puts strings and byte arrays). */
function bodyBytes(body: PutObjectCommandInput["Body"]): Uint8Array {
  if (body === undefined) return new Uint8Array();
  if (typeof body === "string") return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  throw new FakeAwsError("NotImplemented", "fake-aws stores string and byte bodies only");
}
