import { describe, expect, it } from "vitest";
import { ConfigError } from "./diagnostics.js";
import { parseApiConfig } from "./parse-config.js";
import { parseApiConfigOffThread } from "./parse-off-thread.js";

// The worker thread runs the built JavaScript (packages/config/dist): `npm run build` first.

const CONFIG = `- name: iris
  predictor:
    type: python
    path: predictor.py
    python_path: lib/
    env:
      MODEL: small
`;

describe("parseApiConfigOffThread", () => {
  it("gives what parseApiConfig gives, asking the caller about project files", async () => {
    // Given a project that has predictor.py and lib/
    const asked: string[] = [];
    const fileExists = (relativePath: string): boolean => {
      asked.push(relativePath);
      return relativePath === "predictor.py" || relativePath === "lib/";
    };

    // When the config is parsed on a worker thread
    const parsed = await parseApiConfigOffThread(CONFIG, "axon.yaml", { fileExists });

    // Then the APIs are the same as on this thread, and each path was asked here
    expect(parsed).toEqual(parseApiConfig(CONFIG, "axon.yaml", { fileExists }));
    expect(new Set(asked)).toEqual(new Set(["predictor.py", "lib/"]));
  });

  it("rejects with every diagnostic, as a ConfigError", async () => {
    // Given a project without predictor.py and a config with a bad replica count
    const text = `${CONFIG}  autoscaling:\n    min_replicas: -1\n`;

    // When parsed on a worker thread
    const error: unknown = await parseApiConfigOffThread(text, "axon.yaml", {
      fileExists: (relativePath) => relativePath === "lib/",
    }).catch((caught: unknown) => caught);

    // Then the same diagnostics as on this thread
    expect(error).toBeInstanceOf(ConfigError);
    let expected: unknown;
    try {
      parseApiConfig(text, "axon.yaml", { fileExists: (relativePath) => relativePath === "lib/" });
    } catch (caught) {
      expected = (caught as ConfigError).diagnostics;
    }
    expect((error as ConfigError).diagnostics).toEqual(expected);
    expect((error as ConfigError).diagnostics).toHaveLength(2);
  });

  it("refuses a config it could not check in time, and stops the worker", async () => {
    // Given a timeout no worker can start within (1 ms)
    const error: unknown = await parseApiConfigOffThread(CONFIG, "axon.yaml", {
      timeoutMs: 1,
    }).catch((caught: unknown) => caught);

    // Then a ConfigError saying so, with what to do
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).diagnostics).toEqual([
      {
        file: "axon.yaml",
        path: "",
        message:
          "took more than 0.001 s to check, so it was not deployed; make it smaller (docs/limits.md)",
      },
    ]);
  });

  it("passes an error of the caller's fileExists on, without leaving the worker asleep", async () => {
    const error: unknown = await parseApiConfigOffThread(CONFIG, "axon.yaml", {
      fileExists: () => {
        throw new Error("disk gone");
      },
    }).catch((caught: unknown) => caught);
    expect(error).toEqual(new Error("disk gone"));
  });
});
