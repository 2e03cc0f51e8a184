/**
 * Issue 27 (3, 4, 5): no config text can stall or crash whoever reads it (the CLI's `validate`,
 * the daemon's `POST /v1/deploy`), and no value that cannot run passes validation. Each case
 * pins the diagnostic: file, line, field, the limit, and what to do.
 */
import { describe, expect, it } from "vitest";
import { apiConfigSchema } from "./schema.js";
import { parseClusterConfig } from "./cluster-config.js";
import { ConfigError, type Diagnostic } from "./diagnostics.js";
import { parseApiConfig } from "./parse-config.js";
import { CONFIG_LIMITS } from "./yaml-limits.js";

/** Every diagnostic of a config that must be rejected. */
function problemsOf(
  text: string,
  parse: (text: string) => unknown = (t) => parseApiConfig(t, "axon.yaml"),
): Diagnostic[] {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).diagnostics;
  }
  throw new Error("expected the config to be rejected");
}

const api = (extra: string, name = "big"): string =>
  `- name: ${name}\n  predictor:\n    type: python\n    path: predictor.py\n${extra}`;

/** `predictor.env` with `count` keys, one a line from line 6 (the file of issue 27: ~1.5 MB). */
function envConfig(count: number): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(`      K${i}: v`);
  return api(`    env:\n${lines.join("\n")}\n`);
}

/** Runs `parse` and prints how long it took: informative only, never asserted. */
function timed<T>(label: string, parse: () => T): T {
  const started = performance.now();
  try {
    return parse();
  } finally {
    console.log(`${label}: ${(performance.now() - started).toFixed(0)} ms`);
  }
}

describe("maps too large to read", () => {
  it("refuses 100,000 env keys at the map's line, naming the field and the limit", () => {
    // Given the 1.5 MB config of issue 27 (100,000 predictor.env keys)
    const text = envConfig(100_000);

    // When parsed (it took minutes, then overflowed the stack)
    const problems = timed("100,000 env keys", () => problemsOf(text));

    // Then one diagnostic at env's first key, naming the limit and what to do
    expect(problems).toEqual([
      {
        file: "axon.yaml",
        line: 6,
        column: 7,
        path: "big.predictor.env",
        message: `holds more than ${CONFIG_LIMITS.maxEntriesPerCollection} keys (line ${6 + CONFIG_LIMITS.maxEntriesPerCollection} is one too many); a config cannot use that many: keep data in a file of the project and read it in the predictor`,
      },
    ]);
  });

  it("refuses 2,000 env keys with the schema's limit on environment variables", () => {
    const problems = timed("2,000 env keys", () => problemsOf(envConfig(2_000)));
    expect(problems).toEqual([
      expect.objectContaining({
        line: 6,
        path: "big.predictor.env",
        message:
          "must have at most 1000 keys (got 2000); keep data in a file of the project and read it in the predictor",
      }),
    ]);
  });

  it("refuses a flow-style map over the limit, naming its field", () => {
    const keys = Array.from({ length: 6_000 }, (_, i) => `K${i}: v`).join(", ");
    expect(problemsOf(api(`    env: {${keys}}\n`))).toEqual([
      expect.objectContaining({
        line: 5,
        path: "big.predictor.env",
        message: expect.stringContaining(
          `more than ${CONFIG_LIMITS.maxEntriesPerCollection} entries`,
        ),
      }),
    ]);
  });

  it("still finds a repeated key at the end of a large map (checked without the reader's quadratic scan)", () => {
    // Given 999 env keys and the first one repeated on the last line
    const text = `${envConfig(999)}      K0: again\n`;
    expect(problemsOf(text)).toEqual([
      expect.objectContaining({
        line: 6 + 999,
        column: 7,
        path: "big.predictor.env",
        message: "repeats the key K0 in the same map; remove one of the two",
      }),
    ]);
  });

  it("refuses a file over the size limit before reading it", () => {
    const text = api(`    config:\n      blob: "${"x".repeat(CONFIG_LIMITS.maxFileBytes)}"\n`);
    expect(problemsOf(text)).toEqual([
      {
        file: "axon.yaml",
        path: "",
        message: `is ${(Buffer.byteLength(text) / 1024 / 1024).toFixed(1)} MiB; a config file may be at most 1.0 MiB: keep data in a file of the project and read it in the predictor's __init__`,
      },
    ]);
  });

  it("refuses more keys and items in all than the file limit, at the line that crosses it", () => {
    // Given 5 lists of 2,500 items each (each list within its own limit)
    const lists = Array.from(
      { length: 5 },
      (_, l) => `      l${l}:\n${Array.from({ length: 2_500 }, () => "        - 1").join("\n")}`,
    );
    const problems = problemsOf(api(`    config:\n${lists.join("\n")}\n`));
    expect(problems).toEqual([
      expect.objectContaining({
        message: expect.stringContaining(
          `holds more than ${CONFIG_LIMITS.maxTotalEntries} keys and list items in all`,
        ),
      }),
    ]);
  });
});

