import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadApiConfigFile } from "./config-file.js";
import { ConfigError, type Diagnostic } from "./diagnostics.js";
import { parseApiConfig } from "./parse-config.js";
import { decodeConfigBytes, MAX_NESTING_DEPTH } from "./yaml-limits.js";

/** Every diagnostic of a config that must be rejected. */
function problemsOf(text: string): Diagnostic[] {
  try {
    parseApiConfig(text, "axon.yaml");
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).diagnostics;
  }
  throw new Error("expected the config to be rejected");
}

const api = (extra: string): string =>
  `- name: iris\n  predictor:\n    type: python\n    path: predictor.py\n${extra}`;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("upper bounds", () => {
  it.each([
    [
      "autoscaling:\n    min_replicas: 10000",
      "iris.autoscaling.min_replicas",
      "must be less than or equal to 1000 (got 10000)",
    ],
    [
      "autoscaling:\n    max_replicas: 5000",
      "iris.autoscaling.max_replicas",
      "must be less than or equal to 1000 (got 5000)",
    ],
    [
      "predictor:\n    threads_per_process: 1000000000",
      "iris.predictor.threads_per_process",
      "must be less than or equal to 1024 (got 1000000000)",
    ],
    [
      "compute:\n    mem: 1000000Ti",
      "iris.compute.mem",
      "must be less than or equal to 4Ti (got 1000000Ti)",
    ],
    [
      "compute:\n    cpu: 100000",
      "iris.compute.cpu",
      "must be less than or equal to 512 (got 100000)",
    ],
    ["compute:\n    cpu: 1e400", "iris.compute.cpu", "must be a finite number (got Infinity)"],
    ["compute:\n    gpu: 64", "iris.compute.gpu", "must be less than or equal to 16 (got 64)"],
    [
      "autoscaling:\n    window: 9999h",
      "iris.autoscaling.window",
      "must be less than or equal to 1h (got 9999h)",
    ],
    [
      "autoscaling:\n    downscale_stabilization_period: 100000h",
      "iris.autoscaling.downscale_stabilization_period",
      "must be less than or equal to 24h (got 100000h)",
    ],
  ])("refuses %s", (fields, field, message) => {
    // Given an API with one value far beyond what a replica can be
    const text = fields.startsWith("predictor:")
      ? api(`    ${fields.split("\n")[1]?.trim() ?? ""}\n`)
      : api(`  ${fields}\n`);

    // When it is parsed, then that field is named with the limit
    expect(problemsOf(text)).toContainEqual(expect.objectContaining({ path: field, message }));
  });
});

describe("environment variables", () => {
  it.each([
    ['"A=B": x', "iris.predictor.env.A=B", '"A=B" is not a valid environment variable name'],
    ['"": x', "iris.predictor.env.", '"" is not a valid environment variable name'],
    ['"1ST": x', "iris.predictor.env.1ST", '"1ST" is not a valid environment variable name'],
    ["LD_PRELOAD: /tmp/evil.so", "iris.predictor.env.LD_PRELOAD", "LD_PRELOAD is reserved"],
    ["PYTHONHOME: /opt", "iris.predictor.env.PYTHONHOME", "PYTHONHOME is reserved"],
    ['X: "a\\0b"', "iris.predictor.env.X", "must not contain a NUL character"],
  ])("refuses %s", (entry, field, fragment) => {
    // Given an env entry no worker should get, when parsed, then it is named with the reason
    const problems = problemsOf(api(`    env:\n      ${entry}\n`));
    expect(problems).toContainEqual(
      expect.objectContaining({ path: field, line: 6, message: expect.stringContaining(fragment) }),
    );
  });

  it("accepts PYTHONPATH and Kubernetes-style names", () => {
    // Given names Cortex passed through, when parsed, then they are kept
    const { apis } = parseApiConfig(
      api(`    env:\n      PYTHONPATH: lib\n      my.setting-1: "on"\n      _X: "1"\n`),
      "axon.yaml",
    );
    expect(apis[0]?.predictor.env).toEqual({ PYTHONPATH: "lib", "my.setting-1": "on", _X: "1" });
  });
});

