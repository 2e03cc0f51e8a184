/**
 * describePipFailure on pip's real output, captured from pip 23 on this machine (temp folders
 * renamed /tmp/build): a git requirement whose host does not resolve, and an sdist whose setup.py
 * raises. In both pip ends with "This error originates from a subprocess" or "See above for
 * details", which says nothing about the cause.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { describePipFailure } from "./pip-failure.js";

/** The output as the build keeps it: lines, blank ones dropped (build-process.ts). */
function captured(name: string): string[] {
  const text = readFileSync(new URL(`./testing/pip-output/${name}`, import.meta.url), "utf8");
  return text.split(/\r\n|\n|\r/).filter((line) => line.trim() !== "");
}

describe("describePipFailure", () => {
  it("names git's cause and the requirement when a git+https requirement cannot be cloned", () => {
    // Given pip's output for git+https://axon-test.invalid/x/y.git on a host that does not resolve
    const tail = captured("git-clone-unresolved-host.txt").slice(-30);

    // When it is described
    const message = describePipFailure(tail);

    // Then the message is git's own line and what pip was collecting, not pip's generic note
    expect(message).toBe(
      "fatal: unable to access 'https://axon-test.invalid/x/y.git/': Could not resolve host: axon-test.invalid" +
        " (collecting git+https://axon-test.invalid/x/y.git)",
    );
  });

  it("names the exception a package's setup.py raised, even when the tail starts inside its output", () => {
    // Given pip's output for an sdist whose setup.py raises, whole and with its first lines cut off
    const whole = captured("setup-py-raised.txt");
    const cut = whole.slice(whole.findIndex((line) => line.includes("Traceback")));

    // When each is described
    // Then both name the exception, the whole one also the package being processed
    expect(describePipFailure(whole)).toBe(
      "RuntimeError: this package needs the CUDA toolkit (nvcc not found) (processing /tmp/build/pkg)",
    );
    expect(describePipFailure(cut)).toBe(
      "RuntimeError: this package needs the CUDA toolkit (nvcc not found)",
    );
  });

  it("keeps pip's own ERROR lines when pip itself knows the cause", () => {
    // Given pip's answer for a requirement no index has
    const tail = [
      "Looking in links: /opt/wheels",
      "ERROR: Could not find a version that satisfies the requirement axon-nope==1.0 (from versions: none)",
      "ERROR: No matching distribution found for axon-nope==1.0",
    ];

    // When it is described
    // Then the ERROR lines are the message, as before
    expect(describePipFailure(tail)).toBe(`${tail[1]}\n${tail[2]}`);
  });
});
