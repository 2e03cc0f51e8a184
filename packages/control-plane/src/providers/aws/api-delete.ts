/**
 * Deletes one API's AWS resources in the order AWS requires (shared/reference/ecs.md §1.5): the
 * service (scaled to 0 so its tasks drain through the load balancer, then force-deleted), the
 * listener rule, the target group(s) (only free once no rule uses them), every ACTIVE revision of
 * the task family, the canary alarm, the API's monitoring baseline (`baselineKey`, pinned by
 * `axon monitor baseline --env`), its API keys and the counts its tasks reported
 * (`api-keys/<api>.json`, `api-keys/<api>/usage/*`: a new API of the same name must not accept the
 * old one's keys, as locally), and the bundle unless another live service of the cluster runs
 * the same one. The API's scaling is removed by the caller before this runs.
 *
 * Safe to repeat and to run after a failed deploy or delete: each piece is looked up first and
 * "already gone" answers are ignored, so it removes whatever is left and says `absent` when there
 * was nothing at all.
 */
import type { Service } from "@aws-sdk/client-ecs";
import { baselineKey } from "./api-baseline.js";
import { apiKeysObjectKey, keyUsageObjectKeys } from "./api-keys.js";
import { bundleKey } from "./replica-env.js";
import {
  alternateTargetGroupName,
  API_TAGS,
  serviceName,
  targetGroupName,
  taskFamily,
  type EcsApiDeps,
} from "./api-names.js";
import {
  describeService,
  findTargetGroupArn,
  forwardedGroups,
  isAwsError,
  listenerRules,
  retirePlainHttpRules,
} from "./api-deploy.js";
import { deleteRolloutAlarm } from "./api-rollout.js";
import { listApiServices } from "./api-status.js";
import { callAws } from "./cluster-stack.js";