describe("APIs per file", () => {
  const apis = (count: number): string =>
    Array.from({ length: count }, (_, i) => api("", `api-${i}`)).join("");

  it("refuses the 257th API at its line, saying what to do", () => {
    // Given 257 APIs of 4 lines each
    expect(problemsOf(apis(257))).toEqual([
      {
        file: "axon.yaml",
        line: 256 * 4 + 1,
        column: 1,
        path: "",
        message:
          "holds more than 256 APIs (this is number 257); split them over several config files (one per project folder) and deploy each",
      },
    ]);
  });

  it("refuses 5,000 APIs (420 MB to validate before) without validating any", () => {
    const problems = timed("5,000 APIs", () => problemsOf(apis(5_000)));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toContain("more than 256 APIs");
  });

  it("counts a flow-style list of APIs too", () => {
    const flow = `[${Array.from({ length: 300 }, (_, i) => `{name: a${i}}`).join(", ")}]\n`;
    expect(problemsOf(flow)).toEqual([
      expect.objectContaining({
        line: 1,
        message: expect.stringContaining("300 APIs, more than 256"),
      }),
    ]);
  });

  it("states the same limit in the schema editors read", () => {
    expect(apiConfigSchema["maxItems"]).toBe(CONFIG_LIMITS.maxApisPerFile);
  });
});

describe("deep nesting refused before the YAML reader", () => {
  it("refuses 3,000 block list items on one line followed by a less-indented key", () => {
    // Given the text that overflowed the YAML reader's stack ("this looks like a bug in axon")
    const text = api(`    config:\n      a:\n        ${"- ".repeat(3_000)}x\n      b: 1\n`);

    // When parsed, then one diagnostic at that line and the column of level 65, no stack overflow
    const problems = problemsOf(text);
    expect(problems).toEqual([
      {
        file: "axon.yaml",
        line: 7,
        // Levels 1-4 are the file's list, the API, predictor and config's map; the 61st `- `
        // opens level 65.
        column: 9 + 60 * 2,
        path: "",
        message: `nests maps and lists more than ${CONFIG_LIMITS.maxNestingDepth} levels deep here; flatten this value (a config needs far fewer levels)`,
      },
    ]);
  });

  it("refuses it at the top of the file and in cluster.yaml, which share the reader", () => {
    const text = `${"- ".repeat(3_000)}x\nb: 1\n`;
    expect(problemsOf(text)[0]).toMatchObject({
      line: 1,
      message: expect.stringContaining("levels deep"),
    });
    const cluster = problemsOf(text, (t) => parseClusterConfig(t, "cluster.yaml"));
    expect(cluster[0]).toMatchObject({
      file: "cluster.yaml",
      line: 1,
      message: expect.stringContaining("levels deep"),
    });
  });

  it("refuses 3,000 maps nested by indentation at the line of level 65", () => {
    const lines = Array.from({ length: 3_000 }, (_, i) => `${" ".repeat(i)}k:`);
    expect(problemsOf(`${lines.join("\n")} 1\n`)).toEqual([
      expect.objectContaining({ line: 65, message: expect.stringContaining("levels deep") }),
    ]);
  });

  it("does not count what only looks like nesting: block scalars, quotes, comments", () => {
    // Given a valid config whose text holds many `- ` and brackets that are not structure
    const dashes = Array.from({ length: 100 }, (_, i) => `${" ".repeat(8 + i)}- - - - -`);
    const text = api(
      [
        "    config:",
        "      script: |",
        ...dashes,
        `      quoted: "${"[".repeat(100)}"`,
        `      single: '${"{".repeat(100)} it''s'`,
        `      multi: "${"[".repeat(70)}`,
        `        ${"{".repeat(70)} still the string"`,
        `      commented: 1 # ${"[".repeat(100)}`,
        "      list:",
        "      - a",
        "      - [b, {c: d}]",
        "      after: x",
        "",
      ].join("\n"),
    );

    // When parsed, then it is accepted with its values intact
    const { apis } = parseApiConfig(text, "axon.yaml");
    expect(apis[0]?.predictor.config).toMatchObject({
      quoted: "[".repeat(100),
      list: ["a", ["b", { c: "d" }]],
      after: "x",
    });
  });
  it("accepts a file written as JSON nested exactly to the limit", () => {
    // Given the list, the API, predictor and config (4 levels), then `inside` more
    const json = (inside: number): string =>
      `[{"name": "iris", "predictor": {"type": "python", "path": "p.py", "config": {"a": ${"[".repeat(inside)}${"]".repeat(inside)}}}}]\n`;
    expect(() => parseApiConfig(json(60), "axon.yaml")).not.toThrow();
    // And one level more is refused
    expect(problemsOf(json(61))[0]?.message).toContain("levels deep");
  });

  it("counts an explicit key and its value (`? key` / `: value`) as one entry of one level", () => {
    const entries = Array.from({ length: 3_000 }, (_, i) => `      ? k${i}\n      : v`).join("\n");
    const { apis } = parseApiConfig(api(`    config:\n${entries}\n`), "axon.yaml");
    expect(Object.keys(apis[0]?.predictor.config ?? {})).toHaveLength(3_000);
  });
});

