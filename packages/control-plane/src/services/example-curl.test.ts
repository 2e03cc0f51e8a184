import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { exampleCurl, sampleCurl } from "./example-curl.js";

const ENDPOINT = "http://localhost:8888/iris";

async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "axon sample-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

describe("example curl", () => {
  it("sends the project's own sample file, by a path that works from any folder", async () => {
    // Given a project (in a folder whose name has a space) with a sample_request.json only
    const dir = await project({ "sample_request.json": "[1]", "predictor.py": "" });

    // When the curl is made
    const curl = sampleCurl(ENDPOINT, dir);

    // Then it names that file, quoted for the shell
    expect(curl).toBe(
      `curl ${ENDPOINT} -X POST -H "Content-Type: application/json" -d @'${path.join(dir, "sample_request.json")}'`,
    );
  });

  it("prefers sample.json, and names no file when the project has none", async () => {
    // Given one project with sample.json and payload.json, and one with no JSON at all
    const both = await project({ "payload.json": "{}", "sample.json": "{}" });
    const none = await project({ "predictor.py": "" });

    // Then the first gets sample.json; the second no deploy hint and a placeholder in `get`
    expect(sampleCurl(ENDPOINT, both)).toContain(`-d @'${path.join(both, "sample.json")}'`);
    expect(sampleCurl(ENDPOINT, none)).toBeNull();
    expect(sampleCurl(ENDPOINT, null)).toBeNull();
    expect(exampleCurl(ENDPOINT, none)).toBe(
      `curl ${ENDPOINT} -X POST -H "Content-Type: application/json" -d '<your JSON payload>'`,
    );
  });

  it("for an api that requires keys, sends the key from $AXON_API_KEY and never a key", async () => {
    // Given a project with a sample file, and one without
    const dir = await project({ "sample.json": "[1]" });
    const none = await project({});
    // When the curls are made for an api with networking.auth: api_key
    const withSample = sampleCurl(ENDPOINT, dir, { requiresKey: true });
    const placeholder = exampleCurl(ENDPOINT, none, { requiresKey: true });
    // Then both carry the Bearer header with the variable, in double quotes so the shell expands it
    expect(withSample).toBe(
      `curl ${ENDPOINT} -X POST -H "Content-Type: application/json" -H "Authorization: Bearer $AXON_API_KEY" -d @'${path.join(dir, "sample.json")}'`,
    );
    expect(placeholder).toBe(
      `curl ${ENDPOINT} -X POST -H "Content-Type: application/json" -H "Authorization: Bearer $AXON_API_KEY" -d '<your JSON payload>'`,
    );
    // And an api without keys gets no header
    expect(exampleCurl(ENDPOINT, none)).not.toContain("Authorization");
  });
});
