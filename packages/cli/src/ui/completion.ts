/**
 * Shell completion scripts for `axon completion bash|zsh|fish`, generated from the command tree
 * itself (so a new command or flag completes without touching this file). API names come from the
 * running cluster at the moment of the <Tab>, through the hidden `axon __complete-apis`. Pure: a
 * commander tree in, script text out.
 */
import type { Command } from "commander";

/** The shells `axon completion` writes for. */
export const COMPLETION_SHELLS = ["bash", "zsh", "fish"] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** The hidden command the scripts run to list API names (one per line, nothing on failure). */
export const COMPLETE_APIS_COMMAND = "__complete-apis";

/** What a positional argument completes to. */
type ArgumentKind = { kind: "api" } | { kind: "file" } | { kind: "words"; words: string[] };

/** One command of the tree, flattened: `path` is e.g. `cluster up` (`""` for `axon` itself). */
interface CommandSpec {
  path: string;
  description: string;
  subcommands: { name: string; description: string }[];
  /** Every visible flag spelling (`-o`, `--output`). */
  flags: string[];
  /** Flags that take a value, with the values they accept when they are a closed list. */
  valueFlags: { spellings: string[]; choices: string[] }[];
  args: ArgumentKind[];
}

/** Flattens the visible commands and flags of `program` (hidden ones stay out of completion). */
export function completionSpec(program: Command): CommandSpec[] {
  const specs: CommandSpec[] = [];
  const visit = (command: Command, path: string): void => {
    const visible = command.commands.filter((child) => !isHidden(child));
    const options = command.options.filter((option) => !option.hidden);
    specs.push({
      path,
      description: command.description(),
      subcommands: visible.map((child) => ({
        name: child.name(),
        description: child.description(),
      })),
      flags: options.flatMap((option) => spellings(option)),
      // Hidden ones too (`--home <dir>`): their values must not be taken for commands.
      valueFlags: command.options
        .filter((option) => option.required || option.optional)
        .map((option) => ({ spellings: spellings(option), choices: option.argChoices ?? [] })),
      args: command.registeredArguments.map((argument) => argumentKind(argument)),
    });
    for (const child of visible)
      visit(child, path === "" ? child.name() : `${path} ${child.name()}`);
  };
  visit(program, "");
  return specs;
}

