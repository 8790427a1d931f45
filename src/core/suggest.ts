/**
 * "Did you mean …?": the candidate nearest to what was typed, when it is near enough to be a typo.
 *
 * What was typed is untrusted and the candidates can be many (every key name of a large organization), so
 * the work is bounded before anything is compared: input longer than MAX_SUGGEST_INPUT gets no suggestion,
 * no candidate is ever more than MAX_EDITS away, a candidate whose length alone puts it out of reach is
 * skipped without a comparison, and each comparison only fills the diagonal band the edit limit allows and
 * stops as soon as a whole row is out of reach. The limit tightens to the best distance found so far.
 */

/** Longer input is not a typo of any name worth suggesting. */
export const MAX_SUGGEST_INPUT = 100;
/** No suggestion is further than this many edits from what was typed. */
export const MAX_EDITS = 5;

/** Counts of the work done, for callers (and tests) that want to see it bounded. */
export interface SuggestStats {
  /** Candidates actually compared (the others were ruled out by length). */
  comparisons: number;
  /** Edit-distance cells filled, over all comparisons. */
  cells: number;
}

export interface ClosestOptions {
  /** The most edits allowed from `word` to `candidate` (capped at MAX_EDITS); default max(2, ⌊candidate/3⌋). */
  maxEdits?: (word: string, candidate: string) => number;
  stats?: SuggestStats;
}

const defaultMaxEdits = (_word: string, candidate: string) => Math.max(2, Math.floor(candidate.length / 3));

/** The candidate nearest to `word` (case-insensitive), or null when none is near enough or `word` is too long. */
export function closest(word: string, candidates: readonly string[], o: ClosestOptions = {}): string | null {
  const a = word.trim().toLowerCase();
  if (a.length === 0 || a.length > MAX_SUGGEST_INPUT) return null;
  const limitFor = o.maxEdits ?? defaultMaxEdits;
  let best: string | null = null;
  let bestD = MAX_EDITS + 1;
  for (const c of candidates) {
    const b = c.toLowerCase();
    // A better match must be strictly closer than the best so far, and within this candidate's own limit.
    const max = Math.min(MAX_EDITS, limitFor(a, b), bestD - 1);
    if (max < 0 || Math.abs(a.length - b.length) > max) continue;
    if (o.stats) o.stats.comparisons++;
    const d = boundedDistance(a, b, max, o.stats);
    if (d <= max) {
      best = c;
      bestD = d;
      if (d === 0) break;
    }
  }
  return best;
}

/**
 * Optimal-string-alignment distance (insertions, deletions, substitutions and swaps of two neighbours each
 * count one) when it is at most `max`; otherwise any number greater than `max`. Only cells within `max` of
 * the diagonal are filled, so the work is at most (2·max + 1) per character of `a`.
 */
export function boundedDistance(a: string, b: string, max: number, stats?: SuggestStats): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const over = max + 1;
  const width = b.length + 1;
  // Three rows: the one before last (for swaps), the last, and the current one.
  let prev2 = new Array<number>(width).fill(over);
  let prev = new Array<number>(width).fill(over);
  let cur = new Array<number>(width).fill(over);
  for (let j = 0; j <= Math.min(b.length, max); j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const from = Math.max(1, i - max);
    const to = Math.min(b.length, i + max);
    cur.fill(over);
    if (i <= max) cur[0] = i;
    let rowMin = cur[0]!;
    for (let j = from; j <= to; j++) {
      let d = Math.min(
        prev[j]! + 1,
        cur[j - 1]! + 1,
        prev[j - 1]! + (a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1),
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = Math.min(d, over);
      if (d < rowMin) rowMin = d;
    }
    if (stats) stats.cells += to - from + 1;
    // Every path to the end goes through this row: nothing within reach, so stop here.
    if (rowMin > max) return over;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return Math.min(prev[b.length]!, over);
}
