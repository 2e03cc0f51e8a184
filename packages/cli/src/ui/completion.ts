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
        "autoload -U +X compinit && compinit",
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
  local path="" nargs=0 i word
  # Walk the words before the cursor: subcommands extend the path, flag values are skipped,
  # anything else is a positional argument.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if [[ "$word" == -* ]]; then
      [[ " $(_axon_value_flags "$path") $(_axon_value_flags "") " == *" $word "* ]] && ((i++))
      continue
    fi
    if [[ $nargs -eq 0 && " $(_axon_subcommands "$path") " == *" $word "* ]]; then
      path="\${path:+$path }$word"
    else
      ((nargs++))
    fi
  done
  if [[ " $(_axon_value_flags "$path") " == *" $prev "* ]]; then
    COMPREPLY=($(compgen -W "$(_axon_flag_values "$path" "$prev")" -- "$cur"))
    return
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_axon_flags "$path") $(_axon_flags "")" -- "$cur"))
    return
  fi
  local subcommands
  subcommands="$(_axon_subcommands "$path")"
  if [[ -n "$subcommands" && $nargs -eq 0 ]]; then
    COMPREPLY=($(compgen -W "$subcommands" -- "$cur"))
    return
  fi
  local argument
  argument="$(_axon_argument "$path" "$nargs")"
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
  const lines = [
    "# axon completion for fish: save as ~/.config/fish/completions/axon.fish",
    "#   axon completion fish > ~/.config/fish/completions/axon.fish",
    "complete -c axon -f",
  ];
  const topLevel = specs.find((spec) => spec.path === "")?.subcommands.map((sub) => sub.name) ?? [];
  for (const spec of specs) {
    const words = spec.path === "" ? [] : spec.path.split(" ");
    const condition =
      words.length === 0
        ? "__fish_use_subcommand"
        : [
            ...words.map((word) => `__fish_seen_subcommand_from ${word}`),
            ...(spec.subcommands.length > 0
              ? [`not __fish_seen_subcommand_from ${spec.subcommands.map((s) => s.name).join(" ")}`]
              : []),
          ].join("; and ");
    for (const sub of spec.subcommands) {
      lines.push(
        `complete -c axon -n ${shellQuote(condition)} -a ${shellQuote(sub.name)} -d ${shellQuote(sub.description)}`,
      );
    }
    const flagCondition =
      words.length === 0
        ? `not __fish_seen_subcommand_from ${topLevel.join(" ")}`
        : words.map((word) => `__fish_seen_subcommand_from ${word}`).join("; and ");
    for (const flag of spec.flags) {
      const valued = spec.valueFlags.find((v) => v.spellings.includes(flag));
      const name = flag.startsWith("--") ? `-l ${flag.slice(2)}` : `-s ${flag.slice(1)}`;
      const values =
        valued === undefined
          ? ""
          : valued.choices.length > 0
            ? ` -xa ${shellQuote(valued.choices.join(" "))}`
            : " -r";
      lines.push(`complete -c axon -n ${shellQuote(flagCondition)} ${name}${values}`);
    }
    const [first] = spec.args;
    if (words.length > 0 && first !== undefined) {
      const source =
        first.kind === "api"
          ? `(axon ${COMPLETE_APIS_COMMAND} 2>/dev/null)`
          : first.kind === "words"
            ? first.words.join(" ")
            : "(__fish_complete_path)";
      lines.push(`complete -c axon -n ${shellQuote(flagCondition)} -a ${shellQuote(source)}`);
    }
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
