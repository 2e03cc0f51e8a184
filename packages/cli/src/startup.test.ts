/**
 * Start-up stays light: `axon get -o json` (the built entry, in a fresh Node process) must not load
 * ink, react, the AWS SDK or the config validator; module loads are recorded with a load hook.
 * Runs dist/: `npm run build` first.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { makeApiDetail } from "./testing/fake-control-plane.js";
import { makeTempDir, startFakeDaemon, writeFiles } from "./testing/fixtures.js";

const MAIN = new URL("../dist/main.js", import.meta.url).href;

/** Runs `axon <argv>` in a child Node and returns its stdout and every module URL it loaded. */
async function loadedModules(
  argv: string[],
  env: Record<string, string>,
): Promise<{ stdout: string; modules: string[] }> {
  const script = `
import { registerHooks } from "node:module";
import { writeSync } from "node:fs";
const modules = [];
registerHooks({ load(url, context, next) { modules.push(url); return next(url, context); } });
process.argv = [process.argv[0], "axon", ...${JSON.stringify(argv)}];
const { main } = await import(${JSON.stringify(MAIN)});
await main();
process.on("exit", () => writeSync(2, JSON.stringify(modules)));
`;
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ["--input-type=module", "-e", script],
    { encoding: "utf8", env: { ...env, PATH: process.env["PATH"] ?? "" } },
  );
  return { stdout, modules: JSON.parse(stderr) as string[] };
}

describe("start-up", () => {
  it("`get -o json` loads neither commander, ink, react, the AWS SDK nor the config validator", async () => {
    // Given a running cluster with one api
    const daemon = await startFakeDaemon();
    daemon.apis.set("iris", makeApiDetail("iris", `${daemon.url}/iris`, "live"));

    // When a fresh process runs `axon get -o json`
    const { stdout, modules } = await loadedModules(["get", "-o", "json"], daemon.env);

    // Then it answered, the hook saw the CLI's own modules, and none of the heavy ones loaded:
    // the plain forms of `get` are parsed without commander (fast-get.ts)
    expect(JSON.parse(stdout)).toMatchObject({ apis: [{ name: "iris" }] });
    expect(modules.some((url) => url.endsWith("/dist/commands/get-once.js"))).toBe(true);
    const heavy = modules.filter((url) =>
      /\/node_modules\/(commander|ink|react|react-reconciler|yoga-layout|@aws-sdk|ajv|yaml)\//.test(
        url,
      ),
    );
    expect(heavy).toEqual([]);
  });

  it("`--version` alone answers before commander or any command loads", async () => {
    // Given no cluster at all
    // When a fresh process runs `axon --version`
    const { stdout, modules } = await loadedModules(["--version"], {});

    // Then it printed the version, and of the CLI only the entry and its light helpers loaded
    expect(stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(modules.filter((url) => url.includes("/node_modules/"))).toEqual([]);
    expect(modules.filter((url) => url.includes("/dist/commands/"))).toEqual([]);
  });

  it("`get -o json` loads neither the deploy nor the cluster services, nor @axon/config's parser", async () => {
    // Given a running cluster with one api
    const daemon = await startFakeDaemon();
    daemon.apis.set("iris", makeApiDetail("iris", `${daemon.url}/iris`, "live"));

    // When a fresh process runs `axon get -o json`
    const { modules } = await loadedModules(["get", "-o", "json"], daemon.env);

    // Then only the small forwarded-env module of @axon/config loaded, and no other command's service
    const config = modules.filter((url) => url.includes("/packages/config/"));
    expect(config.map((url) => url.replace(/.*\/packages\/config\//, ""))).toEqual([
      "dist/forwarded-env.js",
    ]);
    expect(modules.filter((url) => /\/dist\/services\/(?!target-environment)/.test(url))).toEqual(
      [],
    );
    // And no view (JSON needs none)
    expect(modules.filter((url) => url.includes("/dist/ui/"))).toEqual([]);
    // And of the commands, only get's one look (not even get's commander shell)
    expect(
      modules
        .filter((url) => url.includes("/dist/commands/"))
        .map((url) => url.replace(/.*\/dist\//, "")),
    ).toEqual(["commands/get-once.js"]);
  });

  it("`get` with a flag the fast path does not know is parsed by commander, loading get's shell alone", async () => {
    // Given a running cluster with one api
    const daemon = await startFakeDaemon();
    daemon.apis.set("iris", makeApiDetail("iris", `${daemon.url}/iris`, "live"));

    // When a fresh process runs `axon --verbose get -o json` (a root option first)
    const { stdout, modules } = await loadedModules(["--verbose", "get", "-o", "json"], daemon.env);

    // Then commander parsed it, with get's shell and no other command's
    expect(JSON.parse(stdout)).toMatchObject({ apis: [{ name: "iris" }] });
    expect(modules.some((url) => url.includes("/node_modules/commander/"))).toBe(true);
    expect(
      modules
        .filter((url) => url.includes("/dist/commands/"))
        .map((url) => url.replace(/.*\/dist\//, ""))
        .toSorted(),
    ).toEqual(["commands/get-once.js", "commands/get.js"]);
  });

  it("`submit` loads its own shell and services alone: no other command, no view, no ink", async () => {
    // Given a running cluster whose engine starts jobs, and a job spec
    const daemon = await startFakeDaemon({
      route: (request, response) => {
        if (request.path !== "/v1/apis/scorer/jobs") return false;
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ job_id: "69d6faf8a4", api_name: "scorer", workers: 1 }));
        return true;
      },
    });
    const dir = await makeTempDir();
    await writeFiles(dir, {
      "job.json": '{"workers": 1, "item_list": {"items": [1], "batch_size": 1}}',
    });

    // When a fresh process runs `axon submit scorer job.json -o json`
    const { stdout, modules } = await loadedModules(
      ["submit", "scorer", path.join(dir, "job.json"), "-o", "json"],
      daemon.env,
    );

    // Then it answered, with submit's shell as the only command and the job file reader as the
    // only service besides the environment's
    expect(JSON.parse(stdout)).toMatchObject({ job_id: "69d6faf8a4" });
    expect(
      modules
        .filter((url) => url.includes("/dist/commands/"))
        .map((url) => url.replace(/.*\/dist\//, "")),
    ).toEqual(["commands/submit.js"]);
    expect(
      modules
        .filter((url) => /\/dist\/services\/(?!target-environment)/.test(url))
        .map((url) => url.replace(/.*\/dist\//, "")),
    ).toEqual(["services/job-file.js"]);
    expect(modules.filter((url) => /\/dist\/ui\/|\/node_modules\/(ink|react)\//.test(url))).toEqual(
      [],
    );
  });
});