describe("deep nesting", () => {
  it("refuses a flow value nested past the limit, at its line", () => {
    // Given predictor.config nested 200 levels in flow style (1 KB)
    const deep = `${"{a: ".repeat(200)}1${"}".repeat(200)}`;

    // When parsed, then one located diagnostic, not a stack overflow
    expect(problemsOf(api(`    config: ${deep}\n`))).toEqual([
      expect.objectContaining({
        line: 5,
        message: expect.stringContaining(`more than ${MAX_NESTING_DEPTH} levels deep`),
      }),
    ]);
  });

  it("refuses a 6 KB list nested 3,000 levels, which the YAML reader itself cannot hold", () => {
    const problems = problemsOf(`${"[".repeat(3000)}${"]".repeat(3000)}`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 1, message: expect.stringContaining("levels deep") });
    expect(problems[0]?.message).not.toContain("call stack");
  });

  it("refuses block-style nesting past the limit at the line where it crosses it", () => {
    // Given 80 nested block maps under predictor.config (line 6 is the first level)
    const lines = Array.from({ length: 80 }, (_, i) => `${" ".repeat(6 + i * 2)}a:`);
    const problems = problemsOf(api(`    config:\n${lines.join("\n")} 1\n`));

    // Then the line named is where level 65 begins: the list, the API and predictor (lines 1-2),
    // then config's map on line 6 is level 4, so level L sits on line L + 2
    expect(problems).toEqual([expect.objectContaining({ line: MAX_NESTING_DEPTH + 1 + 2 })]);
  });

  it("counts depth through aliases, so a chain of anchors cannot hide it", () => {
    // Given 10 anchors, each 10 levels deep and holding the previous one: 100 levels, 1 KB
    const anchors = ["x0: &a0 1"];
    for (let i = 1; i <= 10; i++) {
      anchors.push(`x${i}: &a${i} ${"[".repeat(10)}*a${i - 1}${"]".repeat(10)}`);
    }
    const text = api(`    config:\n${anchors.map((line) => `      ${line}`).join("\n")}\n`);
    expect(problemsOf(text)[0]?.message).toContain("levels deep");
  });

  it("accepts a config nested exactly to the limit", () => {
    // 4 levels to reach predictor.config's value, 60 inside it
    const inner = `${"[".repeat(MAX_NESTING_DEPTH - 4)}${"]".repeat(MAX_NESTING_DEPTH - 4)}`;
    expect(() =>
      parseApiConfig(api(`    config: {a: ${inner.slice(1, -1)}}\n`), "axon.yaml"),
    ).not.toThrow();
  });
});

describe("file text", () => {
  it("names a repeated key", () => {
    const problems = problemsOf(`${api("")}  compute:\n    cpu: 1\n    cpu: 2\n`);
    expect(problems).toEqual([
      expect.objectContaining({
        line: 7,
        message: "repeats the key cpu in the same map; remove one of the two",
      }),
    ]);
  });

  it("refuses bytes that are not UTF-8, naming the line and column", () => {
    // Given a config saved as Latin-1: "café" has a lone 0xE9 byte on line 6
    const head = Buffer.from(api("    config:\n      greeting: caf"), "utf8");
    const bytes = Buffer.concat([head, Buffer.from([0xe9]), Buffer.from("\n")]);

    // When decoded
    let diagnostics: Diagnostic[] = [];
    try {
      decodeConfigBytes(bytes, "axon.yaml");
    } catch (error) {
      diagnostics = (error as ConfigError).diagnostics;
    }

    // Then the line and column of the byte are named, with what to do
    expect(diagnostics).toEqual([
      expect.objectContaining({
        file: "axon.yaml",
        line: 6,
        column: 20,
        message: expect.stringContaining("byte 0xE9"),
      }),
    ]);
    expect(diagnostics[0]?.message).toContain("save the file as UTF-8");
  });

  it.each([
    ["an overlong encoding", [0xc0, 0xaf]],
    ["a UTF-16 surrogate", [0xed, 0xa0, 0x80]],
    ["a sequence cut short", [0xe2, 0x82]],
  ])("refuses %s", (_name, tail) => {
    expect(() => decodeConfigBytes(Buffer.from([0x61, ...tail]), "axon.yaml")).toThrow(ConfigError);
  });

  it("decodes UTF-8 with a byte-order mark and multi-byte characters", () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("x: café 🌍\n")]);
    expect(decodeConfigBytes(bytes, "axon.yaml")).toBe("x: café 🌍\n");
  });

  it("loads a file from disk through the same check", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "axon-config-"));
    dirs.push(dir);
    const file = path.join(dir, "axon.yaml");
    writeFileSync(file, Buffer.concat([Buffer.from("- name: caf"), Buffer.from([0xe9])]));
    expect(() => loadApiConfigFile(file)).toThrow(/axon.yaml:1:12: is not UTF-8 text/);
  });
});
