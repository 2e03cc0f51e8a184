/**
 * "did you mean …?" for a name the user typed that matches nothing: the closest candidate by
 * edit distance (Levenshtein: insertions, deletions, substitutions), close enough to be a typo.
 * Small enough to keep here rather than add a dependency for one call site; commander's own
 * suggestSimilar (used for unknown commands) is not exported.
 */

/**
 * The candidate `name` most likely was meant to be, or undefined when none is close: a
 * candidate that differs only in letter case, else the one fewest edits away, at most a third
 * of `name`'s length (at least 1, at most 3). Ties go to the first in `candidates`' order.
 */
export function closestMatch(name: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.min(3, Math.max(1, Math.floor(name.length / 3)));
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    if (candidate === name) continue;
    if (candidate.toLowerCase() === lower) return candidate;
    if (Math.abs(candidate.length - name.length) >= bestDistance) continue;
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance, with one row of the table kept. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
