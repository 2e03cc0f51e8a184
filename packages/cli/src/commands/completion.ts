/** `axon completion bash|zsh|fish`: print a shell completion script (API names included). */
import { Argument, Command } from "commander";
import type { CliContext } from "../context.js";
import { withExamples } from "../help.js";

/** Builds `axon completion`. */
export function makeCompletionCommand(ctx: CliContext): Command {
  const command = new Command("completion")
    .description("print a shell completion script (completes commands, flags and api names)")
    .addArgument(
      new Argument("<shell>", "the shell to complete in").choices(["bash", "zsh", "fish"]),
    )
    .action(async (shell: "bash" | "zsh" | "fish", _flags: unknown, self: Command) => {
      const { renderCompletionScript } = await import("../ui/completion.js");
      let root = self;
      while (root.parent !== null) root = root.parent;
      ctx.stdout.write(renderCompletionScript(shell, root));
    });
  return withExamples(command, [
    [
      "source <(axon completion bash)",
      "try it in this bash session (add it to ~/.bashrc to keep it)",
    ],
    ["source <(axon completion zsh)", "the same for zsh (~/.zshrc)"],
    ["axon completion fish > ~/.config/fish/completions/axon.fish", "install it for fish"],
  ]);
}
