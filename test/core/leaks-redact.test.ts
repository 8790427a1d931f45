/**
 * What the leak flow may show of a text that held a secret (redact), and how it recovers the secrets themselves
 * from findSecrets' line and column (locateSecrets), over generated text full of keys and near misses.
 */
import { describe, expect, it } from 'vitest';
import { classifySecret, keyHint } from '../../src/core/leaks/detect.js';
import { locateSecrets, redact } from '../../src/core/leaks/incidents.js';
import { byPatterns, mixedText } from '../support/leaks.js';

const KEY_SHAPED = /sk-ant-(api03|admin01)-[A-Za-z0-9_-]{93}AA|sk-ant-o[ar]t01-[A-Za-z0-9_-]{40}/;
const SECRETS =
  /(?<![A-Za-z0-9_-])(sk-ant-api03-[A-Za-z0-9_-]{93}AA|sk-ant-admin01-[A-Za-z0-9_-]{93}AA|sk-ant-o[ar]t01-[A-Za-z0-9_-]{40,})(?![A-Za-z0-9_-])/g;

describe('locateSecrets and redact', () => {
  for (const seed of [1, 2, 3, 42, 1234]) {
    it(`finds exactly the secrets of generated text ${seed}, and redaction leaves nothing key-shaped`, () => {
      const text = mixedText(seed, 400);
      const found = locateSecrets(text);
      const expected = [...text.matchAll(SECRETS)].map((m) => m[0]);
      expect(expected.length).toBeGreaterThan(5);
      expect(found.map((f) => f.secret)).toEqual(expected);
      expect(found.map((f) => f.kind)).toEqual(byPatterns(text).map((f) => f.kind));
      for (const f of found) {
        expect(classifySecret(f.secret)).toBe(f.kind);
        expect(f.line.includes(f.secret)).toBe(true);
        expect(f.line.includes('\n')).toBe(false);
      }
      const shown = redact(text);
      expect(shown).not.toMatch(KEY_SHAPED);
      for (const s of expected) expect(shown).toContain(keyHint(s));
    });
  }

  it('replaces a secret by its hint and cuts anything else that starts like one', () => {
    const key = `sk-ant-api03-${'a'.repeat(93)}AA`;
    expect(redact(`KEY=${key}; old=sk-ant-api03-short x${key}`)).toBe(
      `KEY=${keyHint(key)}; old=sk-ant-… x${keyHint(key)}`,
    );
    expect(redact('nothing here')).toBe('nothing here');
  });
});
