/** The "did you mean" choice for a mistyped project path. */
import { describe, expect, it } from "vitest";
import { closestMatch, editDistance } from "./did-you-mean.js";

describe("closestMatch", () => {
  it("suggests the file one typo away", () => {
    // Given a project's files
    const files = ["axon.yaml", "predictor.py", "requirements.txt", "model/model.pkl"];

    // When the config names predictr.py, predicter.py or Predictor.py
    // Then each finds predictor.py
    expect(closestMatch("predictr.py", files)).toBe("predictor.py");
    expect(closestMatch("predicter.py", files)).toBe("predictor.py");
    expect(closestMatch("Predictor.py", files)).toBe("predictor.py");
  });

  it("suggests nothing when no file is close, or for short names with more than one edit", () => {
    const files = ["predictor.py", "serve.py"];
    expect(closestMatch("handler.py", files)).toBeUndefined();
    expect(closestMatch("ab.py", ["cd.py"])).toBeUndefined();
  });

  it("prefers the fewest edits, then the first candidate", () => {
    expect(closestMatch("model.py", ["modle.py", "mode.py", "models.py"])).toBe("mode.py");
    expect(closestMatch("a_b.py", ["a_c.py", "a_d.py"])).toBe("a_c.py");
  });
});

describe("editDistance", () => {
  it("counts insertions, deletions and substitutions", () => {
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("same", "same")).toBe(0);
  });
});
