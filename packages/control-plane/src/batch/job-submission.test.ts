import { describe, expect, it } from "vitest";
import { DomainError, JOB_INVALID } from "../errors.js";
import {
  JOB_SOURCE_NOT_AVAILABLE,
  MAX_BATCH_BYTES,
  jobBatches,
  validateSubmission,
} from "./job-submission.js";

/** The message of the DomainError `body` is refused with (fails when it is accepted). */
function refusal(body: unknown): string {
  try {
    validateSubmission(body);
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe(JOB_INVALID);
    expect((error as DomainError).status).toBe(400);
    return (error as DomainError).message;
  }
  throw new Error("expected the submission to be refused");
}

async function collect(batches: AsyncGenerator<unknown[]>): Promise<unknown[][]> {
  const out: unknown[][] = [];
  for await (const batch of batches) out.push(batch);
  return out;
}

describe("validateSubmission", () => {
  it("Given a Cortex 0.20 item_list submission, When read, Then it is kept as is and cut in batch_size slices", async () => {
    // Given 5 items in batches of 2, with a job config
    const body = {
      workers: 2,
      item_list: { items: [1, 2, 3, 4, 5], batch_size: 2 },
      config: { k: 1 },
    };
    // When read and cut
    const submission = validateSubmission(body);
    const batches = await collect(jobBatches(submission));
    // Then three batches, the last shorter
    expect(submission).toEqual(body);
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it.each([
    [
      { item_list: { items: [1], batch_size: 1 } },
      "workers must be provided: an integer in [1, 100]",
    ],
    [
      { workers: 0, item_list: { items: [1], batch_size: 1 } },
      "workers must be an integer in [1, 100] (got 0)",
    ],
    [
      { workers: 1, item_list: { items: [1], batch_size: 1.5 } },
      "item_list.batch_size must be an integer in [1, 100000] (got 1.5)",
    ],
    [
      { workers: 1, item_list: { items: [], batch_size: 1 } },
      "item_list.items must hold at least one item",
    ],
    [
      { workers: 1, item_list: { items: "a,b", batch_size: 1 } },
      'item_list.items must be a list of items (got "a,b")',
    ],
    [{ workers: 1 }, "one of item_list, file_path_lister and delimited_files must be provided"],
    [
      {
        workers: 1,
        item_list: { items: [1], batch_size: 1 },
        delimited_files: { s3_paths: ["s3://b/"], batch_size: 1 },
      },
      "only one of item_list, file_path_lister and delimited_files may be provided (got item_list and delimited_files)",
    ],
    [
      { workers: 1, item_list: { items: [1], batch_size: 1 }, retries: 2 },
      "key retries is not supported",
    ],
    [
      { workers: 1, item_list: { items: [1], batch_size: 1 }, max_retries: 11 },
      "max_retries must be an integer in [0, 10] (got 11)",
    ],
    [
      { workers: 1, item_list: { items: [1], batch_size: 1 }, timeout: 0 },
      "timeout must be an integer in [1, 43200] (got 0)",
    ],
    [
      { workers: 1, file_path_lister: { s3_paths: ["bucket/x"], batch_size: 1 } },
      'file_path_lister.s3_paths[0] must be an S3 path like s3://bucket/prefix (got "bucket/x")',
    ],
    [
      { workers: 1, item_list: { items: [1], batch_size: 1 }, config: [1] },
      "config must be a JSON object",
    ],
    [[1, 2], "the job submission must be a JSON object"],
  ])("Given %j, When read, Then it is a 400 saying %s", (body, fragment) => {
    expect(refusal(body)).toContain(fragment);
  });

  it("Given a batch above 256 KiB as JSON, When read, Then the batch and the bound are named with what to lower", () => {
    // Given 2 items of 150 KiB each in one batch
    const big = "x".repeat(150 * 1024);
    // When read
    const message = refusal({ workers: 1, item_list: { items: [big, big], batch_size: 2 } });
    // Then the batch, its size and the bound
    expect(message).toContain(`the batch of items 0–1 is`);
    expect(message).toContain(`more than ${MAX_BATCH_BYTES} (256 KiB)`);
    expect(message).toContain("lower item_list.batch_size (now 2)");
  });

  it("Given an S3 source and no S3 client, When its batches are asked for, Then it says the listing is not available here (501)", async () => {
    // Given a valid file_path_lister submission
    const submission = validateSubmission({
      workers: 1,
      file_path_lister: { s3_paths: ["s3://bucket/images/"], includes: ["**.jpg"], batch_size: 4 },
    });
    // When its batches are asked for
    const error = await collect(jobBatches(submission)).catch((caught: unknown) => caught);
    // Then a 501 with its own code
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe(JOB_SOURCE_NOT_AVAILABLE);
    expect((error as DomainError).status).toBe(501);
  });
});
