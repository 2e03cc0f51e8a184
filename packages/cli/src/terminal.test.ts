import { describe, expect, it } from "vitest";
import { canRedraw, distinctStyle, makePainter, shouldColor } from "./terminal.js";

describe("shouldColor", () => {
  it("follows the terminal when nothing is set", () => {
    expect(shouldColor({}, true)).toBe(true);
    expect(shouldColor({}, false)).toBe(false);
  });

  it("turns colours off for NO_COLOR and TERM=dumb, even on a terminal", () => {
    expect(shouldColor({ NO_COLOR: "1" }, true)).toBe(false);
    expect(shouldColor({ TERM: "dumb" }, true)).toBe(false);
    // An empty NO_COLOR does not count (no-color.org)
    expect(shouldColor({ NO_COLOR: "" }, true)).toBe(true);
  });

  it("lets FORCE_COLOR win either way", () => {
    expect(shouldColor({ FORCE_COLOR: "1", NO_COLOR: "1" }, false)).toBe(true);
    expect(shouldColor({ FORCE_COLOR: "0" }, true)).toBe(false);
    expect(shouldColor({ FORCE_COLOR: "false" }, true)).toBe(false);
  });
});

describe("canRedraw", () => {
  it("needs a person at a terminal that is not dumb", () => {
    expect(canRedraw({}, true)).toBe(true);
    expect(canRedraw({}, false)).toBe(false);
    expect(canRedraw({ TERM: "dumb" }, true)).toBe(false);
  });
});

describe("makePainter", () => {
  it("writes SGR codes only when enabled", () => {
    expect(makePainter(true)("red", "x")).toBe("\u001b[31mx\u001b[39m");
    expect(makePainter(false)("red", "x")).toBe("x");
  });

  it("gives a name the same colour every time", () => {
    expect(distinctStyle("r-3fa2c1")).toBe(distinctStyle("r-3fa2c1"));
    const styles = new Set(
      ["r-000001", "r-000002", "r-000003", "r-00000a", "r-abcdef"].map(distinctStyle),
    );
    expect(styles.size).toBeGreaterThan(1);
  });
});
