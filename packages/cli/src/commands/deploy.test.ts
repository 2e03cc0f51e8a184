import { Readable } from "node:stream";
import { list } from "tar";
import { describe, expect, it } from "vitest";
import { makeApiDetail } from "../testing/fake-control-plane.js";
import { makeIrisProject, startFakeDaemon, writeFiles } from "../testing/fixtures.js";
import { runCli } from "../testing/run-cli.js";

/** Entry paths of a gzip'd tar, in archive order. */
async function tarEntries(data: Buffer): Promise<string[]> {
  const paths: string[] = [];
  const parser = list({ onReadEntry: (entry) => paths.push(entry.path) });
  await new Promise<void>((resolve, reject) => {
    Readable.from([data]).pipe(parser).on("end", resolve).on("close", resolve).on("error", reject);
  });
  return paths;
}

describe("axon deploy", () => {
  it("packs the project with the ignore rules and uploads it", async () => {
    // Given a project with files that must and must not be uploaded, and a running daemon
    const dir = await makeIrisProject({
      ".env": "A=1\n",
      ".secret": "x",
      ".git/config": "x",
      "lib/helper.py": "x = 1\n",
      "lib/__pycache__/helper.cpython-311.pyc": "x",
      "lib/old.pyc": "x",
      "node_modules/left-pad/index.js": "x",
      "data/big.bin": "x",
      "notes.csv": "x",
      "model.pkl": "model",
      ".axonignore": "data/\n*.csv\n",
    });
    const daemon = await startFakeDaemon();

    // When deploying it (no terminal, so no waiting)
    const run = await runCli(["deploy", dir], { env: daemon.env });

    // Then exactly the expected files were uploaded, in sorted order, under the bundle's sha256
    expect(run.stderr).not.toContain("error");
    expect(run.exitCode).toBe(0);
    const put = daemon.requests.find((r) => r.method === "PUT");
    expect(put).toBeDefined();
    expect(await tarEntries(put?.body ?? Buffer.alloc(0))).toEqual([
      ".env",
      "lib/helper.py",
      "model.pkl",
      "predictor.py",
    ]);
    const deploy = daemon.requests.find((r) => r.path === "/v1/deploy");
    const body = JSON.parse(deploy?.body.toString("utf8") ?? "{}") as Record<string, unknown>;
    expect(put?.path).toBe(`/v1/bundles/${String(body["bundle"])}`);
    expect(body).toMatchObject({ configFileName: "axon.yaml", projectPath: dir, force: false });
    expect(put?.authorization).toBe(`Bearer ${daemon.token}`);
  });

  it("asks on a terminal before replacing an API deployed from another folder; no answer deploys nothing", async () => {
    // Given iris-classifier deployed from another project folder
    const dir = await makeIrisProject();
    const daemon = await startFakeDaemon();
    const existing = makeApiDetail("iris-classifier", `${daemon.url}/iris-classifier`, "live");
    existing.projectPath = "/home/someone/other-project";
    daemon.apis.set("iris-classifier", existing);

    // When a person deploys this folder's iris-classifier and answers no
    const no = await runCli(["deploy", dir, "--no-wait"], {
      env: daemon.env,
      interactive: true,
      stdin: "n\n",
    });
    // Then the question names both folders, and nothing was uploaded or deployed
    expect(no.stderr).toContain(
      `iris-classifier was deployed from /home/someone/other-project; replace it with the one in ${dir}? (y/n) cancelled`,
    );
    expect(no.exitCode).toBe(1);
    expect(daemon.requests.some((r) => r.path === "/v1/deploy")).toBe(false);

    // When the answer is yes, or --yes is given, or the folder is the same one, Then it deploys
    const yes = await runCli(["deploy", dir, "--no-wait"], {
      env: daemon.env,
      interactive: true,
      stdin: "y\n",
    });
    expect(yes.exitCode).toBe(0);
    existing.projectPath = "/home/someone/other-project";
    daemon.apis.set("iris-classifier", existing);
    const flag = await runCli(["deploy", dir, "--no-wait", "--yes"], {
      env: daemon.env,
      interactive: true,
    });
    expect(flag.stderr).not.toContain("was deployed from");
    expect(flag.exitCode).toBe(0);
    expect(daemon.requests.filter((r) => r.path === "/v1/deploy")).toHaveLength(2);
  });

  it("forwards the shell's AWS settings unless --no-aws-credentials, and shows build progress", async () => {
    // Given a shell with AWS settings (and unrelated variables)
    const dir = await makeIrisProject();
    const daemon = await startFakeDaemon();
    const env = {
      ...daemon.env,
      AWS_ACCESS_KEY_ID: "AKIA1",
      AWS_SECRET_ACCESS_KEY: "s3cr3t",
      AWS_ENDPOINT_URL_S3: "http://x",
      HOME_DIR: "y",
    };

    // When deploying normally, then with --no-aws-credentials
    const forwarded = await runCli(["deploy", dir], { env });
    const withheld = await runCli(["deploy", dir, "--no-aws-credentials"], { env });

    // Then only the AWS settings went along the first time, none the second
    const bodies = daemon.requests
      .filter((r) => r.path === "/v1/deploy")
      .map((r) => JSON.parse(r.body.toString("utf8")) as { credentials: Record<string, string> });
    expect(bodies.map((b) => b.credentials)).toEqual([
      {
        AWS_ACCESS_KEY_ID: "AKIA1",
        AWS_SECRET_ACCESS_KEY: "s3cr3t",
        AWS_ENDPOINT_URL_S3: "http://x",
      },
      {},
    ]);
    // And the daemon's streamed progress lines reach stderr, never stdout
    expect(forwarded.stderr).toContain("fake progress line");
    expect(forwarded.stdout).not.toContain("fake progress line");
    expect(withheld.exitCode).toBe(0);
    expect(forwarded.stdout + forwarded.stderr).not.toContain("s3cr3t");
  });

  it("uploads an unchanged project once: same sha, HEAD hit, no second PUT", async () => {
    // Given a project deployed once
    const dir = await makeIrisProject();
    const daemon = await startFakeDaemon();
    await runCli(["deploy", dir], { env: daemon.env });

    // When deploying it again
    const run = await runCli(["deploy", dir], { env: daemon.env });

    // Then the second deploy asks about the same bundle, finds it, and does not upload it
    expect(run.exitCode).toBe(0);
    const heads = daemon.requests.filter((r) => r.method === "HEAD").map((r) => r.path);
    expect(heads).toHaveLength(2);
    expect(heads[0]).toBe(heads[1]);
    expect(daemon.requests.filter((r) => r.method === "PUT")).toHaveLength(1);
    expect(run.stdout).toContain("iris-classifier (RealtimeAPI) is up to date");
  });

  it("prints the Cortex message and hints, with a curl of the project's own sample file", async () => {
    // Given a project with a sample payload and a running daemon
    const dir = await makeIrisProject({ "sample.json": "[5.9, 3.0, 5.1, 1.8]" });
    const daemon = await startFakeDaemon();

    // When deploying
    const run = await runCli(["deploy"], { cwd: dir, env: daemon.env });

    // Then stdout reads like Cortex's, the curl naming the file where it is
    expect(run.exitCode).toBe(0);
    const stdout = run.stdout
      .replace(daemon.url, "http://localhost:8888")
      .replace(dir, "<project>");
    expect(stdout).toMatchInlineSnapshot(`
      "creating iris-classifier (RealtimeAPI)

      axon get                     (show api statuses)
      axon get iris-classifier     (show api info)
      axon logs iris-classifier    (stream api logs)
      curl http://localhost:8888/iris-classifier -X POST -H "Content-Type: application/json" -d @<project>/sample.json
      "
    `);
  });

  it("suggests no curl with a file the project does not have", async () => {
    // Given a project without a sample payload
    const dir = await makeIrisProject();
    const daemon = await startFakeDaemon();

    // When deploying
    const run = await runCli(["deploy"], { cwd: dir, env: daemon.env });

    // Then the hints name no sample file
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain("axon logs iris-classifier");
    expect(run.stdout).not.toContain("sample.json");
    expect(run.stdout).not.toContain("curl");
  });

  it("prints exactly one JSON document with -o json", async () => {
    // Given a project and a running daemon
    const dir = await makeIrisProject();
    const daemon = await startFakeDaemon();

    // When deploying with -o json and --wait
    const run = await runCli(["deploy", dir, "-o", "json", "--wait"], { env: daemon.env });

    // Then stdout parses as one document with the results and the final api state
    expect(run.exitCode).toBe(0);
    const document = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(document).toMatchObject({
      results: [{ api: "iris-classifier", outcome: "created" }],
      bundle: { uploaded: true },
      apis: [{ name: "iris-classifier", status: "live" }],
    });
  });

  it("validates locally and sends nothing when the config is broken", async () => {
    // Given a config whose predictor file is missing
    const dir = await makeIrisProject();
    await writeFiles(dir, {
      "axon.yaml":
        "- name: x\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: nope.py\n",
    });
    const daemon = await startFakeDaemon();

    // When deploying it
    const run = await runCli(["deploy", dir], { env: daemon.env });

    // Then it fails with the diagnostic and the daemon heard nothing
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/axon\.yaml:5:\d+: .*predictor\.path/);
    expect(daemon.requests).toHaveLength(0);
  });

  it("shows the daemon's error body with its diagnostics and exits 1", async () => {
    // Given a daemon that rejects the deploy with config.invalid
    const dir = await makeIrisProject();
    const daemon = await startFakeDaemon({
      route: (request, response) => {
        if (request.path !== "/v1/deploy") return false;
        response.writeHead(400, { "content-type": "application/json" }).end(
          JSON.stringify({
            code: "config.endpoint_taken",
            message:
              "axon.yaml: iris-classifier: networking.endpoint /iris-classifier is already used by api other",
            hint: "choose another networking.endpoint",
            diagnostics: [
              {
                file: "axon.yaml",
                line: 1,
                column: 3,
                path: "iris-classifier.networking",
                message: "taken",
              },
            ],
          }),
        );
        return true;
      },
    });

    // When deploying
    const run = await runCli(["deploy", dir], { env: daemon.env });

    // Then the message, diagnostic and hint are shown, without a stack
    expect(run.exitCode).toBe(1);
    expect(run.stderr.slice(run.stderr.indexOf("error:"))).toMatchInlineSnapshot(`
      "error: axon.yaml: iris-classifier: networking.endpoint /iris-classifier is already used by api other
        axon.yaml:1:3: iris-classifier.networking: taken
      hint: choose another networking.endpoint
      "
    `);
  });

  it("waits until live with --wait", async () => {
    // Given a daemon where the api takes two polls to come up
    const dir = await makeIrisProject();
    const daemon = await startFakeDaemon({
      statusSequence: [{ status: "updating" }, { status: "updating" }, { status: "live" }],
    });

    // When deploying with --wait
    const run = await runCli(["deploy", dir, "--wait"], { env: daemon.env });

    // Then it reports the endpoint once live
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toContain("waiting for iris-classifier to be live (updating)...");
    expect(run.stdout).toContain(`iris-classifier is live at ${daemon.url}/iris-classifier`);
  });

  it("fails with the status message and a logs hint when the api errors", async () => {
    // Given a daemon where the api crashes
    const dir = await makeIrisProject();
    const daemon = await startFakeDaemon({
      statusSequence: [
        { status: "updating" },
        { status: "error", statusMessage: "worker exited: ImportError: sklearn" },
      ],
    });

    // When deploying with --wait
    const run = await runCli(["deploy", dir, "--wait"], { env: daemon.env });

    // Then the error names the cause and points at the logs
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(
      "error: iris-classifier failed: worker exited: ImportError: sklearn",
    );
    expect(run.stderr).toContain("hint: see what happened with `axon logs iris-classifier`");
  });

  it("refuses to deploy the home folder", async () => {
    // Given a project that is the user's home folder
    const dir = await makeIrisProject();
    const daemon = await startFakeDaemon();

    // When deploying it
    const run = await runCli(["deploy", dir], { env: { ...daemon.env, HOME: dir } });

    // Then nothing is sent
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("it is your home folder");
    expect(daemon.requests).toHaveLength(0);
  });

  it.each(["5", "forever"])(
    "rejects --wait-timeout %s as a usage problem (exit 2)",
    async (value) => {
      // Given a project
      const dir = await makeIrisProject();

      // When the timeout is not a duration
      const run = await runCli(["deploy", dir, "--wait-timeout", value], {
        env: { AXON_HOME: dir },
      });

      // Then the flag is named and the exit code says "usage", like other bad flags
      expect(run.exitCode).toBe(2);
      expect(run.stderr).toContain(`--wait-timeout: ${value}: invalid duration`);
    },
  );

  it("refuses a predictor left out by .axonignore before uploading anything", async () => {
    // Given a project whose ignore file lists the predictor
    const dir = await makeIrisProject({ ".axonignore": "predictor.py\n" });
    const daemon = await startFakeDaemon();

    // When deploying it
    const run = await runCli(["deploy", dir], { env: daemon.env });

    // Then the file and the rule are named, and the daemon heard nothing
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(
      'iris-classifier.predictor.path: file predictor.py is excluded by .axonignore (rule "predictor.py")',
    );
    expect(daemon.requests).toHaveLength(0);
  });

  it("waits for every api, prints all of them with -o json, and exits 1 when one failed", async () => {
    // Given three apis of which the first fails to start
    const dir = await makeIrisProject();
    const api = (name: string): string =>
      `- name: ${name}\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n`;
    await writeFiles(dir, { "axon.yaml": ["api-01", "api-02", "api-03"].map(api).join("") });
    const daemon = await startFakeDaemon({
      route: (request, response) => {
        if (request.method !== "GET" || request.path !== "/v1/apis/api-01") return false;
        const failed = makeApiDetail("api-01", "http://x/api-01", "error");
        failed.statusMessage = "worker exited: ImportError: sklearn";
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify(failed));
        return true;
      },
    });

    // When deploying with --wait and -o json
    const run = await runCli(["deploy", dir, "--wait", "-o", "json"], { env: daemon.env });

    // Then stdout holds every api's final state, the failure with its reason, and the exit is 1
    expect(run.exitCode).toBe(1);
    const document = JSON.parse(run.stdout) as { apis: Record<string, unknown>[] };
    expect(document.apis).toMatchObject([
      {
        name: "api-01",
        status: "error",
        error: { message: "api-01 failed: worker exited: ImportError: sklearn" },
      },
      { name: "api-02", status: "live" },
      { name: "api-03", status: "live" },
    ]);
    expect(document.apis[1]).not.toHaveProperty("error");
    expect(run.stderr).toContain("error: api-01 failed: worker exited: ImportError: sklearn");
  });

  it("reports each api's outcome in text when several fail", async () => {
    // Given two apis that both fail
    const dir = await makeIrisProject();
    const api = (name: string): string =>
      `- name: ${name}\n  kind: RealtimeAPI\n  predictor:\n    type: python\n    path: predictor.py\n`;
    await writeFiles(dir, { "axon.yaml": ["api-01", "api-02"].map(api).join("") });
    const daemon = await startFakeDaemon({
      statusSequence: [{ status: "error", statusMessage: "boom" }],
    });

    // When deploying with --wait
    const run = await runCli(["deploy", dir, "--wait"], { env: daemon.env });

    // Then both failures are listed under one error
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("error: 2 of 2 apis are not live");
    expect(run.stderr).toContain("  api-01 failed: boom\n  api-02 failed: boom\n");
  });
});
