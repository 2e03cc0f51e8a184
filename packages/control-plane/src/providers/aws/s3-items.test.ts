/** S3 item sources on a real moto S3 (shared/reference/moto.md): listing, globs, paging, NDJSON. */
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, describe, expect, it } from "vitest";
import { DomainError } from "../../errors.js";
import { connectAws } from "./sdk.js";
import { motoAvailable, startMoto, type MotoServer } from "./testing/moto-server.js";
import {
  BATCH_DELIMITED_LINE_INVALID,
  BATCH_S3_NOTHING_MATCHED,
  BATCH_S3_PATH_INVALID,
  BATCH_S3_READ_FAILED,
  delimitedFileBatches,
  filePathBatches,
  listS3Objects,
  toPicomatchGlob,
  type S3ItemsPort,
} from "./s3-items.js";

const HAS_MOTO = motoAvailable();
let server: Promise<MotoServer> | undefined;
afterAll(async () => {
  await (await server)?.stop();
});

/** One moto for the file, started by the first test that needs it (each test has its own bucket). */
async function s3With(bucket: string, objects: Record<string, string>): Promise<S3ItemsPort> {
  server ??= startMoto();
  const moto = await server;
  const env = moto.awsEnv();
  const client = new S3Client({
    region: "us-east-1",
    endpoint: moto.url,
    forcePathStyle: true,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const [key, body] of Object.entries(objects)) {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  }
  client.destroy();
  return (await connectAws("us-east-1", env)).s3;
}

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of source) out.push(value);
  return out;
}