/** The script for `shell`. */
export function renderCompletionScript(shell: CompletionShell, program: Command): string {
  const specs = completionSpec(program);
  switch (shell) {
    case "bash":
      return renderBash(specs);
    case "zsh":
      // zsh runs bash completion functions through bashcompinit, as az, terraform and others do.
      return [
        "# axon completion for zsh: add to ~/.zshrc",
        "#   source <(axon completion zsh)",
        // Only when ~/.zshrc has not run compinit already (running it twice is slow).
        "(( $+functions[compdef] )) || { autoload -U +X compinit && compinit }",
        "autoload -U +X bashcompinit && bashcompinit",
        renderBash(specs).replace(/^# axon completion for bash[^\n]*\n#[^\n]*\n/, ""),
      ].join("\n");
    case "fish":
      return renderFish(specs);
  }
}

function renderBash(specs: CommandSpec[]): string {
  const cases = (
    fn: string,
    pick: (spec: CommandSpec) => string | undefined,
    key: (spec: CommandSpec) => string = (spec) => spec.path,
  ): string => {
    const arms = specs
      .map((spec) => [key(spec), pick(spec)] as const)
      .filter((arm): arm is [string, string] => arm[1] !== undefined && arm[1] !== "")
      .map(([k, value]) => `    ${shellQuote(k)}) echo ${shellQuote(value)} ;;`);
    return [`${fn}() {`, '  case "$1" in', ...arms, "  esac", "}"].join("\n");
  };
  const flagValueArms = specs.flatMap((spec) =>
    spec.valueFlags
      .filter((flag) => flag.choices.length > 0)
      .flatMap((flag) =>
        flag.spellings.map(
          (spelling) =>
            `    ${shellQuote(`${spec.path}:${spelling}`)}) echo ${shellQuote(flag.choices.join(" "))} ;;`,
        ),
      ),
  );
  const argArms = specs.flatMap((spec) =>
    spec.args.map((arg, index) => {
      const value = arg.kind === "words" ? `words ${arg.words.join(" ")}` : arg.kind;
      return `    ${shellQuote(`${spec.path}:${index}`)}) echo ${shellQuote(value)} ;;`;
    }),
  );
  return `# axon completion for bash: add to ~/.bashrc
#   source <(axon completion bash)
${cases("_axon_subcommands", (spec) => spec.subcommands.map((sub) => sub.name).join(" "))}
${cases("_axon_flags", (spec) => spec.flags.join(" "))}
${cases("_axon_value_flags", (spec) => spec.valueFlags.flatMap((flag) => flag.spellings).join(" "))}
_axon_flag_values() {
  case "$1:$2" in
${flagValueArms.join("\n")}
  esac
}
_axon_argument() {
  case "$1:$2" in
${argArms.join("\n")}
  esac
}
_axon() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  # Not "path": in zsh that is $PATH, and emptying it would lose axon itself.
  local cmdpath="" nargs=0 i word
  # Walk the words before the cursor: subcommands extend the path, flag values are skipped,
  # anything else is a positional argument.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if [[ "$word" == -* ]]; then
      [[ " $(_axon_value_flags "$cmdpath") $(_axon_value_flags "") " == *" $word "* ]] && ((i++))
      continue
    fi
    if [[ $nargs -eq 0 && " $(_axon_subcommands "$cmdpath") " == *" $word "* ]]; then
      cmdpath="\${cmdpath:+$cmdpath }$word"
    else
      ((nargs++))
    fi
  done
  if [[ " $(_axon_value_flags "$cmdpath") " == *" $prev "* ]]; then
    COMPREPLY=($(compgen -W "$(_axon_flag_values "$cmdpath" "$prev")" -- "$cur"))
    return
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_axon_flags "$cmdpath") $(_axon_flags "")" -- "$cur"))
    return
  fi
  local subcommands
  subcommands="$(_axon_subcommands "$cmdpath")"
  if [[ -n "$subcommands" && $nargs -eq 0 ]]; then
    COMPREPLY=($(compgen -W "$subcommands" -- "$cur"))
    return
  fi
  local argument
  argument="$(_axon_argument "$cmdpath" "$nargs")"
  case "$argument" in
    api) COMPREPLY=($(compgen -W "$(axon ${COMPLETE_APIS_COMMAND} 2>/dev/null)" -- "$cur")) ;;
    file) COMPREPLY=($(compgen -f -- "$cur")) ;;
    words\\ *) COMPREPLY=($(compgen -W "\${argument#words }" -- "$cur")) ;;
  esac
}
complete -o default -o bashdefault -F _axon axon
`;
}

function renderFish(specs: CommandSpec[]): string {
  const root = specs.find((spec) => spec.path === "");
  const switchFunction = (fn: string, pick: (spec: CommandSpec) => string[]): string => {
    const arms = specs
      .map((spec) => [spec.path, pick(spec)] as const)
      .filter(([, words]) => words.length > 0)
      .map(
        ([key, words]) =>
          `    case ${shellQuote(key)}\n      printf '%s\\n' ${words.map(shellQuote).join(" ")}`,
      );
    return [`function ${fn}`, "  switch $argv[1]", ...arms, "  end", "end"].join("\n");
  };
  const lines = [
    "# axon completion for fish: save as ~/.config/fish/completions/axon.fish",
    "#   axon completion fish > ~/.config/fish/completions/axon.fish",
    switchFunction("__axon_subcommands", (spec) => spec.subcommands.map((sub) => sub.name)),
    switchFunction("__axon_value_flags", (spec) =>
      spec.valueFlags.flatMap((flag) => flag.spellings),
    ),
    `# Walks the words before the cursor as bash's _axon does: subcommands extend the command path,
# flag values are skipped, anything else is a positional argument. Prints the path, then how many
# positional arguments precede the cursor.
function __axon_where
  set -l words (commandline -opc)
  set -e words[1]
  set -l cmdpath ''
  set -l nargs 0
  set -l skip 0
  for word in $words
    if test $skip -eq 1
      set skip 0
      continue
    end
    if string match -q -- '-*' $word
      contains -- $word (__axon_value_flags $cmdpath) (__axon_value_flags '')
      and set skip 1
      continue
    end
    if test $nargs -eq 0; and contains -- $word (__axon_subcommands $cmdpath)
      set cmdpath (string trim -- "$cmdpath $word")
    else
      set nargs (math $nargs + 1)
    end
  end
  printf '%s\\n' $cmdpath $nargs
end
# True when the cursor is in the command PATH (argv[1]), after exactly argv[2] positional
# arguments when that is given.
function __axon_at
  set -l where (__axon_where)
  test "$where[1]" = "$argv[1]"; or return 1
  test (count $argv) -lt 2; or test "$where[2]" = "$argv[2]"
end`,
    "complete -c axon -f",
  ];
  const flagLine = (condition: string | undefined, spec: CommandSpec, flag: string): string => {
    const valued = spec.valueFlags.find((v) => v.spellings.includes(flag));
    const name = flag.startsWith("--") ? `-l ${flag.slice(2)}` : `-s ${flag.slice(1)}`;
    const values =
      valued === undefined
        ? ""
        : valued.choices.length > 0
          ? ` -xa ${shellQuote(valued.choices.join(" "))}`
          : " -r";
    const when = condition === undefined ? "" : ` -n ${shellQuote(condition)}`;
    return `complete -c axon${when} ${name}${values}`;
  };
  // The root's flags are global (commander reads them after any subcommand).
  if (root !== undefined)
    for (const flag of root.flags) lines.push(flagLine(undefined, root, flag));
  for (const spec of specs) {
    const at = `__axon_at ${shellQuote(spec.path)}`;
    for (const sub of spec.subcommands) {
      lines.push(
        `complete -c axon -n ${shellQuote(`${at} 0`)} -a ${shellQuote(sub.name)} -d ${shellQuote(sub.description)}`,
      );
    }
    if (spec.path === "") continue;
    for (const flag of spec.flags) lines.push(flagLine(at, spec, flag));
    spec.args.forEach((arg, index) => {
      // A command with subcommands takes them in its first place.
      if (index === 0 && spec.subcommands.length > 0) return;
      const source =
        arg.kind === "api"
          ? `(axon ${COMPLETE_APIS_COMMAND} 2>/dev/null)`
          : arg.kind === "words"
            ? arg.words.join(" ")
            : "(__fish_complete_path (commandline -ct))";
      lines.push(`complete -c axon -n ${shellQuote(`${at} ${index}`)} -a ${shellQuote(source)}`);
    });
  }
  return `${lines.join("\n")}\n`;
}

/** Commands for the scripts' own use are named `__...` (commander keeps `hidden` private). */
function isHidden(command: Command): boolean {
  return command.name().startsWith("__");
}

function spellings(option: { short?: string | undefined; long?: string | undefined }): string[] {
  return [option.short, option.long].filter((flag): flag is string => flag !== undefined);
}

function argumentKind(argument: {
  name(): string;
  argChoices?: string[] | undefined;
}): ArgumentKind {
  if (argument.argChoices !== undefined) return { kind: "words", words: argument.argChoices };
  const name = argument.name();
  if (name === "api") return { kind: "api" };
  return { kind: "file" };
}

/** Single-quotes `text` for bash and fish. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
