/**
 * An API's ECS task definition, built from its spec (pure: no AWS calls). The deploy registers what
 * `taskDefinitionInput` returns and hashes it (with the target group, rule and rollout settings) to
 * decide whether anything changed.
 *
 * Choices recorded here:
 * - Size: `compute.cpu`/`compute.mem` become the smallest Fargate pair that holds both (AWS's
 *   table below). Fargate has no GPUs or Inferentia chips, so those are refused, as is anything
 *   above 16 vCPU or 120 GiB, before any AWS call (moto checks none of this, AWS fails late).
 * - Health: the replica image always has `node` (its entrypoint is `axon-replica`, a Node program),
 *   so the container health check is a `node -e` fetch rather than curl or wget, which slim images
 *   may lack. It fetches `/livez` (liveness: 200 as soon as the replica's front listens, while it
 *   downloads its project and Python environment and loads the predictor), not `/healthz`
 *   (readiness, 200 only once predictions can be served: the target group's check). A task whose
 *   essential container is UNHEALTHY is stopped and replaced
 *   (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html), so a
 *   readiness check here would kill a task that is legitimately slow to start (issue 26, finding 8:
 *   the start period, at most 300 s, used to have to cover `pip install`).
 * - Start: the container's start period only has to cover Node starting and listening (seconds);
 *   the service's grace period (`SERVICE_HEALTH_GRACE_PERIOD_SECONDS`) covers the load balancer's
 *   readiness check while the first task builds the Python environment (later tasks download it).
 * - Stop: the replica drains for up to `predictor.timeout` on SIGTERM; ECS waits `stopTimeout`
 *   (at most 120 s on Fargate) before it kills, so it gets the timeout plus a few seconds.
 */
import type { RegisterTaskDefinitionCommandInput } from "@aws-sdk/client-ecs";
import {
  DEFAULT_PREDICTOR_TIMEOUT_MS,
  parseDuration,
  parseQuantity,
  type ApiSpec,
} from "@axon/config";
import { replicaTaskEnvironment } from "./replica-env.js";
import { DomainError } from "../../errors.js";
import {
  API_TAGS,
  logStreamPrefix,
  REPLICA_CONTAINER,
  taskFamily,
  type AwsClusterRefs,
} from "./api-names.js";
import { REPLICA_CONTAINER_PORT } from "./cluster-template.js";

/**
 * What a task definition is built from: the fields a RealtimeAPI's spec shares with a BatchAPI's
 * (issue 32), so both kinds' task definitions come from the same code.
 */
export type TaskSpec = Pick<ApiSpec, "name" | "predictor" | "compute">;

/** A Fargate task size: CPU units (1024 = 1 vCPU) and memory in MiB. */
export interface FargateSize {
  cpu: number;
  memory: number;
}

/**
 * The service's load-balancer health-check grace period (CreateService
 * `healthCheckGracePeriodSeconds`), in seconds: 300, ECS's largest container start period, which
 * the deploy has always used. ECS ignores unhealthy load-balancer and container health checks for
 * this long after a task starts
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html).
 */
export const HEALTH_CHECK_START_PERIOD_SECONDS = 300;

/**
 * A grace period long enough for the first task of a new requirements.txt to build the Python
 * environment (a torch-sized `pip install` on a small Fargate size takes minutes; later tasks
 * download the archive the first one stored): 20 minutes, against ECS's limit of 2,147,483,647 s
 * (API_CreateService, above). A task that fails to start exits and is replaced at once; only one
 * that hangs before ready waits this long, and the target group sends it nothing meanwhile.
 * The deploy's `healthCheckGracePeriodSeconds` (api-deploy.ts).
 */
export const SERVICE_HEALTH_GRACE_PERIOD_SECONDS = 1200;

/**
 * The container health check's start period, in seconds: failures before it do not count. `/livez`
 * answers once Node has started and listens, which takes seconds even on 0.25 vCPU.
 */