/** Removes everything of API `apiName`; `absent` when none of it existed. */
export async function deleteApiResources(
  deps: EcsApiDeps,
  apiName: string,
): Promise<"deleted" | "absent"> {
  const { refs } = deps;
  let found = false;
  const bundles = new Set<string>();

  // The service: scaled to 0, then deleted (force: ECS stops what is left).
  const name = serviceName(apiName);
  const service = await describeService(deps, name);
  if (service !== undefined && service.status !== "INACTIVE") {
    found = true;
    const bundle = bundleTag(service);
    if (bundle !== undefined) bundles.add(bundle);
    if (service.status === "ACTIVE") {
      await ignoringGone(() =>
        callAws(deps, "ecs:UpdateService", () =>
          deps.ports.ecs.updateService({
            cluster: refs.clusterName,
            service: name,
            desiredCount: 0,
          }),
        ),
      );
      await ignoringGone(() =>
        callAws(deps, "ecs:DeleteService", () =>
          deps.ports.ecs.deleteService({ cluster: refs.clusterName, service: name, force: true }),
        ),
      );
      deps.onProgress?.(`deleted service ${name}`);
    }
  }

  // The listener rule(s) forwarding to the API's target groups, then the groups.
  const groupNames = [
    targetGroupName(refs.clusterName, apiName),
    alternateTargetGroupName(refs.clusterName, apiName),
  ];
  const groupArns: string[] = [];
  for (const groupName of groupNames) {
    const arn = await findTargetGroupArn(deps, groupName);
    if (arn !== undefined) groupArns.push(arn);
  }
  if (groupArns.length > 0) {
    await retirePlainHttpRules(deps, groupArns);
    const rules = (await listenerRules(deps)).filter(
      (rule) =>
        rule.IsDefault !== true && forwardedGroups(rule).some((arn) => groupArns.includes(arn)),
    );
    for (const rule of rules) {
      const ruleArn = rule.RuleArn;
      if (ruleArn === undefined) continue;
      found = true;
      await ignoringGone(() =>
        callAws(deps, "elasticloadbalancing:DeleteRule", () =>
          deps.ports.elb.deleteRule({ RuleArn: ruleArn }),
        ),
      );
    }
    for (const arn of groupArns) {
      found = true;
      await ignoringGone(() =>
        callAws(deps, "elasticloadbalancing:DeleteTargetGroup", () =>
          deps.ports.elb.deleteTargetGroup({ TargetGroupArn: arn }),
        ),
      );
    }
    deps.onProgress?.(`removed the route and target group of ${apiName}`);
  }

  // Every ACTIVE revision of the family (the prefix also matches longer families: filter exactly).
  const family = taskFamily(refs.clusterName, apiName);
  const revisions = await activeRevisions(deps, family);
  for (const arn of revisions) {
    found = true;
    // A failed deploy may have left a revision whose bundle never reached a service.
    const described = await ignoringGone(() =>
      callAws(deps, "ecs:DescribeTaskDefinition", () =>
        deps.ports.ecs.describeTaskDefinition({ taskDefinition: arn, include: ["TAGS"] }),
      ),
    );
    const bundle = described?.tags?.find((tag) => tag.key === API_TAGS.bundle)?.value;
    if (bundle !== undefined) bundles.add(bundle);
    await ignoringGone(() =>
      callAws(deps, "ecs:DeregisterTaskDefinition", () =>
        deps.ports.ecs.deregisterTaskDefinition({ taskDefinition: arn }),
      ),
    );
  }
  if (revisions.length > 0) {
    deps.onProgress?.(`deregistered ${revisions.length} task definition revision(s) of ${family}`);
  }

  if ((await deleteRolloutAlarm(deps, apiName)) === "deleted") found = true;

  // The baseline, which is the API's alone, and the bundle, unless another live service runs it.
  {
    const shared = bundles.size > 0 ? await bundlesOfOtherServices(deps, name) : new Set<string>();
    const keys = [
      baselineKey(apiName),
      apiKeysObjectKey(apiName),
      ...[...bundles].filter((sha) => !shared.has(sha)).map((sha) => bundleKey(sha)),
    ];
    const present: string[] = [];
    for (const key of keys) {
      const listed = await callAws(deps, "s3:ListObjectsV2", () =>
        deps.ports.s3.listObjectsV2({ Bucket: refs.bucketName, Prefix: key, MaxKeys: 1 }),
      );
      if ((listed.Contents ?? []).some((object) => object.Key === key)) present.push(key);
    }
    present.push(
      ...(await callAws(deps, "s3:ListObjectsV2", () =>
        keyUsageObjectKeys(deps.ports.s3, refs.bucketName, apiName),
      )),
    );
    if (present.length > 0) {
      found = true;
      // DeleteObjects takes at most 1,000 keys a request
      // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html).
      for (let at = 0; at < present.length; at += 1000) {
        const batch = present.slice(at, at + 1000);
        await callAws(deps, "s3:DeleteObjects", () =>
          deps.ports.s3.deleteObjects({
            Bucket: refs.bucketName,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        );
      }
      deps.onProgress?.(`deleted ${present.length} object(s) of ${apiName} from the bucket`);
    }
  }
  return found ? "deleted" : "absent";
}

/**
 * The ARNs of the family's ACTIVE revisions, all pages (at most 100 a page,
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTaskDefinitions.html; RULES.md
 * R23), listed whole before the caller deregisters any.
 */
async function activeRevisions(deps: EcsApiDeps, family: string): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await callAws(deps, "ecs:ListTaskDefinitions", () =>
      deps.ports.ecs.listTaskDefinitions({
        familyPrefix: family,
        status: "ACTIVE",
        ...(nextToken === undefined ? {} : { nextToken }),
      }),
    );
    arns.push(
      ...(page.taskDefinitionArns ?? []).filter((arn) => {
        const revision = arn.slice(arn.lastIndexOf("/") + 1);
        return revision.slice(0, revision.lastIndexOf(":")) === family;
      }),
    );
    nextToken = page.nextToken;
  } while (nextToken !== undefined && nextToken !== "");
  return arns;
}

/** The bundles (tag `axon:bundle`) of the cluster's APIs other than `except`. */
async function bundlesOfOtherServices(deps: EcsApiDeps, except: string): Promise<Set<string>> {
  const bundles = new Set<string>();
  for (const { name, tags } of await listApiServices(deps)) {
    const bundle = tags[API_TAGS.bundle];
    if (name !== except && bundle !== undefined) bundles.add(bundle);
  }
  return bundles;
}

function bundleTag(service: Service): string | undefined {
  return service.tags?.find((tag) => tag.key === API_TAGS.bundle)?.value;
}

/** Runs `call`; an answer saying the thing is already gone (or going) counts as done. */
async function ignoringGone<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    if (
      isAwsError(
        error,
        "ServiceNotFoundException",
        "ServiceNotActiveException",
        "RuleNotFoundException",
        "RuleNotFound",
        "TargetGroupNotFoundException",
        "TargetGroupNotFound",
      )
    ) {
      return undefined;
    }
    throw error;
  }
}