async function failure(source: AsyncIterable<unknown>): Promise<DomainError> {
  try {
    await collect(source);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected the source to fail");
}

const IMAGES = {
  "images/img_1.png": "1",
  "images/img_2.jpg": "2",
  "images/img_3.jpg": "3",
  "images/img_4.gif": "4",
  "images/deeper/img_5.jpg": "5",
  "other/img_6.jpg": "6",
};

describe("Cortex's globs in picomatch's dialect", () => {
  it("Given Cortex's documented patterns, When translated, Then a ** running into a name gets a /* and whole-segment ones are kept", () => {
    expect(toPicomatchGlob("**.jpg")).toBe("**/*.jpg");
    expect(toPicomatchGlob("**_3.jpg")).toBe("**/*_3.jpg");
    expect(toPicomatchGlob("s3://bucket/**/x.jpg")).toBe("s3://bucket/**/x.jpg");
    expect(toPicomatchGlob("s3://bucket/images/*")).toBe("s3://bucket/images/*");
  });

  it("Given a path that is not s3://, When listed, Then it is a 400 naming the path and its index", async () => {
    const port: S3ItemsPort = {
      listObjectsV2: () => Promise.reject(new Error("no call expected")),
      getObjectBytes: () => Promise.reject(new Error("no call expected")),
    };
    const error = await failure(listS3Objects(port, { s3_paths: ["s3://ok/", "bucket/images"] }));
    expect(error.code).toBe(BATCH_S3_PATH_INVALID);
    expect(error.message).toBe('s3_paths[1] has "bucket/images", which is not an S3 path');
  });
});

describe.skipIf(!HAS_MOTO)("S3 item sources on moto (skipped when python3 has no moto)", () => {
  it("Given Cortex's images folder, When listed with includes **.jpg and excludes **_3.jpg, Then only the other JPEGs under the prefix are batched", async () => {
    // Given
    const s3 = await s3With("globs", IMAGES);
    // When
    const batches = await collect(
      filePathBatches(s3, {
        s3_paths: ["s3://globs/images/"],
        includes: ["**.jpg"],
        excludes: ["**_3.jpg"],
        batch_size: 1,
      }),
    );
    // Then: img_3 excluded, png/gif not included, other/ not under the prefix
    expect(batches).toEqual([
      ["s3://globs/images/deeper/img_5.jpg"],
      ["s3://globs/images/img_2.jpg"],
    ]);
  });

  it("Given a key prefix, a full key and an overlap, When listed with no filters, Then each object is given once, in batches of batch_size", async () => {
    const s3 = await s3With("prefixes", IMAGES);
    const batches = await collect(
      filePathBatches(s3, {
        s3_paths: [
          "s3://prefixes/images/img",
          "s3://prefixes/images/img_2.jpg",
          "s3://prefixes/other/img_6.jpg",
        ],
        batch_size: 3,
      }),
    );
    expect(batches).toEqual([
      [
        "s3://prefixes/images/img_1.png",
        "s3://prefixes/images/img_2.jpg",
        "s3://prefixes/images/img_3.jpg",
      ],
      ["s3://prefixes/images/img_4.gif", "s3://prefixes/other/img_6.jpg"],
    ]);
  });

  it("Given 7 objects and pages of 2 keys, When listed, Then the continuation token is followed to the last page", async () => {
    const objects = Object.fromEntries(
      Array.from({ length: 7 }, (_, index) => [`p/${index}.txt`, String(index)]),
    );
    const s3 = await s3With("paging", objects);
    const listed = await collect(
      listS3Objects(s3, { s3_paths: ["s3://paging/p/"] }, { pageKeys: 2 }),
    );
    expect(listed.map((object) => object.key)).toEqual(Object.keys(objects));
  });

  it("Given an empty prefix, When listed, Then the job fails with the reason naming the paths", async () => {
    const s3 = await s3With("empty", IMAGES);
    const error = await failure(
      filePathBatches(s3, { s3_paths: ["s3://empty/nothing/"], batch_size: 10 }),
    );
    expect(error.code).toBe(BATCH_S3_NOTHING_MATCHED);
    expect(error.status).toBe(400);
    expect(error.message).toBe('no S3 object found under s3_paths ["s3://empty/nothing/"]');
  });

  it("Given objects the filters all reject, When listed, Then the reason names the count and the filters", async () => {
    const s3 = await s3With("filtered", IMAGES);
    const error = await failure(
      filePathBatches(s3, {
        s3_paths: ["s3://filtered/images/"],
        includes: ["*.jpg"],
        batch_size: 10,
      }),
    );
    expect(error.code).toBe(BATCH_S3_NOTHING_MATCHED);
    expect(error.message).toBe(
      'none of the 5 S3 objects under s3_paths ["s3://filtered/images/"] matched includes ["*.jpg"]',
    );
    expect(error.hint).toContain("whole s3://bucket/key path");
  });

  it("Given a bucket that does not exist, When listed, Then S3's refusal is a 400 naming the path", async () => {
    const s3 = await s3With("exists", {});
    const error = await failure(listS3Objects(s3, { s3_paths: ["s3://no-such-bucket-here/x"] }));
    expect(error.code).toBe(BATCH_S3_READ_FAILED);
    expect(error.message).toMatch(
      /^S3 refused to read s3:\/\/no-such-bucket-here\/x: NoSuchBucket/,
    );
  });

  it("Given two NDJSON files of 3 and 2 objects, When read as delimited_files in batches of 2, Then batches span files and blank lines are skipped", async () => {
    const s3 = await s3With("ndjson", {
      "rows/a.jsonl": '{"id":1}\n{"id":2}\n\n{"id":3}\n',
      "rows/b.jsonl": '{"id":4}\n{"id":5}',
      "rows/readme.txt": "not rows",
    });
    const batches = await collect(
      delimitedFileBatches(s3, {
        s3_paths: ["s3://ndjson/rows/"],
        includes: ["**.jsonl"],
        batch_size: 2,
      }),
    );
    expect(batches).toEqual([[{ id: 1 }, { id: 2 }], [{ id: 3 }, { id: 4 }], [{ id: 5 }]]);
  });

  it("Given a file whose third line is broken and another whose line is an array, When read, Then each error names the file and the line", async () => {
    const s3 = await s3With("badlines", {
      "a/bad.jsonl": '{"id":1}\n{"id":2}\n{"id":\n',
      "b/array.jsonl": '{"id":1}\n[1,2]\n',
    });
    const broken = await failure(
      delimitedFileBatches(s3, { s3_paths: ["s3://badlines/a/"], batch_size: 100 }),
    );
    expect(broken.code).toBe(BATCH_DELIMITED_LINE_INVALID);
    expect(broken.message).toMatch(/^s3:\/\/badlines\/a\/bad\.jsonl line 3 is not JSON \(/);
    const array = await failure(
      delimitedFileBatches(s3, { s3_paths: ["s3://badlines/b/"], batch_size: 100 }),
    );
    expect(array.message).toBe("s3://badlines/b/array.jsonl line 2 is an array, not a JSON object");
  });
});