describe("values no process can be started with", () => {
  it("refuses an env var name of 200,000 characters, shortening it in the message", () => {
    // Given the name of issue 27 (validate passed it, then spawn failed with E2BIG every 30 s)
    const name = "A".repeat(200_000);
    const problems = problemsOf(api(`    env: {"${name}": x}\n`));
    expect(problems).toEqual([
      {
        file: "axon.yaml",
        line: 5,
        column: 11,
        path: `big.predictor.env.${"A".repeat(40)}…(200000 characters)`,
        message: "is a name of 200000 characters; names may be at most 256 characters long",
      },
    ]);
  });

  it("refuses NAME=value over Linux's 131072-byte limit for one string, counting bytes", () => {
    // Given 65,536 two-byte characters: within 131072 characters, but 131072 bytes + "X=" + NUL
    const problems = problemsOf(api(`    env:\n      X: "${"é".repeat(65_536)}"\n`));
    expect(problems).toEqual([
      expect.objectContaining({
        line: 6,
        path: "big.predictor.env.X",
        message:
          "is 131075 bytes as X=value, more than the 131072 bytes Linux passes in one environment variable (execve: E2BIG); put the value in a file of the project and read it in the predictor",
      }),
    ]);
  });

  it("refuses an environment over 1 MiB in all, which aliases can build from a small file", () => {
    // Given one 100,000-byte value repeated under 11 names
    const names = Array.from({ length: 10 }, (_, i) => `      V${i}: *big`).join("\n");
    const text = api(`    env:\n      V: &big "${"x".repeat(100_000)}"\n${names}\n`);
    expect(problemsOf(text)).toEqual([
      expect.objectContaining({
        line: 6,
        path: "big.predictor.env",
        message: expect.stringMatching(
          /^adds up to 1100\d{3} bytes with predictor.config, more than the 1048576 bytes of environment an API may give its workers .*execve: E2BIG/,
        ),
      }),
    ]);
  });

  it("refuses a predictor.config too large for the variable that carries it to the worker", () => {
    const problems = problemsOf(api(`    config:\n      labels: "${"x".repeat(131_072)}"\n`));
    expect(problems).toEqual([
      expect.objectContaining({
        line: 6,
        path: "big.predictor.config",
        message: expect.stringContaining(
          "more than the 131072 bytes a worker can receive it in (it is passed as the environment variable AXON_PREDICTOR_CONFIG; execve: E2BIG)",
        ),
      }),
    ]);
  });

  it.each([
    [
      "max_upscale_factor: 1e308",
      "max_upscale_factor",
      "must be less than or equal to 1000 (got 1e+308)",
    ],
    [
      "upscale_tolerance: 9007199254740993",
      "upscale_tolerance",
      "must be less than or equal to 1000 (got 9007199254740992)",
    ],
    ["max_downscale_factor: 1", "max_downscale_factor", "must be less than 1 (got 1)"],
    ["max_upscale_factor: 1", "max_upscale_factor", "must be greater than 1 (got 1)"],
  ])("refuses autoscaling %s", (line, field, message) => {
    expect(problemsOf(api(`  autoscaling:\n    ${line}\n`))).toEqual([
      expect.objectContaining({ line: 6, path: `big.autoscaling.${field}`, message }),
    ]);
  });

  it.each(["max_downscale_factor: 0", "max_downscale_factor: 1e-300", "max_upscale_factor: 1000"])(
    "accepts %s, within Cortex's own bounds",
    (line) => {
      // Cortex 0.20 took max_downscale_factor in [0, 1): 0 means "no limit on one scale-down"
      expect(() => parseApiConfig(api(`  autoscaling:\n    ${line}\n`), "axon.yaml")).not.toThrow();
    },
  );
});
