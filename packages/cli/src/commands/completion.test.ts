/**
 * `axon completion`: each script is run by its real shell, completing against the built CLI
 * (`packages/cli/bin/axon`, which runs dist/: `npm run build` first) and the fake daemon. bash
 * calls the completion function as readline would; fish lists completions with `complete -C`;
 * zsh runs interactively in a pseudo-terminal (zsh/zpty) where <Tab> runs the real completion
 * system, and `compadd` reports the matches zsh itself kept for the word being completed.
 */
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { makeApiDetail } from "../testing/fake-control-plane.js";
import { makeTempDir, startFakeDaemon } from "../testing/fixtures.js";
import { runCli } from "../testing/run-cli.js";

const BIN = fileURLToPath(new URL("../../bin", import.meta.url));

/** zsh and fish are Debian's `zsh` and `fish` (scripts/setup.sh installs them). */
const noZsh = spawnSync("zsh", ["-fc", "zmodload zsh/zpty"]).status !== 0;
const noFish = spawnSync("fish", ["--version"]).status !== 0;
if (noZsh) console.warn("completion.test.ts: zsh (with zsh/zpty) is not installed; skipped");
if (noFish) console.warn("completion.test.ts: fish is not installed; skipped");

/** What a shell started by a test sees: the built `axon` and this Node first, a private home. */
async function shellEnv(env: Record<string, string>): Promise<Record<string, string>> {
  const home = await makeTempDir("axon-shell-home-");
  return {
    ...env,
    HOME: home,
    XDG_CONFIG_HOME: home,
    XDG_DATA_HOME: home,
    XDG_CACHE_HOME: home,
    PATH: `${BIN}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
  };
}

/** The pane's set-up: <Tab> runs the completion between two markers; compadd prints its matches. */
const ZSH_INIT = `PROMPT='' RPROMPT=''
_axon_test_complete() {
  print -r -- axon-completion-begin
  zle complete-word
  print -r -- axon-completion-end
}
zle -N _axon_test_complete
bindkey '^I' _axon_test_complete
bindkey '^U' kill-whole-line
compadd() {
  # Calls that only ask for matches (-O, -A, -D) are the completion system's own.
  if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd "$@"; return; fi
  local -a hits
  builtin compadd -A hits "$@"
  (( $#hits )) && print -rl -- $hits
}
print -r -- axon-init-ok
`;

/** Types each request and <Tab> into an interactive zsh, printing each one's matches and a marker. */
const ZSH_DRIVER = `zmodload zsh/zpty
local script=$1 init=$2; shift 2
zpty axon zsh -f -i
zpty -w axon "source \${(q)script}; source \${(q)init}"
local line
while zpty -r axon line; do [[ $line == *axon-init-ok* ]] && break; done
for request in "$@"; do
  zpty -w -n axon "$request"$'\\t'
  integer on=0
  while zpty -r axon line; do
    line=\${line//$'\\r'/}; line=\${line%$'\\n'}
    if [[ $line == *axon-completion-begin* ]]; then on=1; continue; fi
    if [[ $line == *axon-completion-end* ]]; then break; fi
    (( on )) && print -r -- "$line"
  done
  print -r -- axon-completion-end
  # Empty the line (a single match was inserted) for the next request.
  zpty -w -n axon $'\\C-u'
done
zpty -d axon
`;

/**
 * Completes each of `lines` (the cursor at its end) in zsh with `script` sourced, in `cwd`; the
 * sorted matches of each.
 */
async function completeInZsh(
  script: string,
  lines: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<string[][]> {
  const dir = await makeTempDir("axon-zsh-");
  await writeFile(path.join(dir, "init.zsh"), ZSH_INIT);
  await writeFile(path.join(dir, "driver.zsh"), ZSH_DRIVER);
  const { stdout, stderr } = await promisify(execFile)(
    "zsh",
    ["-f", path.join(dir, "driver.zsh"), script, path.join(dir, "init.zsh"), ...lines],
    { encoding: "utf8", cwd, timeout: 60_000, env: await shellEnv(env) },
  );
  expect(stderr).toBe("");
  return splitAnswers(stdout, lines.length);
}

/** The same in fish: `complete -C` lists what <Tab> would offer (descriptions dropped). */
async function completeInFish(
  script: string,
  lines: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<string[][]> {
  const program = `source $argv[1]
for line in $argv[2..]
  complete -C $line | string split -f1 \\t
  echo axon-completion-end
end`;
  const { stdout, stderr } = await promisify(execFile)(
    "fish",
    ["--no-config", "-c", program, script, ...lines],
    { encoding: "utf8", cwd, timeout: 60_000, env: await shellEnv(env) },
  );
  expect(stderr).toBe("");
  return splitAnswers(stdout, lines.length);
}

function splitAnswers(stdout: string, count: number): string[][] {
  const answers = stdout.split("axon-completion-end\n").slice(0, -1);
  expect(answers).toHaveLength(count);
  return answers.map((answer) =>
    answer
      .split("\n")
      .filter((word) => word !== "")
      .sort(),
  );
}

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

  for (const [shell, missing, complete] of [
    ["zsh", noZsh, completeInZsh],
    ["fish", noFish, completeInFish],
  ] as const) {
    it.skipIf(missing)(
      `completes commands, flags, flag values and the running cluster's api names in ${shell}`,
      async () => {
        // Given a cluster with two apis, the script, and a project folder holding one file
        const daemon = await startFakeDaemon();
        const iris = makeApiDetail("iris-classifier", `${daemon.url}/i`, "live");
        daemon.apis.set("iris-classifier", iris);
        daemon.apis.set(
          "text-generator",
          makeApiDetail("text-generator", `${daemon.url}/t`, "live"),
        );
        const run = await runCli(["completion", shell]);
        expect(run.exitCode).toBe(0);
        const script = path.join(await makeTempDir(), `axon.${shell}`);
        await writeFile(script, run.stdout);
        const project = await makeTempDir("axon-project-");
        await writeFile(path.join(project, "axon.yaml"), "");

        // When completing at several places, in one session
        const cases: [string, string[]][] = [
          ["axon de", ["delete", "deploy"]],
          ["axon cluster ", ["down", "info", "up"]],
          ["axon completion ", ["bash", "fish", "zsh"]],
          ["axon logs --f", ["--follow"]],
          // A command's flags and the global ones (commander reads those after a subcommand)
          ["axon get --", ["--env", "--output", "--since", "--verbose", "--version", "--watch"]],
          ["axon get -o ", ["json", "pretty"]],
          ["axon cluster up --provider ", ["aws", "local"]],
          ["axon logs ", ["iris-classifier", "text-generator"]],
          ["axon logs --tail 5 te", ["text-generator"]],
          [`axon --home ${daemon.home} logs i`, ["iris-classifier"]],
          ["axon get iris-classifier --o", ["--output"]],
          ["axon deploy ", ["axon.yaml"]],
        ];
        const answers = await complete(
          script,
          cases.map(([line]) => line),
          daemon.env,
          project,
        );

        // Then each place offers what fits there
        expect(Object.fromEntries(cases.map(([line], index) => [line, answers[index]]))).toEqual(
          Object.fromEntries(cases),
        );
      },
    );
  }

  it("refuses shells it has no script for", async () => {
    const other = await runCli(["completion", "powershell"]);
    expect(other.exitCode).toBe(2);
    expect(other.stderr).toContain("Allowed choices are bash, zsh, fish");
  });
});
