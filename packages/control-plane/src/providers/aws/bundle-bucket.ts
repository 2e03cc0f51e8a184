/**
 * The cluster's bundle bucket: emptied before the stack is deleted (CloudFormation cannot delete a
 * bucket that holds objects). The bucket is not versioned, so deleting the listed keys empties it.
 */
import { callAws, type AwsCallDeps } from "./cluster-stack.js";
import type { S3Port } from "./sdk.js";

/** Deletes every object in `bucket`, 1,000 per call; returns how many there were. */
export async function emptyBundleBucket(
  deps: AwsCallDeps & { s3: S3Port },
  bucket: string,
): Promise<number> {
  let deleted = 0;
  for (;;) {
    const page = await callAws(deps, "s3:ListObjectsV2", () =>
      deps.s3.listObjectsV2({ Bucket: bucket, MaxKeys: 1000 }),
    );
    const keys = (page.Contents ?? []).flatMap((object) =>
      object.Key === undefined ? [] : [{ Key: object.Key }],
    );
    if (keys.length === 0) return deleted;
    await callAws(deps, "s3:DeleteObjects", () =>
      deps.s3.deleteObjects({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }),
    );
    deleted += keys.length;
  }
}
