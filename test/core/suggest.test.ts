/** "Did you mean": right answers, and work bounded whatever is typed (counted, not timed). */
import { describe, expect, it } from 'vitest';
import { suggestions } from '../../commands/targets.js';
import { boundedDistance, closest, MAX_EDITS, MAX_SUGGEST_INPUT, type SuggestStats } from '../../src/core/suggest.js';

/** The plain full-table optimal-string-alignment distance, to check the banded one against. */
function reference(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** A deterministic pseudo-random source, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

const names = (n: number, len: number, seed = 1): string[] => {
  const r = rng(seed);
  const abc = 'abcdefghijklmnopqrstuvwxyz-0123456789';
  return Array.from({ length: n }, () => Array.from({ length: len }, () => abc[Math.floor(r() * abc.length)]).join(''));
};

describe('boundedDistance', () => {
  it('agrees with the full table whenever the distance is within the limit, and says "over" otherwise', () => {
    const r = rng(7);
    const abc = 'abc';
    for (let n = 0; n < 1000; n++) {
      const a = Array.from({ length: Math.floor(r() * 9) }, () => abc[Math.floor(r() * 3)]).join('');
      const b = Array.from({ length: Math.floor(r() * 9) }, () => abc[Math.floor(r() * 3)]).join('');
      const max = Math.floor(r() * 5);
      const exact = reference(a, b);
      const got = boundedDistance(a, b, max);
      if (exact <= max) expect(got, `${a} ~ ${b} (max ${max})`).toBe(exact);
      else expect(got, `${a} ~ ${b} (max ${max})`).toBeGreaterThan(max);
    }
  });
});

describe('closest and suggestions', () => {
  it('still finds typos: swapped letters, a dropped letter, a near key name', () => {
    expect(closest('kyes', ['keys', 'audit', 'help'])).toBe('keys');
    expect(closest('prod-backen', ['prod-backend', 'prod-worker', 'staging-backend'])).toBe('prod-backend');
    expect(closest('prod-wroker', ['prod-backend', 'prod-worker'])).toBe('prod-worker');
    expect(closest('frobnicate', ['keys', 'audit', 'help'])).toBeNull();
  });

  it('a 500-character argument against 2,000 key names: no comparison at all (the input cap applies)', () => {
    const keys = names(2000, 14);
    const stats: SuggestStats = { comparisons: 0, cells: 0 };
    const typed = 'x'.repeat(500);
    expect(typed.length).toBeGreaterThan(MAX_SUGGEST_INPUT);
    expect(suggestions(typed, keys, 3, stats)).toEqual([]);
    expect(stats).toEqual({ comparisons: 0, cells: 0 });
  });

  it('a long argument against 2,000 names of about its length: the work stays within the band, and the typo is found', () => {
    const keys = names(2000, MAX_SUGGEST_INPUT);
    const target = keys[1234]!;
    const typed = `${target.slice(0, 40)}${target.slice(41)}`; // one letter dropped
    const stats: SuggestStats = { comparisons: 0, cells: 0 };
    expect(closest(typed, keys, { stats })).toBe(target);
    // The unbounded table would fill 2,000 × 100 × 100 = 20,000,000 cells.
    expect(stats.comparisons).toBeLessThanOrEqual(keys.length);
    expect(stats.cells).toBeLessThanOrEqual(keys.length * (2 * MAX_EDITS + 1) * typed.length);
  });

  it('names whose length alone puts them out of reach are not compared', () => {
    const stats: SuggestStats = { comparisons: 0, cells: 0 };
    expect(closest('prod-backen', [...names(2000, 40), 'prod-backend'], { stats })).toBe('prod-backend');
    expect(stats.comparisons).toBe(1);
  });
});
