/**
 * Yes/no confirmation on the terminal. Without a terminal there is nobody to answer, so it fails
 * with a UserError naming the flag that skips the question, instead of hanging or guessing.
 */
import { createInterface } from "node:readline/promises";
import type { CliContext } from "../context.js";
import { CancelledError, InterruptedError, UserError } from "../errors.js";

/** Asks `question` and resolves if the answer is yes; throws CancelledError otherwise. */
export async function confirmOrCancel(
  ctx: CliContext,
  question: string,
  skipFlag: string,
): Promise<void> {
  if (!ctx.interactive) {
    throw new UserError(
      `${question.replace(/\?$/, "")}: confirmation needed, but there is no terminal to ask`,
      {
        hint: `pass ${skipFlag} to go ahead without a prompt`,
      },
    );
  }
  ctx.stderr.write(`${question} (y/n) `);
  const lines = createInterface({ input: ctx.stdin, terminal: false });
  // stdin closing before an answer (Ctrl-D) is a "no", not a hang.
  const closed = new Promise<string>((resolve) => lines.once("close", () => resolve("")));
  try {
    const answer = await Promise.race([lines.question("", { signal: ctx.signal }), closed]);
    if (!/^y(es)?$/i.test(answer.trim())) throw new CancelledError();
  } catch (error) {
    if (ctx.signal.aborted) throw new InterruptedError();
    throw error;
  } finally {
    lines.close();
  }
}