export const CONTAINER_HEALTH_START_PERIOD_SECONDS = 60;
/** Fargate's largest stopTimeout, in seconds. */
const MAX_STOP_TIMEOUT_SECONDS = 120;

/** The compute asked for has no Fargate task size (400). */
export const API_FARGATE_SIZE = "api.fargate_size";
/** Time a drained replica needs beyond its last request to close and exit. */
const STOP_MARGIN_SECONDS = 5;

const GIB = 1024;
const range = (from: number, to: number, step: number): number[] =>
  Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, index) => from + index * step);

/** AWS's table of Fargate task sizes (Linux): each CPU size and the memory sizes it accepts. */
const FARGATE_SIZES: ReadonlyArray<{ cpu: number; memory: number[] }> = [
  { cpu: 256, memory: [512, 1024, 2048] },
  { cpu: 512, memory: range(1 * GIB, 4 * GIB, GIB) },
  { cpu: 1024, memory: range(2 * GIB, 8 * GIB, GIB) },
  { cpu: 2048, memory: range(4 * GIB, 16 * GIB, GIB) },
  { cpu: 4096, memory: range(8 * GIB, 30 * GIB, GIB) },
  { cpu: 8192, memory: range(16 * GIB, 60 * GIB, 4 * GIB) },
  { cpu: 16384, memory: range(32 * GIB, 120 * GIB, 8 * GIB) },
];
const LARGEST = FARGATE_SIZES[FARGATE_SIZES.length - 1] ?? { cpu: 16384, memory: [122880] };
const MAX_MEMORY_MIB = Math.max(...LARGEST.memory);
const VALID_CPU = "0.25, 0.5, 1, 2, 4, 8 or 16";
const VALID_PAIRS =
  "0.25 vCPU: 512Mi–2Gi; 0.5: 1–4Gi; 1: 2–8Gi; 2: 4–16Gi; 4: 8–30Gi (by 1Gi); 8: 16–60Gi (by 4Gi); 16: 32–120Gi (by 8Gi)";

/**
 * The smallest Fargate size that holds the spec's `compute.cpu` and `compute.mem`.
 *
 * @throws DomainError `api.fargate_size` (400) naming the field and the valid sizes when nothing
 *   fits: more than 16 vCPU, more than 120 GiB, or any GPU / Inferentia chip.
 */
export function fargateSize(spec: TaskSpec): FargateSize {
  const { compute } = spec;
  if (compute.gpu > 0 || compute.inf > 0) {
    const field = compute.gpu > 0 ? "gpu" : "inf";
    throw sizeError(
      spec,
      field,
      `is ${compute[field]}: Fargate tasks have no ${field === "gpu" ? "GPUs" : "Inferentia chips"}`,
      `set compute.${field}: 0 to run this API on Fargate, or run it on the local provider`,
    );
  }
  const cpuUnits = Math.ceil(parseQuantity(compute.cpu) * 1024 - 1e-9);
  if (cpuUnits > LARGEST.cpu) {
    throw sizeError(
      spec,
      "cpu",
      `is ${compute.cpu}: a Fargate task has at most 16 vCPU`,
      `use one of ${VALID_CPU} vCPU (${VALID_PAIRS}); a replica's processes share its vCPUs, so more replicas (autoscaling.max_replicas) scale further`,
    );
  }
  const memoryMiB = compute.mem === null ? 0 : Math.ceil(parseQuantity(compute.mem) / 2 ** 20);
  if (memoryMiB > MAX_MEMORY_MIB) {
    throw sizeError(
      spec,
      "mem",
      `is ${compute.mem ?? ""}: a Fargate task has at most 120Gi of memory`,
      `use at most 120Gi (${VALID_PAIRS})`,
    );
  }
  for (const size of FARGATE_SIZES) {
    if (size.cpu < cpuUnits) continue;
    const memory = size.memory.find((option) => option >= memoryMiB);
    if (memory !== undefined) return { cpu: size.cpu, memory };
  }
  // Unreachable: the largest size holds any cpu ≤ 16 vCPU with any memory ≤ 120 GiB.
  return { cpu: LARGEST.cpu, memory: MAX_MEMORY_MIB };
}

