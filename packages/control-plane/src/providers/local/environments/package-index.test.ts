/** The package-index check before pip: real DNS for a name that never resolves, and the rules. */
import { describe, expect, it } from "vitest";
import { checkPackageIndex } from "./package-index.js";

describe("checkPackageIndex", () => {
  it("turns pip's retries off when the index's host does not resolve", async () => {
    // Given an index under .invalid, which no resolver answers (RFC 2606)
    const env = { PIP_INDEX_URL: "https://axon-test.invalid/simple" };

    // When it is checked, with the real resolver
    const check = await checkPackageIndex(env);

    // Then pip gets --retries 0 and the note names the host
    expect(check?.host).toBe("axon-test.invalid");
    expect(check?.pipArgs).toEqual(["--retries", "0"]);
    expect(check?.note).toMatch(/^the package index axon-test\.invalid does not resolve/);
  });

  it("leaves pip alone when the host resolves, or fails to resolve for another reason", async () => {
    // Given a resolver that answers, and one that fails without saying the name is unknown
    const answers = async (): Promise<unknown> => ({ address: "127.0.0.1" });
    const refuses = async (): Promise<unknown> => {
      throw Object.assign(new Error("refused"), { code: "ECONNREFUSED" });
    };

    // When PyPI (the default index) is checked with each
    // Then neither adds arguments
    expect(await checkPackageIndex({}, answers)).toEqual({
      host: "pypi.org",
      pipArgs: [],
      note: undefined,
    });
    expect((await checkPackageIndex({}, refuses))?.pipArgs).toEqual([]);
  });

  it("asks nothing with PIP_NO_INDEX, the user's own PIP_RETRIES, or a file:// index", async () => {
    // Given a resolver that would fail the test if asked
    const never = async (): Promise<unknown> => {
      throw new Error("no lookup expected");
    };

    // When the user's settings make the check moot
    // Then it is skipped
    expect(await checkPackageIndex({ PIP_NO_INDEX: "1" }, never)).toBeUndefined();
    expect(await checkPackageIndex({ PIP_RETRIES: "3" }, never)).toBeUndefined();
    expect(
      await checkPackageIndex({ PIP_INDEX_URL: "file:///opt/pypi/simple" }, never),
    ).toBeUndefined();
  });
});
