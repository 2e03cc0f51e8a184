/**
 * `axon completion`: the bash script is run by a real bash, completing against the built CLI
 * (`packages/cli/bin/axon`, which runs dist/: `npm run build` first) and the fake daemon.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { makeApiDetail } from "../testing/fake-control-plane.js";
import { makeTempDir, startFakeDaemon } from "../testing/fixtures.js";
import { runCli } from "../testing/run-cli.js";

const BIN = fileURLToPath(new URL("../../bin", import.meta.url));

/**
 * Completes `line` (the cursor at its end) in bash with the script sourced; one word per line.
 * Asynchronous: the fake daemon answering `axon __complete-apis` lives in this process.
 */
async function completeInBash(
  script: string,
  line: string,
  env: Record<string, string>,
): Promise<string[]> {
  const program = `
source "$1"
COMP_WORDS=(${line.endsWith(" ") ? `${line}''` : line})
COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
_axon
printf '%s\\n' "\${COMPREPLY[@]}"
`;
  const child = promisify(execFile)("bash", ["-c", program, "bash", script], {
    encoding: "utf8",
    // SHLVL: node's stdio pipes are sockets, and a first-level bash on a socket reads ~/.bashrc
    // (Debian's "run by sshd" guess).
    env: { ...env, SHLVL: "1", PATH: `${BIN}:${path.dirname(process.execPath)}:/usr/bin:/bin` },
  });
  const { stdout, stderr } = await child;
  expect(stderr).toBe("");
  return stdout.split("\n").filter((word) => word !== "");
}

describe("axon completion", () => {
  it("completes commands, flags, flag values and the running cluster's api names in bash", async () => {
    // Given a cluster with two apis and the bash script
    const daemon = await startFakeDaemon();
    daemon.apis.set("iris-classifier", makeApiDetail("iris-classifier", `${daemon.url}/i`, "live"));
    daemon.apis.set("text-generator", makeApiDetail("text-generator", `${daemon.url}/t`, "live"));
    const run = await runCli(["completion", "bash"]);
    expect(run.exitCode).toBe(0);
    const script = path.join(await makeTempDir(), "axon.bash");
    await writeFile(script, run.stdout);

    // When completing at several places
    const complete = (line: string): Promise<string[]> => completeInBash(script, line, daemon.env);

    // Then each place offers what fits there
    expect(await complete("axon de ")).toEqual([]);
    expect(await complete("axon de")).toEqual(["deploy", "delete"]);
    expect(await complete("axon cluster ")).toEqual(["up", "down", "info"]);
    expect(await complete("axon logs --f")).toEqual(["--follow"]);
    expect(await complete("axon get -o ")).toEqual(["pretty", "json"]);
    expect(await complete("axon logs ")).toEqual(["iris-classifier", "text-generator"]);
    expect(await complete("axon logs --tail 5 te")).toEqual(["text-generator"]);
    expect(await complete("axon completion ")).toEqual(["bash", "zsh", "fish"]);
    expect(await complete(`axon --home ${daemon.home} logs i`)).toEqual(["iris-classifier"]);
  });

  it("completes no api names, silently, when no cluster runs", async () => {
    const home = await makeTempDir();
    const run = await runCli(["__complete-apis"], { env: { AXON_HOME: home } });
    expect(run).toEqual({ stdout: "", stderr: "", exitCode: 0 });
  });

  it("prints zsh and fish scripts that name the hidden api lister, and refuses other shells", async () => {
    const zsh = await runCli(["completion", "zsh"]);
    expect(zsh.stdout).toContain("bashcompinit");
    expect(zsh.stdout).toContain("axon __complete-apis");
    const fish = await runCli(["completion", "fish"]);
    expect(fish.stdout).toContain(
      "complete -c axon -n '__fish_seen_subcommand_from logs' -a '(axon __complete-apis 2>/dev/null)'",
    );
    expect(fish.stdout).not.toContain("__complete-apis' -d");

    const other = await runCli(["completion", "powershell"]);
    expect(other.exitCode).toBe(2);
    expect(other.stderr).toContain("Allowed choices are bash, zsh, fish");
  });
});
