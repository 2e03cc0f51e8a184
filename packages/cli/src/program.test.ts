/** Which command shells a run loads: its own alone, or all of them when it needs the tree. */
import { describe, expect, it } from "vitest";
import { soleCommand } from "./program.js";

describe("soleCommand", () => {
  it("finds the command past root options and their values", () => {
    expect(soleCommand(["get", "-o", "json"])).toBe("get");
    expect(soleCommand(["--env", "prod", "--verbose", "logs", "iris"])).toBe("logs");
    expect(soleCommand(["--home", "/tmp/h", "deploy"])).toBe("deploy");
    expect(soleCommand(["--env=prod", "get"])).toBe("get");
    expect(soleCommand(["get", "--help"])).toBe("get");
  });

  it("asks for the whole tree for root help, help, completion and what is not a command", () => {
    expect(soleCommand([])).toBeUndefined();
    expect(soleCommand(["--help"])).toBeUndefined();
    expect(soleCommand(["help", "get"])).toBeUndefined();
    expect(soleCommand(["completion", "bash"])).toBeUndefined();
    // a typo: commander suggests among every command
    expect(soleCommand(["gte"])).toBeUndefined();
  });
});
