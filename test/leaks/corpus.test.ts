/**
 * Issue 11's labelled corpus (test/support/leak-corpus.ts): every secret in every context is found, with its
 * kind, hint and exact position, and no near miss raises an alarm — by findSecrets, and by the byte scanner that
 * `scan` uses however its chunks are cut (test/cli/scan.e2e.test.ts runs the corpus through the command).
 */
import { describe, expect, it } from 'vitest';
import { ByteSecretScanner } from '../../src/cli/scan-stream.js';
import { findSecrets, keyHint, type SecretFinding, secretAt } from '../../src/core/leaks/detect.js';
import { CORPUS } from '../support/leak-corpus.js';
import { byPatterns } from '../support/leaks.js';

function scanBytes(bytes: Buffer, cuts: number[]): SecretFinding[] {
  const scanner = new ByteSecretScanner();
  const found: SecretFinding[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    found.push(...scanner.push(bytes.subarray(at, cut)));
    at = cut;
  }
  return [...found, ...scanner.end()];
}

describe('the labelled corpus', () => {
  it('is large and covers each kind in every context, and near misses', () => {
    const kinds = (k: string) => CORPUS.filter((e) => e.expected.some((x) => x.kind === k)).length;
    expect(kinds('anthropic_api_key')).toBeGreaterThanOrEqual(50);
    expect(kinds('anthropic_admin_key')).toBeGreaterThanOrEqual(50);
    expect(kinds('anthropic_oauth_token')).toBeGreaterThanOrEqual(50);
    expect(CORPUS.filter((e) => e.expected.length === 0).length).toBeGreaterThanOrEqual(60);
  });

  for (const entry of CORPUS) {
    it(entry.context, () => {
      const found = findSecrets(entry.text);
      expect(found.map((f) => ({ kind: f.kind, hint: f.hint }))).toEqual(
        entry.expected.map((x) => ({ kind: x.kind, hint: keyHint(x.secret) })),
      );
      // index and length are the secret's; line and column agree with index; the spec agrees on everything.
      expect(found.map((f) => secretAt(entry.text, f))).toEqual(entry.expected.map((x) => x.secret));
      for (const f of found) {
        const before = entry.text.slice(0, f.index);
        expect([f.line, f.column]).toEqual([before.split('\n').length, f.index - before.lastIndexOf('\n')]);
      }
      expect(found).toEqual(byPatterns(entry.text));
      // Never more of a secret than its hint.
      for (const x of entry.expected) expect(JSON.stringify(found)).not.toContain(x.secret.slice(16, -4));
    });
  }
});

describe('the corpus through the byte scanner', () => {
  it('gives the same findings wherever one cut falls, and in chunks of 1, 2, 3 and 7 bytes', () => {
    let scans = 0;
    for (const entry of CORPUS) {
      const bytes = Buffer.from(entry.text);
      const want = findSecrets(entry.text);
      for (let cut = 0; cut <= bytes.length; cut++) {
        expect(scanBytes(bytes, [cut]), `${entry.context}, cut at ${cut}`).toEqual(want);
        scans++;
      }
      for (const size of [1, 2, 3, 7]) {
        const cuts = Array.from({ length: Math.floor(bytes.length / size) }, (_, i) => (i + 1) * size);
        expect(scanBytes(bytes, cuts), `${entry.context}, chunks of ${size}`).toEqual(want);
      }
    }
    expect(scans).toBeGreaterThan(20_000);
  });

  it('all of it as one input, its entries after one another', () => {
    const text = CORPUS.map((e) => e.text).join('\n\n');
    const want = findSecrets(text);
    expect(want).toHaveLength(CORPUS.reduce((n, e) => n + e.expected.length, 0));
    expect(want).toEqual(byPatterns(text));
    const bytes = Buffer.from(text);
    for (const size of [5, 64, 113, 1000]) {
      const cuts = Array.from({ length: Math.floor(bytes.length / size) }, (_, i) => (i + 1) * size);
      expect(scanBytes(bytes, cuts), `chunks of ${size}`).toEqual(want);
    }
  });
});