function sizeError(
  spec: TaskSpec,
  field: "cpu" | "mem" | "gpu" | "inf",
  what: string,
  hint: string,
): DomainError {
  return new DomainError(API_FARGATE_SIZE, `${spec.name}.compute.${field} ${what}`, {
    status: 400,
    hint,
  });
}

/** The predictor's request timeout in whole seconds (its default when unset). */
export function predictorTimeoutSeconds(spec: TaskSpec): number {
  const ms =
    spec.predictor.timeout === undefined
      ? DEFAULT_PREDICTOR_TIMEOUT_MS
      : parseDuration(spec.predictor.timeout);
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * The RegisterTaskDefinition input of one API's replicas. Deterministic for equal arguments
 * (environment sorted by name), so it can be hashed to detect changes.
 */
export function taskDefinitionInput(
  spec: TaskSpec,
  refs: AwsClusterRefs,
  bundleSha256: string,
): RegisterTaskDefinitionCommandInput {
  const size = fargateSize(spec);
  const environment = Object.entries({
    ...spec.predictor.env,
    // The platform's variables win: the config already refuses AXON_ names.
    ...replicaTaskEnvironment({
      spec,
      bucket: refs.bucketName,
      bundleSha256,
      region: refs.region,
    }),
  })
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => ({ name, value }));
  const livenessUrl = `http://127.0.0.1:${REPLICA_CONTAINER_PORT}/livez`;
  return {
    family: taskFamily(refs.clusterName, spec.name),
    requiresCompatibilities: ["FARGATE"],
    networkMode: "awsvpc",
    cpu: String(size.cpu),
    memory: String(size.memory),
    executionRoleArn: refs.executionRoleArn,
    taskRoleArn: refs.taskRoleArn,
    runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
    containerDefinitions: [
      {
        name: REPLICA_CONTAINER,
        image: refs.image,
        essential: true,
        // Fargate takes the task-level size; moto needs a container-level one to place tasks.
        memory: size.memory,
        portMappings: [
          { containerPort: REPLICA_CONTAINER_PORT, protocol: "tcp", appProtocol: "http" },
        ],
        environment,
        logConfiguration: {
          logDriver: "awslogs",
          options: {
            "awslogs-group": refs.logGroupName,
            "awslogs-region": refs.region,
            "awslogs-stream-prefix": logStreamPrefix(spec.name),
            // A CloudWatch Logs outage must not block the predictor's stdout.
            mode: "non-blocking",
          },
        },
        healthCheck: {
          command: [
            "CMD",
            "node",
            "-e",
            `fetch(${JSON.stringify(livenessUrl)}).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))`,
          ],
          interval: 10,
          timeout: 5,
          retries: 3,
          startPeriod: CONTAINER_HEALTH_START_PERIOD_SECONDS,
        },
        stopTimeout: Math.min(
          MAX_STOP_TIMEOUT_SECONDS,
          predictorTimeoutSeconds(spec) + STOP_MARGIN_SECONDS,
        ),
      },
    ],
    tags: Object.entries({ ...apiTags(refs, spec.name), [API_TAGS.bundle]: bundleSha256 }).map(
      ([key, value]) => ({ key, value }),
    ),
  };
}

/**
 * The ownership tags of an API's resources. `axon:cluster` holds the cluster's `cluster_name`, as
 * on the stack's own resources (the ECS cluster is `axon-<cluster_name>`).
 */
export function apiTags(refs: AwsClusterRefs, apiName: string): Record<string, string> {
  return {
    [API_TAGS.cluster]: refs.clusterName.replace(/^axon-/, ""),
    [API_TAGS.env]: refs.envName,
    [API_TAGS.api]: apiName,
  };
}
