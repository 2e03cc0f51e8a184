import { describe, expect, it } from "vitest";
import { makeTempDir, writeFiles } from "../../testing/fixtures.js";
import { runCli } from "../../testing/run-cli.js";

const CONFIG = `- name: scorer
  kind: RealtimeAPI
  predictor:
    type: python
    path: predictor.py
  autoscaling:
    min_replicas: 1
    max_replicas: 8
    upscale_stabilization_period: 0s
    window: 10s
`;

async function project(trace: string): Promise<string> {
  const dir = await makeTempDir();
  await writeFiles(dir, {
    "axon.yaml": CONFIG,
    "predictor.py": "class PythonPredictor:\n    def predict(self, payload):\n        return 1\n",
    "trace.csv": trace,
  });
  return dir;
}

describe("axon autoscale simulate", () => {
  it("prints the timeline and a one-line summary of a load step", async () => {
    // Given a config and a trace that steps from 10 to 200 req/s at 30 s
    const dir = await project("seconds,rps\n0,10\n30,200\n90,10\n");

    // When the step is simulated with a 20 ms predictor, no daemon running
    const run = await runCli(
      ["autoscale", "simulate", "--trace", "trace.csv", "--service-time", "20ms"],
      { cwd: dir },
    );

    // Then the timeline shows the scale-up it causes (4 in flight need 4 replicas at target 1)
    expect(run.exitCode).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(
      /^time\s+req\/s\s+replicas\s+ready\s+in-flight\/replica\s+503s\s+autoscaler$/,
    );
    expect(run.stdout).toMatch(
      /0:40 +200 +2 +1 .*scaled up 1 → 2: avg in-flight [\d.]+ over 10s, target 1/,
    );
    expect(lines.at(-1)).toMatch(
      /^simulate scorer: [\d,]+ requests, [\d,]+ estimated 503s \([\d.]+%\), 1–[4-8] replicas; first scale-up after 40 s$/,
    );
  });

  it("with -o json prints one document with every tick", async () => {
    const dir = await project("0,10\n");
    const run = await runCli([
      "autoscale",
      "simulate",
      dir,
      "--trace",
      `${dir}/trace.csv`,
      "--service-time",
      "5ms",
      "-o",
      "json",
    ]);
    expect(run.exitCode).toBe(0);
    const report = JSON.parse(run.stdout) as { api: string; ticks: unknown[]; refused: number };
    expect(report).toMatchObject({ api: "scorer", refused: 0 });
    expect(report.ticks.length).toBeGreaterThan(0);
  });

  it("a bad trace row names the file and line; a bad duration names the flag", async () => {
    const dir = await project("0,10\n30;200\n");
    const badRow = await runCli(
      ["autoscale", "simulate", "--trace", "trace.csv", "--service-time", "20ms"],
      { cwd: dir },
    );
    expect(badRow.exitCode).toBe(1);
    expect(badRow.stderr).toContain(
      'trace.csv:2: expected "seconds,requests_per_second", got "30;200"',
    );
    const badFlag = await runCli(
      ["autoscale", "simulate", "--trace", "trace.csv", "--service-time", "fast"],
      { cwd: dir },
    );
    expect(badFlag.exitCode).toBe(1);
    expect(badFlag.stderr).toContain(
      "--service-time must be a duration like 20ms, 1.5s or 1m (got fast)",
    );
  });

  it("an API with min_replicas 0 goes to zero in the timeline and says what woke it", async () => {
    // Given an API that may idle at zero after 1m, and a trace with a 2-minute pause
    const dir = await makeTempDir();
    await writeFiles(dir, {
      "axon.yaml": CONFIG.replace(
        "min_replicas: 1",
        "min_replicas: 0\n    scale_to_zero_after: 1m",
      ),
      "predictor.py": "class PythonPredictor:\n    def predict(self, payload):\n        return 1\n",
      "trace.csv": "0,2\n30,0\n150,1\n160,0\n",
    });

    // When it is simulated with a 3 s start
    const run = await runCli(
      [
        "autoscale",
        "simulate",
        "--trace",
        "trace.csv",
        "--service-time",
        "20ms",
        "--startup",
        "3s",
      ],
      { cwd: dir },
    );

    // Then the tick a minute after the last request (0:29) says why it went to zero, the one
    // after 2:30 what woke it, and the timeline ends at zero again
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /\n1:30 +0 +0 +0 +0\.00 +0 +no request for 1m0s → 0 replicas \(scale_to_zero_after 1m0s\)\n/,
    );
    expect(run.stdout).toMatch(
      /\n2:40 +1 +1 +1 .* +0 +woken by a request held at 2:30 → 1 replica\n/,
    );
    expect(run.stdout).toMatch(/, 0–1 replicas; no scale-up\n$/);
  });
});
